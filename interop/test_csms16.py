"""The example CSMS (Rust) against an OCPP 1.6 charge point written with the Python `ocpp`
library (`ocpp.v16`, whose messages the library checks against its own 1.6 schemas)."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from support import (
    Context,
    check,
    check_chain,
    expect_error,
    make_csr,
    new_key,
    now,
    run_validator,
    start_csms,
)

# Raw frames sent after the library's part, with the 1.6 CALLERROR code (in 1.6's spelling)
# and message id each must get.
RAW_FRAMES = [
    # Not JSON: the message id cannot be read.
    ('[2,"raw-1","Heartbeat",', "-1", "FormationViolation"),
    ('[2,"raw-2","NoSuchAction",{}]', "raw-2", "NotImplemented"),
    # A 2.0.1 action on a 1.6 connection.
    ('[2,"raw-3","TransactionEvent",{}]', "raw-3", "NotImplemented"),
    # A member the PDU does not define.
    ('[2,"raw-4","Heartbeat",{"beat":1}]', "raw-4", "FormationViolation"),
    # A required member missing: "payload incomplete".
    ('[2,"raw-5","Authorize",{}]', "raw-5", "ProtocolError"),
    # csr has maxLength 5500 in the security extension's SignCertificate.
    ('[2,"raw-6","SignCertificate",{"csr":"' + "x" * 5501 + '"}]', "raw-6", "PropertyConstraintViolation"),
    # Draft-04 core schema: 1.0 is not an integer.
    (
        '[2,"raw-7","StatusNotification",{"connectorId":1.0,"errorCode":"NoError","status":"Available"}]',
        "raw-7",
        "TypeConstraintViolation",
    ),
    # An action the Central System receives but a charge point may not send.
    ('[2,"raw-8","Reset",{"type":"Hard"}]', "raw-8", "NotSupported"),
]


class PythonChargePoint(ChargePoint):
    """An OCPP 1.6 charge point: answers CertificateSigned after checking the chain."""

    def __init__(self, identity: str, connection, key) -> None:
        super().__init__(identity, connection, response_timeout=15)
        self.key = key
        self.chains: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()

    @on(Action.certificate_signed)
    async def on_certificate_signed(self, certificate_chain: str, **_kwargs):
        try:
            check_chain(certificate_chain, self.key)
            problem = None
        except AssertionError as e:
            problem = str(e)
        await self.chains.put((certificate_chain, problem))
        return call_result.CertificateSigned(status="Rejected" if problem else "Accepted")


async def test_python_1_6_charge_point_charges_and_gets_a_certificate_from_the_rust_csms(
    ctx: Context,
) -> None:
    frame_log = ctx.dir / "csms-frames.log"
    csms, port = await start_csms(ctx, "--frame-log", str(frame_log), "--block-id-tag", "STOLEN-1")
    url = f"ws://127.0.0.1:{port}/PY016"

    async with connect(url, subprotocols=["ocpp1.6"], proxy=None, open_timeout=10) as ws:
        check(ws.subprotocol == "ocpp1.6", f"negotiated {ws.subprotocol!r}")
        key = new_key()
        cp = PythonChargePoint("PY016", ws, key)
        serving = asyncio.create_task(cp.start())

        boot = await cp.call(
            call.BootNotification(charge_point_model="interop", charge_point_vendor="python-ocpp")
        )
        check(boot.status == "Accepted", f"BootNotification answered {boot}")
        check(isinstance(boot.interval, int) and boot.interval > 0, f"bad interval in {boot}")
        await csms.wait_for_line(r"PY016: booted, python-ocpp interop", 10)

        beat = await cp.call(call.Heartbeat())
        check(isinstance(beat.current_time, str), f"Heartbeat answered {beat}")

        status = await cp.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Available")
        )
        check(status is not None, "StatusNotification got no response")

        # Authorize: accepted, except the tag the CSMS was told to block.
        auth = await cp.call(call.Authorize(id_tag="PY-TAG-1"))
        check(auth.id_tag_info["status"] == "Accepted", f"Authorize answered {auth}")
        blocked = await cp.call(call.Authorize(id_tag="stolen-1"))
        check(blocked.id_tag_info["status"] == "Blocked", f"a blocked tag was answered {blocked}")

        # A transaction: the Central System gives the id, then meter values and the stop.
        start = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="PY-TAG-1", meter_start=1000, timestamp=now())
        )
        check(start.id_tag_info["status"] == "Accepted", f"StartTransaction answered {start}")
        check(isinstance(start.transaction_id, int), f"no transaction id in {start}")
        tx = start.transaction_id
        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[
                    {
                        "timestamp": now(),
                        "sampled_value": [
                            {
                                "value": "1.5",
                                "measurand": "Energy.Active.Import.Register",
                                "unit": "kWh",
                                "context": "Sample.Periodic",
                            }
                        ],
                    }
                ],
            )
        )
        await csms.wait_for_line(rf"PY016: transaction {tx}: meter at 1500 Wh", 10)
        # The same tag cannot start a second transaction while the first runs.
        second = await cp.call(
            call.StartTransaction(connector_id=2, id_tag="PY-TAG-1", meter_start=0, timestamp=now())
        )
        check(second.id_tag_info["status"] == "ConcurrentTx", f"a second start was answered {second}")
        await cp.call(
            call.StopTransaction(meter_stop=0, timestamp=now(), transaction_id=second.transaction_id)
        )
        stop = await cp.call(
            call.StopTransaction(
                meter_stop=2200, timestamp=now(), transaction_id=tx, reason="Local", id_tag="PY-TAG-1"
            )
        )
        check(
            stop.id_tag_info and stop.id_tag_info["status"] == "Accepted",
            f"StopTransaction answered {stop}",
        )
        await csms.wait_for_line(rf"PY016: transaction {tx} ended \(Local\), 1200 Wh delivered", 10)

        # DataTransfer: the example's echo message, and a vendor the CSMS does not know.
        echo = await cp.call(
            call.DataTransfer(vendor_id="org.ocpp-rs.example", message_id="Echo", data="hello 1.6")
        )
        check(echo.status == "Accepted" and echo.data == "hello 1.6", f"DataTransfer answered {echo}")
        other = await cp.call(call.DataTransfer(vendor_id="com.example.other", message_id="X"))
        check(other.status == "UnknownVendorId", f"an unknown vendor was answered {other}")

        # The security extension: a real CSR is Accepted, then a CertificateSigned for our key.
        signed = await cp.call(call.SignCertificate(csr=make_csr(key, "PY016")))
        check(signed.status == "Accepted", f"SignCertificate answered {signed}")
        chain, problem = await asyncio.wait_for(cp.chains.get(), 15)
        check(problem is None, f"the chain does not certify our key: {problem}")
        leaf = check_chain(chain, key)[0]
        check("CN=PY016" in leaf.subject.rfc4514_string(), f"leaf subject {leaf.subject}")
        await csms.wait_for_line(r"PY016: CertificateSigned answered Accepted", 10)
        rejected = await cp.call(call.SignCertificate(csr="-----BEGIN CERTIFICATE REQUEST-----\nnope"))
        check(rejected.status == "Rejected", f"a broken CSR was answered {rejected}")

        event = await cp.call(
            call.SecurityEventNotification(
                type="ReconfigurationOfSecurityParameters",
                timestamp=now(),
                tech_info="installed the certificate from the 1.6 interop test",
            )
        )
        check(event is not None, "SecurityEventNotification got no response")
        await csms.wait_for_line(r"PY016: security event ReconfigurationOfSecurityParameters", 10)
        check(cp.chains.empty(), "a CertificateSigned came for a rejected CSR")

        # Raw frames on the same connection: the library would refuse to send them.
        serving.cancel()
        try:
            await serving
        except asyncio.CancelledError:
            pass
        for frame, message_id, code in RAW_FRAMES:
            await expect_error(ws, frame, message_id, code)
        await ws.send('[2,"raw-9","Heartbeat",{}]')
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        check(
            reply[:2] == [3, "raw-9"] and "currentTime" in reply[2],
            f"the connection no longer answers: {reply}",
        )

    await csms.stop()
    await check_frame_log(frame_log)


async def check_frame_log(frame_log) -> None:
    """The CSMS's frame log replays through `ocpp validate --ocpp 1.6`: everything before the
    raw frames is valid, and in the whole log exactly the broken frames we sent (and the
    CALLERRORs answering them, which are valid) are invalid."""
    lines = frame_log.read_text(encoding="utf-8").splitlines()
    first_raw = next(i for i, line in enumerate(lines) if '"raw-1"' in line)
    # 15 CALLs and their answers, plus CertificateSigned and its answer.
    check(first_raw == 32, f"expected 32 frames before the raw ones, found {first_raw}")
    well_formed = frame_log.with_name("csms-frames-well-formed.log")
    well_formed.write_text("\n".join(lines[:first_raw]) + "\n", encoding="utf-8")
    code, out = await run_validator(str(well_formed), version="1.6")
    check(code == 0, f"ocpp validate exited {code} on the well-formed part:\n{out}")
    check(
        out.strip() == f"{first_raw} frames: {first_raw} valid, 0 invalid",
        f"unexpected summary: {out}",
    )

    code, out = await run_validator("--json", str(frame_log), version="1.6")
    check(code == 1, f"ocpp validate exited {code} on the whole log (1 expected)")
    verdicts = [json.loads(line) for line in out.splitlines()]
    check(len(verdicts) == len(lines), f"{len(verdicts)} verdicts for {len(lines)} frames")
    invalid = [(v["messageId"], v["errorCode"]) for v in verdicts if not v["valid"]]
    expected = [
        (None, "FormationViolation"),
        ("raw-2", "NotImplemented"),
        ("raw-3", "NotImplemented"),
        ("raw-4", "FormationViolation"),
        ("raw-5", "ProtocolError"),
        ("raw-6", "PropertyConstraintViolation"),
        ("raw-7", "TypeConstraintViolation"),
    ]
    check(invalid == expected, f"invalid frames {invalid}, expected {expected}")
