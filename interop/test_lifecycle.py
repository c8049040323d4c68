"""The credential lifecycle of OCPP 2.0.1 Part 2 end to end, with a restart of the station
after each change, against the Python `ocpp` package on `websockets` with Python's `ssl`:

- A01, the CSMS changes the station's HTTP Basic password (SetVariables
  `SecurityCtrlr.BasicAuthPassword`, security profile 2);
- A02/A03, the CSMS has the station renew its certificate (TriggerMessage
  `SignChargingStationCertificate`, SignCertificate, CertificateSigned, profile 3).

Both directions: Python 2.0.1 stations at the example CSMS, driven through its operator
commands on standard input (`--admin-stdin`), and the example's durable station (`--state-dir`)
at a Python CSMS that records every handshake: the Basic credentials or the client
certificate presented, and whether it let the station in. The checks are on what crossed the
wire (the frames, the handshakes), not on what either side says it did. Certificates come from
a throw-away CA made here (test_profiles.Pki); the CSMS's certificate is for `localhost`, and
every server listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import websockets
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from support import Context, Failure, Process, check, check_chain, make_csr, new_key, now, public_key_der
from test_example_profiles import write_ca_key
from test_profiles import Pki, basic, refused_status

# Passwords keeping 2.0.1's rules (16 to 40 printable ASCII characters).
P1 = "lifecycle-password-01"
P2 = "lifecycle-password-02"
P3 = "lifecycle-password-03"
# One 2.0.1 forbids (too short): a station must answer Rejected and keep its password.
TOO_SHORT = "short-pw"

PASSWORD_COMPONENT = {"name": "SecurityCtrlr"}
PASSWORD_VARIABLE = {"name": "BasicAuthPassword"}


class Wire:
    """A websockets connection that keeps every frame sent and received, parsed, in order: what
    the peer really sent, before the `ocpp` package turns it into keyword arguments."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.frames: list[tuple[str, list]] = []

    async def recv(self) -> str:
        text = await self.connection.recv()
        self.frames.append(("in", json.loads(text)))
        return text

    async def send(self, text: str) -> None:
        self.frames.append(("out", json.loads(text)))
        await self.connection.send(text)

    def __getattr__(self, name: str):
        return getattr(self.connection, name)

    def calls(self, direction: str, action: str) -> list[list]:
        """The CALLs of `action` that went `direction` ("in" or "out")."""
        return [m for d, m in self.frames if d == direction and m[0] == 2 and m[2] == action]

    def answer_to(self, call_frame: list) -> list | None:
        """The CALLRESULT or CALLERROR answering `call_frame`, if it came (or went)."""
        for _, message in self.frames:
            if message[0] in (3, 4) and message[1] == call_frame[1]:
                return message
        return None


