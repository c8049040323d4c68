"""Security profiles 1, 2 and 3 (OCPP 2.0.1 Part 2, A00) between the example CSMS and charging
station of ocpp-examples (on ocpp-connection's Server and Client) and the Python `ocpp` package
on `websockets` with Python's `ssl`, both directions, refusals included. One OCPP version
(2.0.1) is enough: the profiles are the same in every version. Certificates come from a
throw-away CA made here with `cryptography` (test_profiles.Pki), written to the test's
directory; the CSMS's CA for profile 3 is that CA (--ca-cert, --ca-key), which also signs the
stations' CSRs, so a certificate got through SignCertificate/CertificateSigned opens the next
connection.
"""

from __future__ import annotations

import asyncio
import http
import ssl
from pathlib import Path

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

import test_station
from support import Context, check, check_chain, make_csr, new_key
from test_profiles import PASSWORD, Pki, basic, boot_python_station, refused_status


def write_ca_key(pki: Pki) -> Path:
    """The CA's private key as a PKCS#8 PEM file, for the CSMS's --ca-key."""
    path = pki.dir / "ca-key.pem"
    path.write_bytes(
        pki.ca.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


async def start_example_csms(ctx: Context, name: str, *args: str) -> int:
    csms = await ctx.spawn(name, "examples/csms", "--listen", "127.0.0.1:0", *args)
    match = await csms.wait_for_line(r"listening on wss?://127\.0\.0\.1:(\d+)/")
    return int(match.group(1))


class CertifiedStation(ChargePoint):
    """A Python 2.0.1 station that takes the chain of CertificateSigned when it certifies its
    key."""

    def __init__(self, identity: str, connection, key) -> None:
        super().__init__(identity, connection, response_timeout=10)
        self.key = key
        self.chains: asyncio.Queue[str] = asyncio.Queue()

    @on(Action.certificate_signed)
    async def on_certificate_signed(self, certificate_chain: str, **_kwargs):
        try:
            check_chain(certificate_chain, self.key)
        except AssertionError:
            return call_result.CertificateSigned(status="Rejected")
        await self.chains.put(certificate_chain)
        return call_result.CertificateSigned(status="Accepted")


async def renew_certificate(url: str, identity: str, context: ssl.SSLContext, pki: Pki) -> tuple[Path, Path]:
    """Connects with `context`, boots, has a CSR for a new key signed (SignCertificate, then
    the CSMS's CertificateSigned), checks that a CSR for another identity is Rejected; returns
    the new chain and key as files."""
    async with connect(url, subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10, ssl=context) as ws:
        key = new_key()
        station = CertifiedStation(identity, ws, key)
        serving = asyncio.create_task(station.start())
        boot = await station.call(
            call.BootNotification(
                charging_station={"model": "interop", "vendor_name": "python-ocpp"}, reason="PowerUp"
            )
        )
        check(boot.status == "Accepted", f"BootNotification answered {boot}")
        other = await station.call(call.SignCertificate(csr=make_csr(new_key(), "SOMEONE-ELSE")))
        check(other.status == "Rejected", f"a CSR for another identity was answered {other}")
        signed = await station.call(call.SignCertificate(csr=make_csr(key, identity)))
        check(signed.status == "Accepted", f"SignCertificate answered {signed}")
        chain = await asyncio.wait_for(station.chains.get(), 15)
        leaf = x509.load_pem_x509_certificates(chain.encode())[0]
        names = [a.value for a in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
        check(names == [identity], f"the new certificate is for {names}")
        serving.cancel()
    chain_path = pki.dir / f"{identity}-renewed.pem"
    key_path = pki.dir / f"{identity}-renewed-key.pem"
    chain_path.write_text(chain)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return chain_path, key_path


async def test_python_stations_at_the_example_csms_over_profiles_1_2_3(ctx: Context) -> None:
    pki = Pki(ctx.dir)
    ca_key = write_ca_key(pki)
    passwords = ["--password", f"PY1={PASSWORD}", "--password", f"PY2={PASSWORD}"]

    # Profile 1: ws:// and HTTP Basic.
    port = await start_example_csms(ctx, "csms1", "--security-profile", "1", *passwords)
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
    port = await start_example_csms(ctx, "csms2", "--security-profile", "2", *passwords, *tls)
    url = f"wss://localhost:{port}/ocpp"
    await boot_python_station(
        f"{url}/PY2", "PY2", ssl=pki.client_context(), additional_headers={"Authorization": basic("PY2", PASSWORD)}
    )
    wrong = await refused_status(
        f"{url}/PY2", ssl=pki.client_context(), additional_headers={"Authorization": basic("PY2", "nope-nope-nope-nope")}
    )
    check(wrong == 401, f"profile 2 with a wrong password got {wrong}")
    missing = await refused_status(f"{url}/PY2", ssl=pki.client_context())
    check(missing == 401, f"profile 2 without an Authorization header got {missing}")
    # A station that does not trust the CSMS's CA stops at TLS.
    stranger = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    untrusted = await refused_status(
        f"{url}/PY2", ssl=stranger, additional_headers={"Authorization": basic("PY2", PASSWORD)}
    )
    check(isinstance(untrusted, str), f"a station trusting another CA got {untrusted}")

    # Profile 3: mutual TLS; the certificate's CN is the identity and chains to the CSMS's CA.
    port = await start_example_csms(
        ctx, "csms3", "--security-profile", "3", *tls, "--ca-cert", str(pki.ca_pem), "--ca-key", str(ca_key)
    )
    url = f"wss://localhost:{port}/ocpp"
    first = pki.client_context(pki.leaf("PY3"))
    renewed = await renew_certificate(f"{url}/PY3", "PY3", first, pki)
    # The certificate the CSMS signed opens the next connection.
    await boot_python_station(f"{url}/PY3", "PY3", ssl=pki.client_context(renewed))
    someone_else = await refused_status(f"{url}/PY3", ssl=pki.client_context(pki.leaf("PY4")))
    check(someone_else == 401, f"a certificate for another identity got {someone_else}")
    no_certificate = await refused_status(f"{url}/PY3", ssl=pki.client_context())
    check(isinstance(no_certificate, str) or no_certificate == 401, f"no client certificate got {no_certificate}")
    # A certificate from another CA, for the right identity, stops at TLS.
    stranger = Pki(ctx.dir / "stranger")
    foreign = await refused_status(f"{url}/PY3", ssl=pki.client_context(stranger.leaf("PY3")))
    check(isinstance(foreign, str), f"a certificate from another CA got {foreign}")
    # Without TLS there is nothing to talk to.
    plain = await refused_status(f"ws://127.0.0.1:{port}/ocpp/PY3")
    check(isinstance(plain, str), f"ws:// to the profile 3 CSMS got {plain}")


async def python_csms(profile: int, pki: Pki, server: test_station.Server):
    """test_station's Python CSMS for `profile` on a free port: HTTP Basic checked in
    `process_request` (401 otherwise), the client certificate's CN checked against the identity
    (profile 3)."""

    def authorize(connection, request):
        identity = request.path.rstrip("/").rsplit("/", 1)[-1]
        if profile in (1, 2) and request.headers.get("Authorization") != basic(identity, PASSWORD):
            server.record("refused", identity)
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        if profile == 3:
            certificate = connection.transport.get_extra_info("peercert") or {}
            names = [value for rdn in certificate.get("subject", ()) for key, value in rdn if key == "commonName"]
            if names != [identity]:
                server.record("refused", identity)
                return connection.respond(http.HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        return None

    options = {}
    if profile >= 2:
        options["ssl"] = pki.server_context(client_certificates=profile == 3)
    return await serve(
        server.handle, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], process_request=authorize, **options
    )


async def run_example_station(ctx: Context, name: str, *args: str) -> tuple[int, str]:
    station = await ctx.spawn(name, "examples/charging-station", *args, "--timeout", "15")
    code = await station.wait(45)
    return code, station.output()


async def test_example_station_at_the_python_csms_over_profiles_1_2_3(ctx: Context) -> None:
    pki = Pki(ctx.dir)
    for profile in (1, 2, 3):
        server = test_station.Server(wrong_key=False)
        # The Python CSMS signs the station's CSR with the CA the TLS certificates come from.
        server.ca = pki.ca
        ws_server = await python_csms(profile, pki, server)
        port = ws_server.sockets[0].getsockname()[1]
        scheme = "ws" if profile == 1 else "wss"
        host = "127.0.0.1" if profile == 1 else "localhost"
        identity = f"RS{profile}"
        args = ["--url", f"{scheme}://{host}:{port}/ocpp/{identity}", "--security-profile", str(profile)]
        if profile in (1, 2):
            args += ["--password", PASSWORD]
        if profile >= 2:
            args += ["--ca-cert", str(pki.ca_pem)]
        if profile == 3:
            certificate = pki.leaf(identity)
            args += ["--cert", str(certificate[0]), "--key", str(certificate[1])]
        code, output = await run_example_station(ctx, f"station{profile}", *args, "--exit-after-certificate")
        check(code == 0, f"profile {profile}: exit {code}: {output[-800:]}")
        check(server.paths == [f"/ocpp/{identity}"], f"profile {profile}: connections {server.paths}")
        boot = server.events.get("boot")
        check(boot is not None and boot[1] == "PowerUp", f"profile {profile}: boot {boot}")
        response = server.events.get("certificate_signed")
        check(
            response is not None and not isinstance(response, Exception) and response.status == "Accepted",
            f"profile {profile}: CertificateSigned answered {response!r}",
        )
        event = server.events.get("security_event")
        check(event is not None and event[0] == "ReconfigurationOfSecurityParameters", f"profile {profile}: {event}")
        check(server.events.get("heartbeat") is True, f"profile {profile}: no Heartbeat came")

        # Refusals the station reports and exits on, without a connection.
        if profile in (1, 2):
            wrong = [a if a != PASSWORD else "0123456789abcdeX" for a in args]
            code, output = await run_example_station(ctx, f"station{profile}-wrong", *wrong, "--exit-after-certificate")
            check(code == 1 and "401" in output, f"profile {profile}, wrong password: exit {code}: {output[-400:]}")
            missing = [a for a in args if a not in ("--password", PASSWORD)]
            code, output = await run_example_station(ctx, f"station{profile}-nopassword", *missing)
            check(code == 1 and "password" in output, f"profile {profile}, no password: exit {code}: {output[-400:]}")
        if profile == 3:
            other = pki.leaf("RS9")
            impostor = args[:-4] + ["--cert", str(other[0]), "--key", str(other[1])]
            code, output = await run_example_station(ctx, "station3-impostor", *impostor)
            check(code == 1 and "401" in output, f"profile 3, another identity's certificate: exit {code}: {output[-400:]}")
            uncertified = args[:-4]
            code, output = await run_example_station(ctx, "station3-nocert", *uncertified)
            check(code == 1 and "--cert" in output, f"profile 3 without --cert: exit {code}: {output[-400:]}")
        if profile >= 2:
            # The station does not trust a CSMS whose certificate its anchor did not sign.
            stranger = Pki(ctx.dir / f"stranger{profile}")
            untrusting = [str(stranger.ca_pem) if a == str(pki.ca_pem) else a for a in args]
            code, output = await run_example_station(ctx, f"station{profile}-untrusting", *untrusting)
            check(code == 1 and "cannot connect" in output, f"profile {profile}, untrusted CSMS: exit {code}: {output[-400:]}")
        check(server.paths == [f"/ocpp/{identity}"], f"profile {profile}: a refused station got through: {server.paths}")
        ws_server.close()
        await ws_server.wait_closed()


async def test_example_station_at_the_example_csms_over_profile_3(ctx: Context) -> None:
    """Both examples in profile 3: the station's certificate from the CSMS's CA; the CSMS
    signs the station's CSR and the station accepts the chain."""
    pki = Pki(ctx.dir)
    ca_key = write_ca_key(pki)
    tls = ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
    port = await start_example_csms(
        ctx, "csms", "--security-profile", "3", *tls, "--ca-cert", str(pki.ca_pem), "--ca-key", str(ca_key)
    )
    certificate = pki.leaf("RS30")
    code, output = await run_example_station(
        ctx,
        "station",
        "--url",
        f"wss://localhost:{port}/RS30",
        "--security-profile",
        "3",
        "--ca-cert",
        str(pki.ca_pem),
        "--cert",
        str(certificate[0]),
        "--key",
        str(certificate[1]),
        "--exit-after-session",
    )
    check(code == 0, f"exit {code}: {output[-800:]}")
    check("certificate accepted" in output, f"the station did not accept its chain: {output[-800:]}")
