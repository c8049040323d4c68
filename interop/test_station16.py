"""The example charging station (Rust) in OCPP 1.6 against a Central System written with the
Python `ocpp` library (`ocpp.v16`)."""

from __future__ import annotations

import json

from cryptography import x509
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import serve

from support import Context, PythonCa, check, new_key, now

# Raw frames the Central System sends the charge point right after its boot, with the 1.6
# CALLERROR code (and message id) each must get back.
RAW_FRAMES = {
    "raw-1": ('[2,"raw-1","NoSuchAction",{}]', "NotImplemented"),
    # Not JSON: the message id cannot be read, so the answer carries "-1".
    "-1": ('[2,"raw-2","Reset",', "FormationViolation"),
    # A known 1.6 action the example charge point does not implement.
    "raw-3": ('[2,"raw-3","Reset",{"type":"Hard"}]', "NotSupported"),
    # An action only a charge point sends.
    "raw-4": ('[2,"raw-4","Heartbeat",{}]', "NotSupported"),
}

TRANSACTION_ID = 4242


class PythonCentralSystem(ChargePoint):
    """One charge point's connection to the Python Central System. It answers what the example
    charge point sends, signs its CSR with `cryptography` and sends the chain in
    CertificateSigned."""

    def __init__(self, identity: str, connection, server: "Server") -> None:
        super().__init__(identity, connection, response_timeout=15)
        self.server = server

    async def route_message(self, raw_msg):
        # Answers to our raw frames are the test's, not the library's.
        msg = json.loads(raw_msg) if raw_msg.startswith("[4,") else None
        if msg and msg[1] in RAW_FRAMES:
            self.server.raw_replies[msg[1]] = msg
            return
        await super().route_message(raw_msg)

    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor, charge_point_model, **_kwargs):
        self.server.record("boot", (charge_point_vendor, charge_point_model))
        return call_result.BootNotification(current_time=now(), interval=10, status="Accepted")

    @after(Action.boot_notification)
    async def send_raw_frames(self, **_kwargs):
        for frame, _code in RAW_FRAMES.values():
            await self._connection.send(frame)

    @on(Action.status_notification)
    def on_status_notification(self, connector_id, error_code, status, **_kwargs):
        self.server.statuses.append((connector_id, error_code, status))
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def on_heartbeat(self, **_kwargs):
        self.server.record("heartbeat", True)
        return call_result.Heartbeat(current_time=now())

    @on(Action.sign_certificate)
    def on_sign_certificate(self, csr, **_kwargs):
        request = x509.load_pem_x509_csr(csr.encode())
        check(request.is_signature_valid, "the charge point's CSR signature does not verify")
        self.server.record("csr", request)
        return call_result.SignCertificate(status="Accepted")

    @after(Action.sign_certificate)
    async def send_certificate(self, csr, **_kwargs):
        try:
            wrong_key = new_key().public_key() if self.server.wrong_key else None
            chain = self.server.ca.sign(csr, public_key=wrong_key)
            response = await self.call(call.CertificateSigned(certificate_chain=chain), suppress=False)
            self.server.record("certificate_signed", response)
        except Exception as e:  # reported by the test, which waits for this record
            self.server.record("certificate_signed", e)

    @on(Action.security_event_notification)
    def on_security_event_notification(self, type, timestamp, tech_info=None, **_kwargs):
        self.server.record("security_event", (type, tech_info))
        return call_result.SecurityEventNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag, **_kwargs):
        self.server.record("authorize", id_tag)
        return call_result.Authorize(id_tag_info={"status": self.server.authorization})

    @on(Action.start_transaction)
    def on_start_transaction(self, connector_id, id_tag, meter_start, timestamp, **_kwargs):
        self.server.record("start", (connector_id, id_tag, meter_start))
        return call_result.StartTransaction(
            transaction_id=TRANSACTION_ID, id_tag_info={"status": "Accepted"}
        )

    @on(Action.meter_values)
    def on_meter_values(self, connector_id, meter_value, transaction_id=None, **_kwargs):
        self.server.record("meter", (connector_id, transaction_id, meter_value))
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop_transaction(self, meter_stop, timestamp, transaction_id, **kwargs):
        self.server.record("stop", (transaction_id, meter_stop, kwargs.get("reason")))
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None, **_kwargs):
        self.server.record("data_transfer", (vendor_id, message_id, data))
        return call_result.DataTransfer(status="Accepted", data=data)