async def eventually(condition, timeout: float, message) -> None:
    """Waits until `condition()` holds; fails with `message()` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise Failure(message())
        await asyncio.sleep(0.05)


def common_names(name: x509.Name) -> list[str]:
    return [a.value for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


def write_key(path: Path, key) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def leaf_of(chain_path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(chain_path.read_bytes())[0]


# --- Python stations at the example CSMS -----------------------------------------------------


async def start_admin_csms(ctx: Context, *args: str) -> tuple[Process, int]:
    """The example CSMS on a free port of 127.0.0.1, reading operator commands on its standard
    input."""
    csms = await ctx.spawn("csms", "examples/csms", "--listen", "127.0.0.1:0", "--admin-stdin", *args, stdin=True)
    match = await csms.wait_for_line(r"listening on wss?://127\.0\.0\.1:(\d+)/")
    return csms, int(match.group(1))


async def admin(csms: Process, command: str, timeout: float = 30) -> str:
    """Types `command` into the CSMS and returns its answer line (`STATION VERB: ...` or
    `error: ...`)."""
    verb, station = command.split()[:2]
    since = len(csms.lines)
    await csms.send_line(command)
    pattern = rf"^(?:{re.escape(station)} {re.escape(verb)}: .*|error: .*)$"
    return (await csms.wait_for_line(pattern, timeout, since)).group(0)


class LifecycleStation(ChargePoint):
    """A Python 2.0.1 station that keeps its credentials the way a station must for A01-A03:
    a new BasicAuthPassword goes to `password_file` before it is answered Accepted (or is
    answered `password_answer` and dropped); TriggerMessage SignChargingStationCertificate
    makes a new key and sends its CSR; a CertificateSigned chain is Accepted only if it
    certifies that key for this identity and ends at `trusted_ca`, and is then put on
    `renewed` with the key. What went wrong on its side is collected in `errors`."""

    def __init__(
        self,
        identity: str,
        wire: Wire,
        *,
        password_file: Path | None = None,
        password_answer: str = "Accepted",
        trusted_ca: x509.Certificate | None = None,
    ) -> None:
        super().__init__(identity, wire, response_timeout=15)
        self.wire = wire
        self.password_file = password_file
        self.password_answer = password_answer
        self.trusted_ca = trusted_ca
        self.pending_key = None
        self.renewed: asyncio.Queue = asyncio.Queue()
        self.errors: list[str] = []

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data, **_kwargs):
        results = []
        for data in set_variable_data:
            component, variable = data["component"], data["variable"]
            if component.get("name") == "SecurityCtrlr" and variable.get("name") == "BasicAuthPassword":
                status = self.password_answer
                if status == "Accepted":
                    check(self.password_file is not None, "no password file")
                    self.password_file.write_text(data["attribute_value"])
            else:
                status = "UnknownVariable"
            results.append({"attribute_status": status, "component": component, "variable": variable})
        return call_result.SetVariables(set_variable_result=results)

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message, **_kwargs):
        status = "Accepted" if requested_message == "SignChargingStationCertificate" else "NotImplemented"
        return call_result.TriggerMessage(status=status)

    @after(Action.trigger_message)
    async def send_csr(self, requested_message, **_kwargs):
        if requested_message != "SignChargingStationCertificate":
            return
        try:
            self.pending_key = new_key()
            response = await self.call(
                call.SignCertificate(
                    csr=make_csr(self.pending_key, self.id), certificate_type="ChargingStationCertificate"
                ),
                suppress=False,
            )
            if response.status != "Accepted":
                self.errors.append(f"SignCertificate answered {response}")
        except Exception as e:  # an `after` hook runs in a task of its own: report, don't lose it
            self.errors.append(f"SignCertificate failed: {e!r}")

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain, certificate_type=None, **_kwargs):
        try:
            check(self.pending_key is not None, "CertificateSigned came without a CSR of ours pending")
            check(
                certificate_type in (None, "ChargingStationCertificate"),
                f"CertificateSigned for certificateType {certificate_type}",
            )
            chain = check_chain(certificate_chain, self.pending_key)
            check(common_names(chain[0].subject) == [self.id], f"the new certificate is for {chain[0].subject}")
            if self.trusted_ca is not None:
                top = chain[-1]
                if top.fingerprint(top.signature_hash_algorithm) != self.trusted_ca.fingerprint(
                    self.trusted_ca.signature_hash_algorithm
                ):
                    try:
                        top.verify_directly_issued_by(self.trusted_ca)
                    except (ValueError, TypeError, InvalidSignature) as e:
                        raise Failure(f"the chain does not end at the CSMS's CA: {e!r}")
        except AssertionError as e:
            self.errors.append(f"CertificateSigned refused: {e}")
            return call_result.CertificateSigned(status="Rejected")
        self.renewed.put_nowait((certificate_chain, self.pending_key))
        self.pending_key = None
        return call_result.CertificateSigned(status="Accepted")


@contextlib.asynccontextmanager
async def python_station(url: str, identity: str, connect_options: dict, **station_options):
    """Connects a LifecycleStation with `connect_options` (TLS, headers), boots it (fails the
    test unless Accepted) and serves the CSMS's calls until the block ends."""
    async with connect(url, subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10, **connect_options) as ws:
        check(ws.subprotocol == "ocpp2.0.1", f"negotiated {ws.subprotocol!r}")
        station = LifecycleStation(identity, Wire(ws), **station_options)
        serving = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call.BootNotification(
                    charging_station={"model": "interop", "vendor_name": "python-ocpp"}, reason="PowerUp"
                )
            )
            check(boot.status == "Accepted", f"BootNotification answered {boot}")
            yield station
            check(not station.errors, f"{identity}: {station.errors}")
        finally:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)


