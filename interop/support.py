"""Shared pieces of the interop tests: the Rust programs as processes, certificates, checks."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
# Where the Rust binaries are: run.sh exports it (cargo's target dir + /debug).
BIN_DIR = Path(os.environ.get("OCPP_BIN_DIR", HERE.parent / "target" / "debug"))
# Per-run output: frame logs and the output of every process, kept for a look after a failure.
OUT_DIR = Path(os.environ.get("OCPP_INTEROP_OUT", HERE / "out"))


class Failure(AssertionError):
    """A check failed."""


def check(condition: object, message: str) -> None:
    """Fails the test with `message` unless `condition` holds (works under `python -O` too)."""
    if not condition:
        raise Failure(message)


def now() -> str:
    """The current UTC time as OCPP writes it."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


@dataclass
class Process:
    """A Rust program started by a test: its output is collected line by line."""

    name: str
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task | None = None
    log_path: Path | None = None

    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_line(self, pattern: str, timeout: float = 30, since: int = 0) -> re.Match:
        """Waits until a line of output matches `pattern` (only lines from number `since` on,
        e.g. `len(process.lines)` taken before a command); fails if the process ends first."""
        regex = re.compile(pattern)
        deadline = asyncio.get_running_loop().time() + timeout
        seen = since
        while True:
            for line in self.lines[seen:]:
                match = regex.search(line)
                if match:
                    return match
            seen = len(self.lines)
            if self.reader is not None and self.reader.done():
                raise Failure(f"{self.name} ended before printing /{pattern}/")
            if asyncio.get_running_loop().time() > deadline:
                raise Failure(f"{self.name} printed no /{pattern}/ within {timeout}s")
            await asyncio.sleep(0.05)

    async def send_line(self, line: str) -> None:
        """Writes `line` and a newline to the process's standard input (spawned with
        `stdin=True`)."""
        check(self.proc.stdin is not None, f"{self.name} was started without a standard input")
        self.proc.stdin.write(line.encode() + b"\n")
        await asyncio.wait_for(self.proc.stdin.drain(), 5)

    async def wait(self, timeout: float) -> int:
        """Waits for the process to end, killing it (and failing) after `timeout` seconds."""
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            await self.stop()
            raise Failure(f"{self.name} did not finish within {timeout}s") from None
        if self.reader is not None:
            await self.reader
        return code

    async def kill(self) -> None:
        """Ends the process at once (SIGKILL: no chance to save or close anything)."""
        if self.proc.returncode is None:
            self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), 5)
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 5)

    async def stop(self) -> None:
        """Ends the process: SIGTERM, then SIGKILL after 5 s."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 5)


class Context:
    """What one test started; everything is stopped when the test ends, and shown on failure."""

    def __init__(self, test_name: str) -> None:
        self.test_name = test_name
        self.processes: list[Process] = []
        self.dir = OUT_DIR / test_name
        self.dir.mkdir(parents=True, exist_ok=True)

    async def spawn(self, name: str, binary: str, *args: str, stdin: bool = False) -> Process:
        """Starts `BIN_DIR/binary args`; its standard output and error are merged and collected
        (and written to `out/<test>/<name>.log`). With `stdin`, the process reads a pipe that
        `Process.send_line` writes to; otherwise its standard input is empty."""
        path = BIN_DIR / binary
        check(path.exists(), f"{path} is missing: build it first (interop/run.sh does)")
        proc = await asyncio.create_subprocess_exec(
            str(path),
            *args,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": "info", "NO_COLOR": "1"},
        )
        process = Process(name, proc, log_path=self.dir / f"{name}.log")
        process.reader = asyncio.create_task(_collect(process))
        self.processes.append(process)
        return process

    async def close(self) -> None:
        for process in self.processes:
            await process.stop()

    def report(self) -> str:
        """The output of every process, for a failure report."""
        parts = []
        for process in self.processes:
            tail = process.lines[-80:]
            parts.append(
                f"----- {process.name} (exit status {process.proc.returncode}), "
                f"last {len(tail)} of {len(process.lines)} lines, all in {process.log_path} -----"
            )
            parts.extend(tail)
        return "\n".join(parts)


async def _collect(process: Process) -> None:
    assert process.proc.stdout is not None
    with open(process.log_path, "w", encoding="utf-8") as log:
        while True:
            raw = await process.proc.stdout.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\n")
            process.lines.append(line)
            log.write(line + "\n")
            log.flush()


async def expect_error(ws, frame: str, message_id: str, code: str) -> None:
    """Sends a raw frame on `ws` and checks that the answer is a CALLERROR with `code`."""
    await ws.send(frame)
    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
    check(
        reply[0] == 4 and reply[1] == message_id and reply[2] == code,
        f"expected a {code} CALLERROR for {message_id}, got {str(reply)[:300]}",
    )
    check(isinstance(reply[3], str) and isinstance(reply[4], dict), f"malformed CALLERROR {reply}")


async def start_csms(ctx: Context, *args: str) -> tuple[Process, int]:
    """Starts the example CSMS on a free port of 127.0.0.1; returns it and its port."""
    csms = await ctx.spawn("csms", "examples/csms", "--listen", "127.0.0.1:0", *args)
    match = await csms.wait_for_line(r"listening on ws://127\.0\.0\.1:(\d+)/")
    return csms, int(match.group(1))


async def run_validator(*args: str, version: str = "2.0.1") -> tuple[int, str]:
    """Runs `ocpp validate --ocpp VERSION ARGS`; returns its exit status and standard output."""
    path = BIN_DIR / "ocpp"
    check(path.exists(), f"{path} is missing: build ocpp-cli first (interop/run.sh does)")
    proc = await asyncio.create_subprocess_exec(
        str(path),
        "validate",
        "--ocpp",
        version,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    check(not err, f"ocpp validate wrote to stderr: {err.decode(errors='replace')}")
    return proc.returncode, out.decode()


# --- certificates ----------------------------------------------------------------------------


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key_der(key) -> bytes:
    """The DER SubjectPublicKeyInfo of a public or private key."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def make_csr(key, common_name: str, organization: str = "Python CPO") -> str:
    """A PKCS#10 CSR in PEM for `key`."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def tamper_csr(csr_pem: str) -> str:
    """The CSR with one bit of its signature flipped: it still parses, but does not verify."""
    der = bytearray(x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 1
    return (
        "-----BEGIN CERTIFICATE REQUEST-----\n"
        + "\n".join(_b64_lines(bytes(der)))
        + "\n-----END CERTIFICATE REQUEST-----\n"
    )


def _b64_lines(der: bytes) -> list[str]:
    text = base64.b64encode(der).decode()
    return [text[i : i + 64] for i in range(0, len(text), 64)]


class PythonCa:
    """A certificate authority made with `cryptography`, for the Python CSMS."""

    def __init__(self) -> None:
        self.key = new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Python interop CA")])
        moment = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(moment - datetime.timedelta(minutes=5))
            .not_valid_after(moment + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    def sign(self, csr_pem: str, public_key=None) -> str:
        """The PEM chain (leaf, CA) for the CSR's subject, certifying the CSR's key, or
        `public_key` instead when given (to test that a station refuses such a chain)."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        check(csr.is_signature_valid, "the CSR's signature does not verify")
        moment = datetime.datetime.now(datetime.timezone.utc)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key or csr.public_key())
            .serial_number(secrets.randbits(120) + 1)
            .not_valid_before(moment - datetime.timedelta(minutes=5))
            .not_valid_after(moment + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return (
            leaf.public_bytes(serialization.Encoding.PEM)
            + self.cert.public_bytes(serialization.Encoding.PEM)
        ).decode()


def check_chain(chain_pem: str, key) -> list[x509.Certificate]:
    """Checks that the PEM chain (leaf first) certifies `key`: the leaf carries its public key
    and each certificate is issued and signed by the next, which is a CA; a self-issued last
    certificate must verify with its own key. Returns the parsed chain."""
    chain = x509.load_pem_x509_certificates(chain_pem.encode())
    check(len(chain) >= 2, f"expected the leaf and the CA, got {len(chain)} certificate(s)")
    check(
        public_key_der(chain[0].public_key()) == public_key_der(key),
        "the leaf certificate's public key is not the key of our CSR",
    )
    for index, (cert, issuer) in enumerate(zip(chain, chain[1:])):
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
        check(constraints.ca, f"certificate {index + 1} signs another but is not a CA")
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as e:
            raise Failure(f"certificate {index} is not issued by certificate {index + 1}: {e!r}")
    last = chain[-1]
    if last.subject == last.issuer:
        try:
            last.verify_directly_issued_by(last)
        except (ValueError, TypeError, InvalidSignature) as e:
            raise Failure(f"the self-signed CA certificate does not verify: {e!r}")
    return chain
