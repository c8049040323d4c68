"""The example CSMS (Rust) against an OCPP 2.1 charging station written with the Python `ocpp`
library (`ocpp.v21`).

The library (2.1.0) has 2.1's CALL actions and schemas, but its RPC layer knows message types
2 to 4 only: it cannot send a SEND (type 6; `NotifyPeriodicEventStream` has no class in
`ocpp.v21.call`) and does not read a CALLRESULTERROR (type 5): `ocpp.messages.unpack` rejects
both, and `ChargePoint.route_message` logs an error and drops the frame. So the SENDs here are
raw frames on the library's connection, and the CALLRESULTERROR the CSMS sends is picked up
before the library would drop it."""

from __future__ import annotations

import asyncio
import dataclasses
import json

from websockets.asyncio.client import connect
from ocpp.routing import on
from ocpp.v21 import ChargePoint, call, call_result
from ocpp.v21.enums import Action

from support import (
    Context,
    check,
    check_chain,
    make_csr,
    new_key,
    now,
    run_validator,
    start_csms,
)


class PythonStation21(ChargePoint):
    """An OCPP 2.1 charging station: answers CertificateSigned after checking the chain, or
    with a status the schema does not allow when `invalid_answer` is set. Frames of types 5
    and 6, which the library cannot read, are kept in `unreadable` instead of being dropped
    with an error log."""

    def __init__(self, identity: str, connection, key, *, invalid_answer: bool = False) -> None:
        super().__init__(identity, connection, response_timeout=15)
        self.key = key
        self.invalid_answer = invalid_answer
        self.chains: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self.call_ids: list[str] = []
        self.unreadable: asyncio.Queue[list] = asyncio.Queue()

    async def route_message(self, raw_msg):
        try:
            message = json.loads(raw_msg)
        except ValueError:
            message = None
        if isinstance(message, list) and message and message[0] in (5, 6):
            await self.unreadable.put(message)
            return
        await super().route_message(raw_msg)

    # Schema validation is skipped so that the invalid answer goes out; a valid one is checked
    # by the CSMS anyway.
    @on(Action.certificate_signed, skip_schema_validation=True)
    async def on_certificate_signed(self, certificate_chain: str, call_unique_id: str, **_kwargs):
        self.call_ids.append(call_unique_id)
        if self.invalid_answer:
            await self.chains.put((certificate_chain, "answered invalidly"))
            return call_result.CertificateSigned(status="Perhaps")
        try:
            check_chain(certificate_chain, self.key)
            problem = None
        except AssertionError as e:
            problem = str(e)
        await self.chains.put((certificate_chain, problem))
        return call_result.CertificateSigned(status="Rejected" if problem else "Accepted")


async def boot(station: PythonStation21) -> None:
    response = await station.call(
        call.BootNotification(
            charging_station={"model": "interop", "vendor_name": "python-ocpp"},
            reason="PowerUp",
        )
    )
    check(response.status == "Accepted", f"BootNotification answered {response}")
    check(isinstance(response.interval, int) and response.interval > 0, f"bad interval in {response}")