async def test_lifecycle_python_station_password_change_at_the_example_csms(ctx: Context) -> None:
    """A01 over profile 2, the example CSMS against a Python station: `set-password` goes out as
    SetVariables SecurityCtrlr.BasicAuthPassword; once the station answers Accepted the new
    password opens connections and the old one gets 401, also after the station restarts
    from its stored password; a Rejected answer changes nothing; other stations keep theirs."""
    pki = Pki(ctx.dir)
    tls = ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
    csms, port = await start_admin_csms(
        ctx, "--security-profile", "2", "--password", f"LC10={P1}", "--password", f"LC11={P1}", *tls
    )
    url = f"wss://localhost:{port}/ocpp/LC10"

    def basic_auth(identity: str, password: str) -> dict:
        return {"ssl": pki.client_context(), "additional_headers": {"Authorization": basic(identity, password)}}

    # The station's own storage: the password it connects with, and keeps across restarts.
    stored = ctx.dir / "LC10-password.txt"
    stored.write_text(P1)

    answer = await admin(csms, f"set-password LC10 {P2}")
    check(answer == "error: LC10 is not connected", f"set-password before LC10 connected: {answer!r}")

    async with python_station(url, "LC10", basic_auth("LC10", stored.read_text()), password_file=stored) as station:
        answer = await admin(csms, f"set-password LC10 {P2}")
        check(answer == "LC10 set-password: Accepted", f"set-password answered {answer!r}")
        frames = station.wire.calls("in", "SetVariables")
        check(len(frames) == 1, f"expected one SetVariables, got {frames}")
        check(
            frames[0][3]
            in (
                {"setVariableData": [{"attributeValue": P2, "component": PASSWORD_COMPONENT, "variable": PASSWORD_VARIABLE}]},
                {
                    "setVariableData": [
                        {
                            "attributeType": "Actual",
                            "attributeValue": P2,
                            "component": PASSWORD_COMPONENT,
                            "variable": PASSWORD_VARIABLE,
                        }
                    ]
                },
            ),
            f"SetVariables on the wire: {frames[0]}",
        )
        check(stored.read_text() == P2, "the station did not store the new password")

    # The station reconnects with the password it stored: the CSMS lets it in, and no longer
    # takes the old one.
    async with python_station(url, "LC10", basic_auth("LC10", stored.read_text()), password_file=stored):
        pass
    old = await refused_status(url, **basic_auth("LC10", P1))
    check(old == 401, f"the old password, after the change, got {old}")

    # A restart: a new station object, from the stored password only.
    restarted = stored.read_text()
    check(restarted == P2, f"the stored password is {restarted!r}")
    async with python_station(url, "LC10", basic_auth("LC10", restarted), password_file=stored, password_answer="Rejected") as station:
        # The station refuses the next change: nothing changes, on either side.
        answer = await admin(csms, f"set-password LC10 {P3}")
        check(answer == "LC10 set-password: Rejected", f"a refused set-password answered {answer!r}")
        frames = station.wire.calls("in", "SetVariables")
        check(
            len(frames) == 1 and frames[0][3]["setVariableData"][0]["attributeValue"] == P3,
            f"SetVariables on the wire: {frames}",
        )
    check(stored.read_text() == P2, "the station stored a password it rejected")
    refused = await refused_status(url, **basic_auth("LC10", P3))
    check(refused == 401, f"the password the station rejected got {refused}")
    async with python_station(url, "LC10", basic_auth("LC10", P2), password_file=stored):
        pass
    check((await refused_status(url, **basic_auth("LC10", P1))) == 401, "the first password opens again")

    # Another station's password is its own: LC11 still has P1, and only P1.
    async with python_station(f"wss://localhost:{port}/ocpp/LC11", "LC11", basic_auth("LC11", P1)):
        pass
    other = await refused_status(f"wss://localhost:{port}/ocpp/LC11", **basic_auth("LC11", P2))
    check(other == 401, f"LC11 with LC10's new password got {other}")