class Server:
    """The Python Central System: a websockets server on a free port of 127.0.0.1, `ocpp1.6`
    only."""

    def __init__(self, *, wrong_key: bool = False, authorization: str = "Accepted") -> None:
        self.ca = PythonCa()
        self.wrong_key = wrong_key
        self.authorization = authorization
        self.events: dict[str, object] = {}
        self.statuses: list[tuple] = []
        self.raw_replies: dict[str, list] = {}
        self.paths: list[str] = []
        self.subprotocols: list[str | None] = []

    def record(self, name: str, value: object) -> None:
        self.events[name] = value

    async def handle(self, connection) -> None:
        self.paths.append(connection.request.path)
        self.subprotocols.append(connection.subprotocol)
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            await PythonCentralSystem(identity, connection, self).start()
        except Exception:  # the charge point closed the connection: the test checks what it did
            pass


async def run_charge_point(ctx: Context, server: Server, *args: str) -> int:
    """Runs the example station in OCPP 1.6 against `server` once; returns its exit status."""
    async with serve(server.handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        station = await ctx.spawn(
            "charging-station",
            "examples/charging-station",
            "--url",
            f"ws://127.0.0.1:{port}/ocpp/RS016",
            "--ocpp",
            "1.6",
            "--timeout",
            "15",
            *args,
        )
        code = await station.wait(60)
    check(server.paths == ["/ocpp/RS016"], f"connections: {server.paths}")
    check(server.subprotocols == ["ocpp1.6"], f"negotiated {server.subprotocols}")
    boot = server.events.get("boot")
    check(boot == ("ocpp-rs", "example-station"), f"boot: {boot}")
    csr = server.events.get("csr")
    check(csr is not None, "no SignCertificate came")
    check("CN=RS016" in csr.subject.rfc4514_string(), f"CSR subject {csr.subject}")
    return code


def check_raw_replies(server: Server) -> None:
    """The charge point answered each raw frame with its 1.6 CALLERROR."""
    for message_id, (_frame, code) in RAW_FRAMES.items():
        reply = server.raw_replies.get(message_id)
        check(
            reply is not None and reply[2] == code and isinstance(reply[4], dict),
            f"expected a {code} CALLERROR for {message_id}, got {reply}",
        )


async def test_rust_1_6_charge_point_charges_against_the_python_central_system(
    ctx: Context,
) -> None:
    server = Server()
    code = await run_charge_point(ctx, server, "--exit-after-session")
    response = server.events.get("certificate_signed")
    check(not isinstance(response, Exception), f"CertificateSigned failed: {response!r}")
    check(response is not None and response.status == "Accepted", f"charge point answered {response}")
    event = server.events.get("security_event")
    check(
        event is not None and event[0] == "ReconfigurationOfSecurityParameters",
        f"security event {event}",
    )
    check(server.events.get("heartbeat") is True, "no Heartbeat came")
    check(server.events.get("authorize") == "EXAMPLE-TAG-1", f"authorize: {server.events.get('authorize')}")
    check(server.events.get("start") == (1, "EXAMPLE-TAG-1", 10000), f"start: {server.events.get('start')}")
    meter = server.events.get("meter")
    check(meter is not None and meter[:2] == (1, TRANSACTION_ID), f"meter values: {meter}")
    sample = meter[2][0]["sampled_value"][0]
    check(
        sample["value"] == "11000"
        and sample["measurand"] == "Energy.Active.Import.Register"
        and sample["unit"] == "Wh",
        f"meter values: {meter}",
    )
    check(server.events.get("stop") == (TRANSACTION_ID, 12500, "Local"), f"stop: {server.events.get('stop')}")
    statuses = [s[2] for s in server.statuses]
    check(statuses == ["Available", "Charging", "Available"], f"statuses: {server.statuses}")
    transfer = server.events.get("data_transfer")
    check(
        transfer is not None and transfer[:2] == ("org.ocpp-rs.example", "Echo"),
        f"DataTransfer: {transfer}",
    )
    check_raw_replies(server)
    check(code == 0, f"the charge point exited with status {code}")


async def test_rust_1_6_charge_point_rejects_a_chain_for_another_key(ctx: Context) -> None:
    server = Server(wrong_key=True)
    code = await run_charge_point(ctx, server, "--exit-after-session")
    response = server.events.get("certificate_signed")
    check(not isinstance(response, Exception), f"CertificateSigned failed: {response!r}")
    check(response is not None and response.status == "Rejected", f"charge point answered {response}")
    event = server.events.get("security_event")
    check(
        event is not None and event[0] == "InvalidChargingStationCertificate",
        f"security event {event}",
    )
    check("start" not in server.events, "a transaction started after a rejected certificate")
    check(code != 0, "the charge point exited 0 after rejecting the certificate")


async def test_rust_1_6_charge_point_does_not_charge_with_a_blocked_tag(ctx: Context) -> None:
    server = Server(authorization="Blocked")
    code = await run_charge_point(ctx, server, "--exit-after-session")
    check(server.events.get("authorize") == "EXAMPLE-TAG-1", "no Authorize came")
    check("start" not in server.events, "a transaction started with a blocked tag")
    check(code != 0, "the charge point exited 0 with a blocked tag")
