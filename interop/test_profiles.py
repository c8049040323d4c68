"""Security profiles 1, 2 and 3 (OCPP 2.0.1 Part 2, A00) between `ocpp-connection` and the
Python `ocpp` package on `websockets` with Python's `ssl`, both directions: the Rust CSMS
(`profile_csms`, on `Server`) against Python stations, and the Rust station
(`profile_station`, on `Client`) against a Python CSMS. One OCPP version (2.0.1) is enough:
the profiles are the same in every version. Certificates come from a throw-away CA made here.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import http
import ssl
from pathlib import Path

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from support import Context, PythonCa, check, new_key, now

PASSWORD = "0123456789abcdef"


class Pki:
    """A CA, a certificate for `localhost` (the CSMS) and one per station identity, as files."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = PythonCa()
        self.ca_pem = self._write("ca.pem", self.ca.cert.public_bytes(serialization.Encoding.PEM))
        self.server_cert, self.server_key = self.leaf("localhost", dns="localhost")

    def _write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def leaf(self, common_name: str, dns: str | None = None) -> tuple[Path, Path]:
        """A certificate for `common_name` (and the DNS name `dns`) signed by the CA: the paths
        of its PEM chain and key."""
        key = new_key()
        moment = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(moment - datetime.timedelta(minutes=5))
            .not_valid_after(moment + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if dns:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False
            )
        cert = builder.sign(self.ca.key, hashes.SHA256())
        chain = cert.public_bytes(serialization.Encoding.PEM) + self.ca.cert.public_bytes(
            serialization.Encoding.PEM
        )
        pem_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self._write(f"{common_name}.pem", chain), self._write(f"{common_name}-key.pem", pem_key)

    def client_context(self, certificate: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_pem))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if certificate:
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        return context

    def server_context(self, client_certificates: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.server_cert), str(self.server_key))
        if client_certificates:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(self.ca_pem))
        return context