async def test_lifecycle_python_station_certificate_renewal_at_the_example_csms(ctx: Context) -> None:
    """A02/A03 over profile 3, the example CSMS against a Python station: `renew-certificate`
    goes out as TriggerMessage SignChargingStationCertificate; the station's CSR for a new key
    comes back signed by the CSMS's CA in CertificateSigned; that certificate and key open the
    next connection and, from the files the station stored them in, the one after a restart."""
    pki = Pki(ctx.dir)
    ca_key = write_ca_key(pki)
    tls = ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
    csms, port = await start_admin_csms(
        ctx, "--security-profile", "3", *tls, "--ca-cert", str(pki.ca_pem), "--ca-key", str(ca_key)
    )
    url = f"wss://localhost:{port}/ocpp/LC20"
    original = pki.leaf("LC20")
    old_leaf = leaf_of(original[0])

    answer = await admin(csms, "renew-certificate LC20")
    check(answer == "error: LC20 is not connected", f"renew-certificate before LC20 connected: {answer!r}")

    async with python_station(url, "LC20", {"ssl": pki.client_context(original)}, trusted_ca=pki.ca.cert) as station:
        since = len(csms.lines)
        answer = await admin(csms, "renew-certificate LC20")
        check(answer == "LC20 renew-certificate: Accepted", f"renew-certificate answered {answer!r}")
        triggers = station.wire.calls("in", "TriggerMessage")
        check(
            len(triggers) == 1 and triggers[0][3] == {"requestedMessage": "SignChargingStationCertificate"},
            f"TriggerMessage on the wire: {triggers}",
        )
        try:
            chain, key = await asyncio.wait_for(station.renewed.get(), 20)
        except asyncio.TimeoutError:
            raise Failure(f"no acceptable CertificateSigned within 20 s: {station.errors}") from None
        sign = station.wire.calls("out", "SignCertificate")
        check(len(sign) == 1, f"SignCertificate sent: {sign}")
        sign_answer = station.wire.answer_to(sign[0])
        check(
            sign_answer is not None and sign_answer[0] == 3 and sign_answer[2].get("status") == "Accepted",
            f"SignCertificate answered {sign_answer}",
        )
        signed = station.wire.calls("in", "CertificateSigned")
        check(len(signed) == 1, f"CertificateSigned on the wire: {signed}")
        # The CSMS heard our Accepted.
        await csms.wait_for_line(r"LC20: CertificateSigned answered Accepted", 10, since)

    # The station stores what it got, then connects with it.
    renewed = (ctx.dir / "LC20-renewed.pem", ctx.dir / "LC20-renewed-key.pem")
    renewed[0].write_text(chain)
    write_key(renewed[1], key)
    new_leaf = leaf_of(renewed[0])
    check(new_leaf.serial_number != old_leaf.serial_number, "the renewed certificate has the old serial number")
    check(public_key_der(new_leaf.public_key()) != public_key_der(old_leaf.public_key()), "the renewed certificate has the old key")
    async with python_station(url, "LC20", {"ssl": pki.client_context(renewed)}, trusted_ca=pki.ca.cert):
        pass
    # A restart: a new TLS context from the stored files only.
    async with python_station(url, "LC20", {"ssl": pki.client_context(renewed)}, trusted_ca=pki.ca.cert):
        pass
    # The renewed certificate is LC20's: it does not open another identity's connection.
    someone_else = await refused_status(f"wss://localhost:{port}/ocpp/LC21", ssl=pki.client_context(renewed))
    check(someone_else == 401, f"LC20's renewed certificate for LC21 got {someone_else}")


# --- the durable example station at a Python CSMS --------------------------------------------


@dataclass
class Handshake:
    """One opening handshake the Python CSMS saw."""

    identity: str
    username: str | None
    password: str | None
    certificate: x509.Certificate | None
    admitted: bool

    def __repr__(self) -> str:
        certificate = f" certificate #{self.certificate.serial_number:x}" if self.certificate else ""
        return f"<{self.identity} {self.username}:{self.password}{certificate} {'in' if self.admitted else '401'}>"


class CsmsSide(ChargePoint):
    """One connection of the Python CSMS: answers what the durable station sends, records its
    TransactionEvents, and hands the CSRs of SignCertificate to the test (after the answer is
    out)."""

    def __init__(self, identity: str, wire: Wire) -> None:
        super().__init__(identity, wire, response_timeout=15)
        self.wire = wire
        self.booted = asyncio.Event()
        self.closed = asyncio.Event()
        self.transaction_events: list[tuple[str, int]] = []
        self.csrs: asyncio.Queue = asyncio.Queue()

    @on(Action.boot_notification)
    def on_boot_notification(self, charging_station, reason, **_kwargs):
        return call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @after(Action.boot_notification)
    def after_boot_notification(self, **_kwargs):
        self.booted.set()

    @on(Action.status_notification)
    def on_status_notification(self, **_kwargs):
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def on_heartbeat(self, **_kwargs):
        return call_result.Heartbeat(current_time=now())

    @on(Action.transaction_event)
    def on_transaction_event(self, event_type, seq_no, transaction_info, id_token=None, **_kwargs):
        self.transaction_events.append((event_type, seq_no))
        return call_result.TransactionEvent(id_token_info={"status": "Accepted"} if id_token else None)

    @on(Action.security_event_notification)
    def on_security_event_notification(self, **_kwargs):
        return call_result.SecurityEventNotification()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, csr, **_kwargs):
        return call_result.SignCertificate(status="Accepted")

    @after(Action.sign_certificate)
    def after_sign_certificate(self, csr, certificate_type=None, **_kwargs):
        self.csrs.put_nowait((csr, certificate_type))


