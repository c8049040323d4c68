"""The example charging station (Rust, `--ocpp 2.1`) against an OCPP 2.1 CSMS written with the
Python `ocpp` library (`ocpp.v21`).

The library (2.1.0) cannot read the frames 2.1 added (types 5 and 6: its `unpack` rejects them
and `route_message` logs an error and drops them), so the Python CSMS here picks the station's
SEND and CALLRESULTERROR out of the stream before the library sees them, and checks the SEND's
payload against the library's own 2.1 schema for it."""

from __future__ import annotations

import asyncio
import json

from cryptography import x509
from ocpp.messages import get_validator
from ocpp.routing import after, on
from ocpp.v21 import ChargePoint, call, call_result
from ocpp.v21.enums import Action
from websockets.asyncio.server import serve

from support import Context, PythonCa, check, now


class PythonCsms21(ChargePoint):
    """One station's connection to the Python 2.1 CSMS: answers the example station's session,
    signs its CSR, accepts its periodic event stream; with `invalid_boot` it answers
    BootNotification with a status 2.1 does not have."""

    def __init__(self, identity: str, connection, server: "Server21") -> None:
        super().__init__(identity, connection, response_timeout=15)
        self.server = server

    async def route_message(self, raw_msg):
        try:
            message = json.loads(raw_msg)
        except ValueError:
            message = None
        if isinstance(message, list) and message and message[0] in (5, 6):
            self.server.log.append(("raw", message))
            return
        await super().route_message(raw_msg)

    # Schema validation is skipped for the invalid answer's sake; the station checks it.
    @on(Action.boot_notification, skip_schema_validation=True)
    def on_boot_notification(self, charging_station, reason, call_unique_id, **_kwargs):
        self.server.log.append(("boot", call_unique_id))
        status = "Perhaps" if self.server.invalid_boot else "Accepted"
        return call_result.BootNotification(current_time=now(), interval=10, status=status)

    @on(Action.status_notification)
    def on_status_notification(self, connector_status, evse_id, connector_id, **_kwargs):
        self.server.log.append(("status", connector_status))
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def on_heartbeat(self, **_kwargs):
        self.server.log.append(("heartbeat", None))
        return call_result.Heartbeat(current_time=now())

    @on(Action.sign_certificate)
    def on_sign_certificate(self, csr, **_kwargs):
        request = x509.load_pem_x509_csr(csr.encode())
        check(request.is_signature_valid, "the station's CSR signature does not verify")
        self.server.log.append(("csr", request.subject.rfc4514_string()))
        return call_result.SignCertificate(status="Accepted")

    @after(Action.sign_certificate)
    async def send_certificate(self, csr, certificate_type=None, **_kwargs):
        try:
            chain = self.server.ca.sign(csr)
            response = await self.call(
                call.CertificateSigned(certificate_chain=chain, certificate_type=certificate_type),
                suppress=False,
            )
            self.server.log.append(("certificate_signed", response.status))
        except Exception as e:  # reported by the test
            self.server.log.append(("certificate_signed", repr(e)))

    @on(Action.security_event_notification)
    def on_security_event_notification(self, type, timestamp, tech_info=None, **_kwargs):
        self.server.log.append(("security_event", type))
        return call_result.SecurityEventNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token, **_kwargs):
        self.server.log.append(("authorize", id_token))
        return call_result.Authorize(id_token_info={"status": "Accepted"})

    @on(Action.transaction_event)
    def on_transaction_event(self, event_type, seq_no, transaction_info, id_token=None, **kwargs):
        value = kwargs["meter_value"][0]["sampled_value"][0]["value"]
        self.server.log.append(("transaction_event", (event_type, seq_no, value)))
        info = {"status": "Accepted"} if id_token else None
        return call_result.TransactionEvent(id_token_info=info)

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None, **_kwargs):
        self.server.log.append(("data_transfer", (vendor_id, message_id)))
        return call_result.DataTransfer(status="Accepted", data=data)

    @on(Action.open_periodic_event_stream)
    def on_open_periodic_event_stream(self, constant_stream_data, **_kwargs):
        self.server.log.append(("open_stream", constant_stream_data))
        return call_result.OpenPeriodicEventStream(status="Accepted")

    @on(Action.close_periodic_event_stream)
    def on_close_periodic_event_stream(self, id, **_kwargs):
        self.server.log.append(("close_stream", id))
        return call_result.ClosePeriodicEventStream()