def basic(identity: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{identity}:{password}".encode()).decode()


async def start_profile_csms(ctx: Context, name: str, *args: str) -> int:
    csms = await ctx.spawn(name, "examples/profile_csms", "--listen", "127.0.0.1:0", *args)
    match = await csms.wait_for_line(r"listening on wss?://127\.0\.0\.1:(\d+)/")
    return int(match.group(1))


async def boot_python_station(url: str, identity: str, **options) -> None:
    """Connects a Python 2.0.1 station, boots it and sends a Heartbeat; fails the test if it
    is not accepted."""
    async with connect(url, subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10, **options) as ws:
        check(ws.subprotocol == "ocpp2.0.1", f"negotiated {ws.subprotocol!r}")
        station = ChargePoint(identity, ws, response_timeout=10)
        serving = asyncio.create_task(station.start())
        boot = await station.call(
            call.BootNotification(
                charging_station={"model": "interop", "vendor_name": "python-ocpp"},
                reason="PowerUp",
            )
        )
        check(boot.status == "Accepted", f"BootNotification answered {boot}")
        beat = await station.call(call.Heartbeat())
        check(beat.current_time, f"Heartbeat answered {beat}")
        serving.cancel()


async def refused_status(url: str, **options) -> int | str:
    """The HTTP status a handshake is refused with, or the name of the error that stopped it
    before HTTP (TLS)."""
    try:
        async with connect(url, subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10, **options):
            pass
    except websockets.exceptions.InvalidStatus as e:
        return e.response.status_code
    except (
        ssl.SSLError,
        ConnectionError,
        websockets.exceptions.ConnectionClosed,
        websockets.exceptions.InvalidMessage,
        OSError,
    ) as e:
        return type(e).__name__
    raise AssertionError(f"{url} was let in")


async def test_python_stations_at_the_rust_csms_over_profiles_1_2_3(ctx: Context) -> None:
    pki = Pki(ctx.dir)
    passwords = ["--password", f"PY1={PASSWORD}", "--password", f"PY2={PASSWORD}"]

    # Profile 1: ws:// and HTTP Basic.
    port = await start_profile_csms(ctx, "csms1", "--security-profile", "1", *passwords)
    url = f"ws://127.0.0.1:{port}/ocpp"
    await boot_python_station(f"{url}/PY1", "PY1", additional_headers={"Authorization": basic("PY1", PASSWORD)})
    wrong = await refused_status(f"{url}/PY1", additional_headers={"Authorization": basic("PY1", "0123456789abcdeX")})
    check(wrong == 401, f"a wrong password got {wrong}")
    missing = await refused_status(f"{url}/PY1")
    check(missing == 401, f"no Authorization header got {missing}")
    other = await refused_status(f"{url}/PY1", additional_headers={"Authorization": basic("PY2", PASSWORD)})
    check(other == 401, f"another station's username got {other}")
    unknown = await refused_status(f"{url}/PY9", additional_headers={"Authorization": basic("PY9", PASSWORD)})
    check(unknown == 401, f"a station without a password entry got {unknown}")

    # Profile 2: wss:// (the CSMS's certificate for localhost) and HTTP Basic.
    tls = ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
    port = await start_profile_csms(ctx, "csms2", "--security-profile", "2", *passwords, *tls)
    url = f"wss://localhost:{port}/ocpp"
    await boot_python_station(
        f"{url}/PY2", "PY2", ssl=pki.client_context(), additional_headers={"Authorization": basic("PY2", PASSWORD)}
    )
    wrong = await refused_status(
        f"{url}/PY2", ssl=pki.client_context(), additional_headers={"Authorization": basic("PY2", "nope-nope-nope-nope")}
    )
    check(wrong == 401, f"profile 2 with a wrong password got {wrong}")
    # A station that does not trust the CSMS's CA stops at TLS.
    stranger = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    untrusted = await refused_status(
        f"{url}/PY2", ssl=stranger, additional_headers={"Authorization": basic("PY2", PASSWORD)}
    )
    check(isinstance(untrusted, str), f"a station trusting another CA got {untrusted}")

    # Profile 3: mutual TLS; the certificate's CN is the identity.
    port = await start_profile_csms(
        ctx, "csms3", "--security-profile", "3", *tls, "--ca-cert", str(pki.ca_pem)
    )
    url = f"wss://localhost:{port}/ocpp"
    await boot_python_station(f"{url}/PY3", "PY3", ssl=pki.client_context(pki.leaf("PY3")))
    someone_else = await refused_status(f"{url}/PY3", ssl=pki.client_context(pki.leaf("PY4")))
    check(someone_else == 401, f"a certificate for another identity got {someone_else}")
    no_certificate = await refused_status(f"{url}/PY3", ssl=pki.client_context())
    check(isinstance(no_certificate, str) or no_certificate == 401, f"no client certificate got {no_certificate}")


class PythonCsms(ChargePoint):
    """The CSMS side of one station's connection: answers what `profile_station` sends."""

    def __init__(self, identity: str, connection, seen: list[str]) -> None:
        super().__init__(identity, connection, response_timeout=10)
        self.seen = seen

    @on(Action.boot_notification)
    def on_boot_notification(self, charging_station, reason, **_kwargs):
        self.seen.append("boot")
        return call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on(Action.status_notification)
    def on_status_notification(self, **_kwargs):
        self.seen.append("status")
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def on_heartbeat(self, **_kwargs):
        self.seen.append("heartbeat")
        return call_result.Heartbeat(current_time=now())


async def python_csms(profile: int, pki: Pki, seen: list[str]):
    """A Python CSMS for `profile` on a free port: HTTP Basic checked in `process_request`
    (401 otherwise), the client certificate's CN checked against the identity (profile 3)."""

    def authorize(connection, request):
        identity = request.path.rstrip("/").rsplit("/", 1)[-1]
        if profile in (1, 2) and request.headers.get("Authorization") != basic(identity, PASSWORD):
            seen.append(f"refused {identity}")
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        if profile == 3:
            certificate = connection.transport.get_extra_info("peercert") or {}
            names = [value for rdn in certificate.get("subject", ()) for key, value in rdn if key == "commonName"]
            if names != [identity]:
                seen.append(f"refused {identity}")
                return connection.respond(http.HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        return None

    async def handler(ws):
        identity = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            await PythonCsms(identity, ws, seen).start()
        except websockets.exceptions.ConnectionClosed:
            pass

    options = {}
    if profile >= 2:
        options["ssl"] = pki.server_context(client_certificates=profile == 3)
    return await serve(
        handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], process_request=authorize, **options
    )


async def run_station(ctx: Context, name: str, *args: str) -> tuple[int, str]:
    station = await ctx.spawn(name, "examples/profile_station", *args)
    code = await asyncio.wait_for(station.proc.wait(), 30)
    await asyncio.wait_for(station.reader, 5)
    return code, station.output()


async def test_rust_station_at_the_python_csms_over_profiles_1_2_3(ctx: Context) -> None:
    pki = Pki(ctx.dir)
    station_certificate = pki.leaf("RS3")
    for profile in (1, 2, 3):
        seen: list[str] = []
        server = await python_csms(profile, pki, seen)
        port = server.sockets[0].getsockname()[1]
        scheme = "ws" if profile == 1 else "wss"
        host = "127.0.0.1" if profile == 1 else "localhost"
        identity = f"RS{profile}"
        args = ["--url", f"{scheme}://{host}:{port}/ocpp/{identity}", "--security-profile", str(profile)]
        if profile in (1, 2):
            args += ["--password", PASSWORD]
        if profile >= 2:
            args += ["--ca-cert", str(pki.ca_pem)]
        if profile == 3:
            args += ["--cert", str(station_certificate[0]), "--key", str(station_certificate[1])]
        code, output = await run_station(ctx, f"station{profile}", *args)
        check(code == 0 and "done" in output, f"profile {profile}: exit {code}: {output[-800:]}")
        check(seen[:3] == ["boot", "status", "heartbeat"], f"profile {profile}: the CSMS saw {seen}")

        # Refusals the station reports and exits on.
        if profile in (1, 2):
            wrong = [a if a != PASSWORD else "0123456789abcdeX" for a in args]
            code, output = await run_station(ctx, f"station{profile}-wrong", *wrong)
            check(code == 1 and "401" in output, f"profile {profile}, wrong password: exit {code}: {output[-400:]}")
        if profile == 3:
            other = pki.leaf("RS9")
            impostor = args[:-4] + ["--cert", str(other[0]), "--key", str(other[1])]
            code, output = await run_station(ctx, "station3-impostor", *impostor)
            check(code == 1 and "401" in output, f"profile 3, another identity's certificate: exit {code}: {output[-400:]}")
        if profile >= 2:
            # The station does not trust a CSMS whose certificate its anchor did not sign.
            stranger = Pki(ctx.dir / f"stranger{profile}")
            untrusting = [str(stranger.ca_pem) if a == str(pki.ca_pem) else a for a in args]
            code, output = await run_station(ctx, f"station{profile}-untrusting", *untrusting)
            check(code == 1 and "cannot reach the CSMS" in output, f"profile {profile}, untrusted CSMS: exit {code}: {output[-400:]}")
        server.close()
        await server.wait_closed()