class LifecycleCsms:
    """A Python CSMS for profile 2 (HTTP Basic checked against `password`, the record A01
    changes) or 3 (a client certificate from `pki`'s CA whose CN is the identity), on a free
    port of 127.0.0.1, recording every handshake and connection."""

    def __init__(self, pki: Pki, profile: int, password: str | None = None) -> None:
        self.pki = pki
        self.profile = profile
        self.password = password
        self.handshakes: list[Handshake] = []
        self.connections: list[CsmsSide] = []

    def authorize(self, connection, request):
        identity = request.path.rstrip("/").rsplit("/", 1)[-1]
        username = password = certificate = None
        header = request.headers.get("Authorization")
        if header and header.startswith("Basic "):
            try:
                username, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except ValueError:
                pass
        ssl_object = connection.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            certificate = x509.load_der_x509_certificate(der)
        if self.profile == 3:
            admitted = certificate is not None and common_names(certificate.subject) == [identity]
        else:
            admitted = username == identity and password == self.password
        self.handshakes.append(Handshake(identity, username, password, certificate, admitted))
        if not admitted:
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        return None

    async def handle(self, connection) -> None:
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        side = CsmsSide(identity, Wire(connection))
        self.connections.append(side)
        try:
            await side.start()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            side.closed.set()

    @contextlib.asynccontextmanager
    async def serving(self):
        context = self.pki.server_context(client_certificates=self.profile == 3)
        server = await serve(
            self.handle, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], process_request=self.authorize, ssl=context
        )
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            await server.wait_closed()

    async def connection(self, index: int, station: Process, timeout: float = 20, booted: bool = False) -> CsmsSide:
        """The `index`th connection (0 the first), once it is there (and booted)."""
        await eventually(
            lambda: len(self.connections) > index or station.proc.returncode is not None,
            timeout,
            lambda: f"no connection #{index + 1} within {timeout}s; handshakes: {self.handshakes}",
        )
        check(
            len(self.connections) > index,
            f"the station ended (status {station.proc.returncode}) before connection #{index + 1}; "
            f"handshakes: {self.handshakes}",
        )
        side = self.connections[index]
        if booted:
            try:
                await asyncio.wait_for(side.booted.wait(), timeout)
            except asyncio.TimeoutError:
                raise Failure(f"no BootNotification on connection #{index + 1} within {timeout}s") from None
        return side


def durable_station_args(state_dir: Path) -> list[str]:
    """The durable station, busy for longer than a test lasts (200 transactions of 3 events
    300 ms apart): the test kills it. Its state starts empty (`state_dir` is removed)."""
    shutil.rmtree(state_dir, ignore_errors=True)
    return [
        "--state-dir",
        str(state_dir),
        "--transactions",
        "200",
        "--meter-updates",
        "1",
        "--event-interval-ms",
        "300",
    ]


async def closed(side: CsmsSide, what: str, timeout: float = 10) -> None:
    try:
        await asyncio.wait_for(side.closed.wait(), timeout)
    except asyncio.TimeoutError:
        raise Failure(f"{what} still open after {timeout}s") from None


async def transaction_event_on(side: CsmsSide, what: str, timeout: float = 10) -> None:
    await eventually(
        lambda: side.transaction_events, timeout, lambda: f"no TransactionEvent on {what} within {timeout}s"
    )


def set_password_request(password: str):
    return call.SetVariables(
        set_variable_data=[
            {"attribute_value": password, "component": PASSWORD_COMPONENT, "variable": PASSWORD_VARIABLE}
        ]
    )


def set_variables_answer(side: CsmsSide, password: str) -> dict:
    """The raw payload of the station's answer to our SetVariables for `password`."""
    sent = [f for f in side.wire.calls("out", "SetVariables") if f[3]["setVariableData"][0]["attributeValue"] == password]
    check(len(sent) == 1, f"SetVariables sent: {sent}")
    answer = side.wire.answer_to(sent[0])
    check(answer is not None and answer[0] == 3, f"SetVariables was answered {answer}")
    return answer[2]