class Server21:
    """The Python CSMS: a websockets server on a free port of 127.0.0.1, `ocpp2.1` only. `log`
    has what came in, in order."""

    def __init__(self, *, invalid_boot: bool = False) -> None:
        self.ca = PythonCa()
        self.invalid_boot = invalid_boot
        self.log: list[tuple[str, object]] = []
        self.subprotocols: list[str | None] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.log]

    def first(self, name: str):
        return next((value for n, value in self.log if n == name), None)

    async def handle(self, connection) -> None:
        self.subprotocols.append(connection.subprotocol)
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            await PythonCsms21(identity, connection, self).start()
        except Exception:  # the station closed the connection: the test checks what it did
            pass


async def run_station(ctx: Context, server: Server21) -> int:
    """Runs the example station, offering 2.1 only, against `server` once; its exit status."""
    async with serve(server.handle, "127.0.0.1", 0, subprotocols=["ocpp2.1"]) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        station = await ctx.spawn(
            "charging-station",
            "examples/charging-station",
            "--url",
            f"ws://127.0.0.1:{port}/ocpp/RS021",
            "--ocpp",
            "2.1",
            "--exit-after-session",
            "--timeout",
            "15",
        )
        code = await station.wait(60)
    check(server.subprotocols == ["ocpp2.1"], f"negotiated {server.subprotocols}")
    return code


async def test_rust_2_1_station_charges_and_streams_against_the_python_csms(ctx: Context) -> None:
    """The whole 2.1 session, then OpenPeriodicEventStream, one NotifyPeriodicEventStream SEND
    with the session's readings (valid under the library's schema, never answered), and
    ClosePeriodicEventStream."""
    server = Server21()
    code = await run_station(ctx, server)
    check(code == 0, f"the station exited with status {code}")
    check(server.first("certificate_signed") == "Accepted", f"CertificateSigned: {server.first('certificate_signed')}")
    check(server.first("security_event") == "ReconfigurationOfSecurityParameters", f"log: {server.log}")
    token = server.first("authorize")
    check(token is not None and token["id_token"] == "EXAMPLE-TAG-1", f"authorize: {token}")
    events = [value for name, value in server.log if name == "transaction_event"]
    check(
        events == [("Started", 0, 10000), ("Updated", 1, 11000), ("Ended", 2, 12500)],
        f"events: {events}",
    )
    check(server.first("data_transfer") == ("org.ocpp-rs.example", "Echo"), f"log: {server.log}")

    names = server.names()
    check(names[-3:] == ["open_stream", "raw", "close_stream"], f"the session ended with {names[-3:]}")
    opened = server.first("open_stream")
    send = server.first("raw")
    check(send[0] == 6 and len(send) == 4 and send[2] == "NotifyPeriodicEventStream", f"SEND {send}")
    get_validator(6, "NotifyPeriodicEventStream", "2.1").validate(send[3])
    payload = send[3]
    check(payload["id"] == opened["id"] == server.first("close_stream"), f"stream ids: {opened}, {payload}")
    check([d["v"] for d in payload["data"]] == ["10000", "11000", "12500"], f"data {payload['data']}")
    offsets = [d["t"] for d in payload["data"]]
    check(offsets == sorted(offsets) and offsets[0] >= 0, f"offsets {offsets}")
    check(payload["pending"] == 0, f"pending {payload['pending']}")


async def test_rust_2_1_station_answers_an_invalid_boot_result_with_a_call_result_error(
    ctx: Context,
) -> None:
    """The Python CSMS answers BootNotification with a status 2.1 does not have: the station
    sends a CALLRESULTERROR with the CALLRESULT's message id, and stops (exit status 1)."""
    server = Server21(invalid_boot=True)
    code = await run_station(ctx, server)
    check(code == 1, f"the station exited with status {code}, 1 expected")
    boot_id = server.first("boot")
    error = server.first("raw")
    check(error is not None and error[0] == 5 and len(error) == 5, f"expected a CALLRESULTERROR, got {error}")
    check(error[1] == boot_id, f"CALLRESULTERROR id {error[1]}, BootNotification id {boot_id}")
    check(error[2] == "PropertyConstraintViolation", f"error code {error[2]}")
    check(server.names() == ["boot", "raw"], f"after the invalid answer: {server.names()}")
