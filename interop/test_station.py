"""The example charging station (Rust) against a CSMS written with the Python `ocpp` library."""

from __future__ import annotations

import asyncio

from cryptography import x509
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.server import serve

from support import Context, PythonCa, check, new_key, now


class PythonCsms(ChargePoint):
    """One station's connection to the Python CSMS. It answers what the example station sends,
    signs its CSR with `cryptography` and sends the chain in CertificateSigned."""

    def __init__(self, identity: str, connection, server: "Server") -> None:
        super().__init__(identity, connection, response_timeout=15)
        self.server = server

    @on(Action.boot_notification)
    def on_boot_notification(self, charging_station, reason, **_kwargs):
        self.server.record("boot", (charging_station, reason))
        return call_result.BootNotification(current_time=now(), interval=10, status="Accepted")

    @on(Action.status_notification)
    def on_status_notification(self, connector_status, evse_id, connector_id, **_kwargs):
        self.server.record("status", (evse_id, connector_id, connector_status))
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def on_heartbeat(self, **_kwargs):
        self.server.record("heartbeat", True)
        return call_result.Heartbeat(current_time=now())

    @on(Action.sign_certificate)
    def on_sign_certificate(self, csr, **_kwargs):
        request = x509.load_pem_x509_csr(csr.encode())
        check(request.is_signature_valid, "the station's CSR signature does not verify")
        self.server.record("csr", request)
        return call_result.SignCertificate(status="Accepted")

    @after(Action.sign_certificate)
    async def send_certificate(self, csr, certificate_type=None, **_kwargs):
        try:
            wrong_key = new_key().public_key() if self.server.wrong_key else None
            chain = self.server.ca.sign(csr, public_key=wrong_key)
            response = await self.call(
                call.CertificateSigned(certificate_chain=chain, certificate_type=certificate_type),
                suppress=False,
            )
            self.server.record("certificate_signed", response)
        except Exception as e:  # reported by the test, which waits for this record
            self.server.record("certificate_signed", e)

    @on(Action.security_event_notification)
    def on_security_event_notification(self, type, timestamp, tech_info=None, **_kwargs):
        self.server.record("security_event", (type, tech_info))
        return call_result.SecurityEventNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token, **_kwargs):
        self.server.record("authorize", id_token)
        return call_result.Authorize(id_token_info={"status": "Accepted"})

    @on(Action.transaction_event)
    def on_transaction_event(self, event_type, seq_no, transaction_info, id_token=None, **kwargs):
        self.server.transaction_events.append(
            (event_type, seq_no, transaction_info, kwargs.get("meter_value"))
        )
        # idTokenInfo whenever the request has an idToken.
        info = {"status": "Accepted"} if id_token else None
        return call_result.TransactionEvent(id_token_info=info)

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None, **_kwargs):
        self.server.record("data_transfer", (vendor_id, message_id, data))
        return call_result.DataTransfer(status="Accepted", data=data)


class Server:
    """The Python CSMS: a websockets server on a free port of 127.0.0.1, `ocpp2.0.1` only."""

    def __init__(self, *, wrong_key: bool) -> None:
        self.ca = PythonCa()
        self.wrong_key = wrong_key
        self.events: dict[str, object] = {}
        self.transaction_events: list[tuple] = []
        self.paths: list[str] = []
        self.subprotocols: list[str | None] = []

    def record(self, name: str, value: object) -> None:
        self.events[name] = value

    async def handle(self, connection) -> None:
        self.paths.append(connection.request.path)
        self.subprotocols.append(connection.subprotocol)
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            await PythonCsms(identity, connection, self).start()
        except Exception:  # the station closed the connection: the test checks what it did
            pass


async def run_station(
    ctx: Context, *, wrong_key: bool, exit_after: str = "--exit-after-certificate"
) -> tuple[Server, int]:
    """Runs the example station against a Python CSMS once; returns the CSMS and the station's
    exit status."""
    server = Server(wrong_key=wrong_key)
    async with serve(server.handle, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"]) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        station = await ctx.spawn(
            "charging-station",
            "examples/charging-station",
            "--url",
            f"ws://127.0.0.1:{port}/ocpp/RS001",
            exit_after,
            "--timeout",
            "15",
        )
        code = await station.wait(60)
    check(server.paths == ["/ocpp/RS001"], f"connections: {server.paths}")
    check(server.subprotocols == ["ocpp2.0.1"], f"negotiated {server.subprotocols}")
    boot = server.events.get("boot")
    check(boot is not None and boot[1] == "PowerUp", f"boot: {boot}")
    check(server.events.get("status") == (1, 1, "Available"), f"status: {server.events.get('status')}")
    csr = server.events.get("csr")
    check(csr is not None, "no SignCertificate came")
    check("CN=RS001" in csr.subject.rfc4514_string(), f"CSR subject {csr.subject}")
    return server, code


async def test_rust_station_accepts_a_chain_signed_by_the_python_csms(ctx: Context) -> None:
    server, code = await run_station(ctx, wrong_key=False)
    response = server.events.get("certificate_signed")
    check(not isinstance(response, Exception), f"CertificateSigned failed: {response!r}")
    check(response is not None and response.status == "Accepted", f"station answered {response}")
    event = server.events.get("security_event")
    check(
        event is not None and event[0] == "ReconfigurationOfSecurityParameters",
        f"security event {event}",
    )
    check(server.events.get("heartbeat") is True, "no Heartbeat came")
    check(code == 0, f"the station exited with status {code}")


async def test_rust_station_rejects_a_chain_for_another_key(ctx: Context) -> None:
    server, code = await run_station(ctx, wrong_key=True)
    response = server.events.get("certificate_signed")
    check(not isinstance(response, Exception), f"CertificateSigned failed: {response!r}")
    check(response is not None and response.status == "Rejected", f"station answered {response}")
    event = server.events.get("security_event")
    check(
        event is not None and event[0] == "InvalidChargingStationCertificate",
        f"security event {event}",
    )
    check(code != 0, "the station exited 0 after rejecting the certificate")


async def test_rust_station_charges_against_the_python_csms(ctx: Context) -> None:
    """The whole 2.0.1 session: Authorize, TransactionEvent Started / Updated / Ended with one
    transaction id and sequence numbers 0, 1, 2, and the Echo DataTransfer."""
    server, code = await run_station(ctx, wrong_key=False, exit_after="--exit-after-session")
    check(code == 0, f"the station exited with status {code}")
    token = server.events.get("authorize")
    check(token is not None and token["id_token"] == "EXAMPLE-TAG-1", f"authorize: {token}")
    events = server.transaction_events
    check([(e[0], e[1]) for e in events] == [("Started", 0), ("Updated", 1), ("Ended", 2)], f"events: {events}")
    ids = {e[2]["transaction_id"] for e in events}
    check(len(ids) == 1, f"transaction ids: {ids}")
    readings = [e[3][0]["sampled_value"][0]["value"] for e in events]
    check(readings == [10000, 11000, 12500], f"meter readings: {readings}")
    check(events[2][2].get("stopped_reason") == "Local", f"ended: {events[2]}")
    transfer = server.events.get("data_transfer")
    check(
        transfer is not None and transfer[:2] == ("org.ocpp-rs.example", "Echo"),
        f"DataTransfer: {transfer}",
    )