async def test_lifecycle_durable_station_password_change_at_the_python_csms(ctx: Context) -> None:
    """A01 over profile 2, the durable example station against a Python CSMS: SetVariables
    BasicAuthPassword is answered Accepted, the station leaves its connection and its next
    handshake carries the new password (the old one is refused from then on); killed with
    SIGKILL and restarted with its original command line (the old --password) it still
    connects with the new one; a password 2.0.1 forbids is answered Rejected and changes
    nothing, across another restart too."""
    pki = Pki(ctx.dir)
    csms = LifecycleCsms(pki, profile=2, password=P1)
    async with csms.serving() as port:
        url = f"wss://localhost:{port}/ocpp/LC30"
        args = [
            "--url",
            url,
            "--security-profile",
            "2",
            "--password",
            P1,
            "--ca-cert",
            str(pki.ca_pem),
            *durable_station_args(ctx.dir / "state-LC30"),
        ]
        station = await ctx.spawn("station", "examples/charging-station", *args)
        first = await csms.connection(0, station, booted=True)
        check(
            [(h.username, h.password, h.admitted) for h in csms.handshakes] == [("LC30", P1, True)],
            f"handshakes before the change: {csms.handshakes}",
        )

        # A01: the new password.
        response = await first.call(set_password_request(P2), suppress=False)
        check(
            set_variables_answer(first, P2)
            == {"setVariableResult": [{"attributeStatus": "Accepted", "component": PASSWORD_COMPONENT, "variable": PASSWORD_VARIABLE}]},
            f"SetVariables answered {response}",
        )
        changed_at = len(csms.handshakes)
        csms.password = P2  # the CSMS's record follows the Accepted
        second = await csms.connection(1, station, timeout=15)
        await closed(first, "the connection of the old password", 5)
        after_change = csms.handshakes[changed_at:]
        check(
            after_change and all(h.password == P2 for h in after_change) and after_change[-1].admitted,
            f"handshakes after the change: {after_change}",
        )
        await transaction_event_on(second, "the connection of the new password")
        probe_at = len(csms.handshakes)
        probe = await refused_status(url, ssl=pki.client_context(), additional_headers={"Authorization": basic("LC30", P1)})
        check(probe == 401, f"the Python CSMS let the old password in: {probe}")
        check(len(csms.handshakes) == probe_at + 1, f"handshakes around the probe: {csms.handshakes[probe_at:]}")

        # kill -9, then the original command line (--password P1): the stored password wins.
        await station.kill()
        await closed(second, "the connection of the killed station")
        restarted_at = len(csms.handshakes)
        station = await ctx.spawn("station-restarted", "examples/charging-station", *args)
        third = await csms.connection(2, station, booted=True)
        after_restart = csms.handshakes[restarted_at:]
        check(
            after_restart and all(h.password == P2 for h in after_restart) and after_restart[-1].admitted,
            f"handshakes after the restart: {after_restart}",
        )
        await transaction_event_on(third, "the connection after the restart")

        # A password 2.0.1 forbids: Rejected, the station stays where it is.
        response = await third.call(set_password_request(TOO_SHORT), suppress=False)
        answer = set_variables_answer(third, TOO_SHORT)
        check(
            answer["setVariableResult"][0]["attributeStatus"] == "Rejected",
            f"SetVariables with {TOO_SHORT!r} answered {answer}",
        )
        handshakes = len(csms.handshakes)
        await asyncio.sleep(1.5)
        check(
            not third.closed.is_set() and len(csms.handshakes) == handshakes,
            f"the station left its connection after a rejected password: {csms.handshakes[handshakes:]}",
        )
        await station.kill()
        await closed(third, "the connection of the killed station")
        restarted_at = len(csms.handshakes)
        station = await ctx.spawn("station-restarted-again", "examples/charging-station", *args)
        await csms.connection(3, station, booted=True)
        after_restart = csms.handshakes[restarted_at:]
        check(
            after_restart and all(h.password == P2 for h in after_restart) and after_restart[-1].admitted,
            f"handshakes after the second restart: {after_restart}",
        )
        # Every handshake of the station since the change carried the new password (the
        # Python probe of the old one left out).
        station_handshakes = [h for i, h in enumerate(csms.handshakes) if i >= changed_at and i != probe_at]
        check(
            all(h.password == P2 for h in station_handshakes),
            f"the station presented another password after the change: {station_handshakes}",
        )
        await station.kill()