async def test_python_2_1_station_charges_at_the_rust_csms(ctx: Context) -> None:
    """A whole 2.1 session through the library: boot, status, Authorize, TransactionEvent
    Started / Updated / Ended, MeterValues, DataTransfer, SignCertificate / CertificateSigned,
    OpenPeriodicEventStream; then raw SENDs, which the CSMS records and never answers. The
    CSMS's frame log replays through `ocpp validate --ocpp 2.1` without an invalid frame."""
    frame_log = ctx.dir / "csms-frames.log"
    csms, port = await start_csms(ctx, "--block-id-tag", "STOLEN-21", "--frame-log", str(frame_log))
    url = f"ws://127.0.0.1:{port}/PY021"

    async with connect(url, subprotocols=["ocpp2.1"], proxy=None, open_timeout=10) as ws:
        check(ws.subprotocol == "ocpp2.1", f"negotiated {ws.subprotocol!r}")
        key = new_key()
        station = PythonStation21("PY021", ws, key)
        serving = asyncio.create_task(station.start())
        await boot(station)
        await station.call(
            call.StatusNotification(
                timestamp=now(), connector_status="Available", evse_id=1, connector_id=1
            )
        )
        beat = await station.call(call.Heartbeat())
        check(isinstance(beat.current_time, str), f"Heartbeat answered {beat}")

        token = {"id_token": "PY-TAG-21", "type": "ISO14443"}
        auth = await station.call(call.Authorize(id_token=token))
        check(auth.id_token_info["status"] == "Accepted", f"Authorize answered {auth}")
        blocked = await station.call(
            call.Authorize(id_token={"id_token": "stolen-21", "type": "ISO14443"})
        )
        check(blocked.id_token_info["status"] == "Blocked", f"a blocked token was answered {blocked}")

        def event(event_type, trigger, seq_no, wh, **extra):
            return call.TransactionEvent(
                event_type=event_type,
                timestamp=now(),
                trigger_reason=trigger,
                seq_no=seq_no,
                transaction_info={"transaction_id": "py-tx-21", **extra},
                evse={"id": 1, "connector_id": 1},
                meter_value=[
                    {
                        "timestamp": now(),
                        "sampled_value": [
                            {"value": wh, "measurand": "Energy.Active.Import.Register"}
                        ],
                    }
                ],
            )

        started = await station.call(
            dataclasses.replace(event("Started", "Authorized", 0, 7000), id_token=token)
        )
        check(
            started.id_token_info and started.id_token_info["status"] == "Accepted",
            f"TransactionEvent Started answered {started}",
        )
        await station.call(event("Updated", "MeterValuePeriodic", 1, 7250.5))
        await csms.wait_for_line(r"PY021: transaction py-tx-21: meter at 7250\.5 Wh", 10)
        await station.call(
            call.MeterValues(
                evse_id=1,
                meter_value=[
                    {
                        "timestamp": now(),
                        "sampled_value": [{"value": 7.5, "unit_of_measure": {"unit": "kWh"}}],
                    }
                ],
            )
        )
        await csms.wait_for_line(r"PY021: transaction py-tx-21: meter at 7500 Wh", 10)
        await station.call(event("Ended", "EVDeparted", 2, 8000, stopped_reason="EVDisconnected"))
        await csms.wait_for_line(
            r"PY021: transaction py-tx-21 ended \(EVDisconnected\), 1000 Wh delivered", 10
        )

        echo = await station.call(
            call.DataTransfer(
                vendor_id="org.ocpp-rs.example", message_id="Echo", data={"note": "hello 2.1"}
            )
        )
        check(
            echo.status == "Accepted" and echo.data == {"note": "hello 2.1"},
            f"DataTransfer answered {echo}",
        )

        signed = await station.call(
            call.SignCertificate(
                csr=make_csr(key, "PY021"), certificate_type="ChargingStationCertificate"
            )
        )
        check(signed.status == "Accepted", f"SignCertificate answered {signed}")
        chain, problem = await asyncio.wait_for(station.chains.get(), 15)
        check(problem is None, f"the chain does not certify our key: {problem}")
        await csms.wait_for_line(r"PY021: CertificateSigned answered Accepted", 10)

        opened = await station.call(
            call.OpenPeriodicEventStream(
                constant_stream_data={
                    "id": 21,
                    "variable_monitoring_id": 4,
                    "params": {"interval": 60, "values": 2},
                }
            )
        )
        check(opened.status == "Accepted", f"OpenPeriodicEventStream answered {opened}")

        # The library cannot send a SEND: raw frames on its connection, with its reading loop
        # stopped so that every frame that comes back is seen here.
        serving.cancel()
        try:
            await serving
        except asyncio.CancelledError:
            pass
        send = [
            6,
            "send-1",
            "NotifyPeriodicEventStream",
            {
                "id": 21,
                "pending": 0,
                "basetime": now(),
                "data": [{"t": 0, "v": "229.9"}, {"t": 60, "v": "230.4"}],
            },
        ]
        await ws.send(json.dumps(send))
        # Invalid (no data): not delivered, and not answered either.
        await ws.send(json.dumps([6, "send-2", "NotifyPeriodicEventStream", {"id": 21, "pending": 0}]))
        await ws.send('[2,"raw-h","Heartbeat",{}]')
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        check(reply[:2] == [3, "raw-h"], f"the first frame after the SENDs is {reply}, not the Heartbeat's answer")
        await csms.wait_for_line(r"PY021: event stream 21: 2 value\(s\) from .*, 2 in all, 0 pending", 10)
        await ws.send('[2,"raw-c","ClosePeriodicEventStream",{"id":21}]')
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        check(reply == [3, "raw-c", {}], f"ClosePeriodicEventStream answered {reply}")
        await csms.wait_for_line(r"PY021: event stream 21 closed after 2 value\(s\)", 10)

    await csms.stop()
    lines = frame_log.read_text(encoding="utf-8").splitlines()
    sends = [line for line in lines if line.startswith("[6,")]
    check(len(sends) == 2, f"the frame log has {len(sends)} SENDs, 2 expected")
    code, out = await run_validator("--json", str(frame_log), version="2.1")
    verdicts = [json.loads(line) for line in out.splitlines()]
    check(len(verdicts) == len(lines), f"{len(verdicts)} verdicts for {len(lines)} frames")
    invalid = [v.get("messageId") for v in verdicts if not v["valid"]]
    check(invalid == ["send-2"], f"invalid frames {invalid}, only the SEND without data expected")
    check(code == 1, f"ocpp validate exited {code} (1 expected: one invalid frame)")


async def test_rust_csms_answers_an_invalid_python_call_result_with_a_call_result_error(
    ctx: Context,
) -> None:
    """The library's station answers the CSMS's CertificateSigned with a status 2.1 does not
    have: the CSMS sends a CALLRESULTERROR (type 5) with that CALLRESULT's message id, and the
    connection goes on."""
    csms, port = await start_csms(ctx)
    url = f"ws://127.0.0.1:{port}/PY022"
    async with connect(url, subprotocols=["ocpp2.1"], proxy=None, open_timeout=10) as ws:
        key = new_key()
        station = PythonStation21("PY022", ws, key, invalid_answer=True)
        serving = asyncio.create_task(station.start())
        await boot(station)
        signed = await station.call(call.SignCertificate(csr=make_csr(key, "PY022")))
        check(signed.status == "Accepted", f"SignCertificate answered {signed}")
        await asyncio.wait_for(station.chains.get(), 15)
        error = await asyncio.wait_for(station.unreadable.get(), 15)
        check(error[0] == 5 and len(error) == 5, f"expected a CALLRESULTERROR, got {error}")
        check(error[1:2] == station.call_ids, f"id {error[1]}, CertificateSigned ids {station.call_ids}")
        check(error[2] == "PropertyConstraintViolation", f"error code {error[2]}")
        check(isinstance(error[3], str) and isinstance(error[4], dict), f"malformed {error}")
        await csms.wait_for_line(
            rf"PY022: the answer to CertificateSigned {error[1]} is invalid: answering with a CALLRESULTERROR",
            10,
        )
        await csms.wait_for_line(rf"PY022: CertificateSigned failed: invalid response", 10)
        beat = await station.call(call.Heartbeat())
        check(isinstance(beat.current_time, str), f"Heartbeat answered {beat}")
        check(station.unreadable.empty(), "more frames of type 5 or 6 came")
        serving.cancel()