async def test_lifecycle_durable_station_certificate_renewal_at_the_python_csms(ctx: Context) -> None:
    """A02/A03 over profile 3, the durable example station against a Python CSMS:
    TriggerMessage SignChargingStationCertificate is answered Accepted, a SignCertificate with
    a CSR for a new key (CN = identity) follows; the chain the Python CA signs for it is
    answered Accepted in CertificateSigned, and the station's next TLS handshake presents that
    certificate (serial number and public key compared); killed with SIGKILL and restarted
    with its original command line (the old --cert/--key) it presents the new one still."""
    pki = Pki(ctx.dir)
    original = pki.leaf("LC40")
    old_leaf = leaf_of(original[0])
    csms = LifecycleCsms(pki, profile=3)
    async with csms.serving() as port:
        args = [
            "--url",
            f"wss://localhost:{port}/ocpp/LC40",
            "--security-profile",
            "3",
            "--ca-cert",
            str(pki.ca_pem),
            "--cert",
            str(original[0]),
            "--key",
            str(original[1]),
            *durable_station_args(ctx.dir / "state-LC40"),
        ]
        station = await ctx.spawn("station", "examples/charging-station", *args)
        first = await csms.connection(0, station, booted=True)
        check(
            [(h.certificate.serial_number if h.certificate else None, h.admitted) for h in csms.handshakes]
            == [(old_leaf.serial_number, True)],
            f"handshakes before the renewal: {csms.handshakes}",
        )

        # A02: the CSMS asks for a new certificate.
        try:
            response = await first.call(
                call.TriggerMessage(requested_message="SignChargingStationCertificate"), suppress=False
            )
        except Exception as e:
            raise Failure(f"TriggerMessage SignChargingStationCertificate was answered with a CALLERROR: {e!r}") from None
        check(response.status == "Accepted", f"TriggerMessage answered {response}")
        try:
            csr_pem, certificate_type = await asyncio.wait_for(first.csrs.get(), 15)
        except asyncio.TimeoutError:
            raise Failure("no SignCertificate within 15 s of the TriggerMessage") from None
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        check(csr.is_signature_valid, "the CSR's signature does not verify")
        check(common_names(csr.subject) == ["LC40"], f"the CSR is for {csr.subject}")
        check(
            public_key_der(csr.public_key()) != public_key_der(old_leaf.public_key()),
            "the CSR is for the station's old key, not a new one",
        )
        check(certificate_type in (None, "ChargingStationCertificate"), f"the CSR's certificateType is {certificate_type}")

        chain = pki.ca.sign(csr_pem)
        new_leaf = x509.load_pem_x509_certificates(chain.encode())[0]
        renewed_at = len(csms.handshakes)
        response = await first.call(
            call.CertificateSigned(certificate_chain=chain, certificate_type="ChargingStationCertificate"),
            suppress=False,
        )
        check(response.status == "Accepted", f"CertificateSigned answered {response}")

        def presents_the_new_certificate(handshakes: list[Handshake]) -> bool:
            return bool(handshakes) and handshakes[-1].admitted and all(
                h.certificate is not None
                and h.certificate.serial_number == new_leaf.serial_number
                and public_key_der(h.certificate.public_key()) == public_key_der(csr.public_key())
                for h in handshakes
            )

        second = await csms.connection(1, station, timeout=15)
        await closed(first, "the connection of the old certificate", 5)
        check(
            presents_the_new_certificate(csms.handshakes[renewed_at:]),
            f"handshakes after the renewal (new certificate #{new_leaf.serial_number:x}): {csms.handshakes[renewed_at:]}",
        )
        await transaction_event_on(second, "the connection of the new certificate")

        # kill -9, then the original command line (the old --cert/--key): the stored one wins.
        await station.kill()
        await closed(second, "the connection of the killed station")
        restarted_at = len(csms.handshakes)
        station = await ctx.spawn("station-restarted", "examples/charging-station", *args)
        third = await csms.connection(2, station, booted=True)
        check(
            presents_the_new_certificate(csms.handshakes[restarted_at:]),
            f"handshakes after the restart (new certificate #{new_leaf.serial_number:x}): {csms.handshakes[restarted_at:]}",
        )
        await transaction_event_on(third, "the connection after the restart")
        await station.kill()
