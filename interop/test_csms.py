"""The example CSMS (Rust) against a charging station written with the Python `ocpp` library."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import websockets
from websockets.asyncio.client import connect
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from support import (
    Context,
    Failure,
    check,
    check_chain,
    expect_error,
    make_csr,
    new_key,
    now,
    run_validator,
    start_csms,
    tamper_csr,
)

# Raw frames sent after the library's part, with the CALLERROR code each must get.
RAW_FRAMES = [
    # csr has maxLength 5500 in SignCertificateRequest.
    ('[2,"raw-1","SignCertificate",{"csr":"' + "x" * 5501 + '"}]', "raw-1", "PropertyConstraintViolation"),
    ('[2,"raw-2","NoSuchAction",{}]', "raw-2", "NotImplemented"),
    ('[2,"raw-3","Heartbeat",', "-1", "RpcFrameworkError"),
    ('[2,"raw-4","Heartbeat",{"beat":1}]', "raw-4", "ProtocolError"),
]


class PythonStation(ChargePoint):
    """An OCPP 2.0.1 charging station: answers CertificateSigned after checking the chain."""

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


async def test_python_station_gets_a_certificate_from_the_rust_csms(ctx: Context) -> None:
    frame_log = ctx.dir / "csms-frames.log"
    csms, port = await start_csms(ctx, "--frame-log", str(frame_log))
    url = f"ws://127.0.0.1:{port}/PY001"

    async with connect(url, subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10) as ws:
        check(ws.subprotocol == "ocpp2.0.1", f"negotiated {ws.subprotocol!r}")
        key = new_key()
        station = PythonStation("PY001", ws, key)
        serving = asyncio.create_task(station.start())

        boot = await station.call(
            call.BootNotification(
                charging_station={"model": "interop", "vendor_name": "python-ocpp"},
                reason="PowerUp",
            )
        )
        check(boot.status == "Accepted", f"BootNotification answered {boot}")
        check(isinstance(boot.interval, int) and boot.interval > 0, f"bad interval in {boot}")

        status = await station.call(
            call.StatusNotification(
                timestamp=now(), connector_status="Available", evse_id=1, connector_id=1
            )
        )
        check(status is not None, "StatusNotification got no response")

        # A real CSR: Accepted, then a CertificateSigned for our key.
        csr = make_csr(key, "PY001")
        signed = await station.call(
            call.SignCertificate(csr=csr, certificate_type="ChargingStationCertificate")
        )
        check(signed.status == "Accepted", f"SignCertificate answered {signed}")
        chain, problem = await asyncio.wait_for(station.chains.get(), 15)
        check(problem is None, f"the chain does not certify our key: {problem}")
        leaf = check_chain(chain, key)[0]
        check("CN=PY001" in leaf.subject.rfc4514_string(), f"leaf subject {leaf.subject}")

        # CSRs that do not parse or whose signature does not verify: Rejected, and no
        # CertificateSigned follows.
        for bad in (tamper_csr(make_csr(key, "PY001")), "-----BEGIN CERTIFICATE REQUEST-----\nnope"):
            rejected = await station.call(call.SignCertificate(csr=bad))
            check(rejected.status == "Rejected", f"a broken CSR was answered {rejected}")
            check(
                rejected.status_info and rejected.status_info.get("reason_code") == "InvalidCSR",
                f"no reason given: {rejected}",
            )

        event = await station.call(
            call.SecurityEventNotification(
                type="ReconfigurationOfSecurityParameters",
                timestamp=now(),
                tech_info="installed the certificate from the interop test",
            )
        )
        check(event is not None, "SecurityEventNotification got no response")
        await csms.wait_for_line(r"PY001: security event ReconfigurationOfSecurityParameters", 10)
        check(station.chains.empty(), "a CertificateSigned came for a rejected CSR")

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
    """The CSMS's frame log replays through `ocpp validate`: the session up to the raw frames
    is entirely valid; in the whole log exactly the broken frames we sent are invalid."""
    lines = frame_log.read_text(encoding="utf-8").splitlines()
    first_raw = next(i for i, line in enumerate(lines) if '"raw-1"' in line)
    # Boot, status, SignCertificate, CertificateSigned, 2 rejected CSRs, security event: 7 pairs.
    check(first_raw == 14, f"expected 14 frames before the raw ones, found {first_raw}")
    well_formed = frame_log.with_name("csms-frames-well-formed.log")
    well_formed.write_text("\n".join(lines[:first_raw]) + "\n", encoding="utf-8")
    code, out = await run_validator(str(well_formed))
    check(code == 0, f"ocpp validate exited {code} on the well-formed part:\n{out}")
    check(
        out.strip() == f"{first_raw} frames: {first_raw} valid, 0 invalid",
        f"unexpected summary: {out}",
    )

    code, out = await run_validator("--json", str(frame_log))
    check(code == 1, f"ocpp validate exited {code} on the whole log (1 expected)")
    verdicts = [json.loads(line) for line in out.splitlines()]
    check(len(verdicts) == len(lines), f"{len(verdicts)} verdicts for {len(lines)} frames")
    invalid = [(v["messageId"], v["errorCode"]) for v in verdicts if not v["valid"]]
    expected = [
        ("raw-1", "PropertyConstraintViolation"),
        ("raw-2", "NotImplemented"),
        (None, "RpcFrameworkError"),
        ("raw-4", "ProtocolError"),
    ]
    check(invalid == expected, f"invalid frames {invalid}, expected {expected}")


async def test_rust_csms_refuses_connections_it_cannot_serve(ctx: Context) -> None:
    _csms, port = await start_csms(ctx)

    # No common subprotocol, or none offered: the handshake completes without one, then the
    # CSMS closes at once (OCPP 2.0.1 Part 4 §3.2).
    for offered in (["ocpp1.5"], None):
        async with connect(
            f"ws://127.0.0.1:{port}/PY002", subprotocols=offered, proxy=None, open_timeout=10
        ) as ws:
            check(ws.subprotocol is None, f"offered {offered}, the CSMS chose {ws.subprotocol!r}")
            try:
                message = await asyncio.wait_for(ws.recv(), 10)
                raise Failure(f"offered {offered}, got a message: {message!r}")
            except websockets.ConnectionClosed as e:
                check(e.rcvd is not None and e.rcvd.code == 1002, f"closed with {e.rcvd}")

    # No station identity in the path: HTTP 400 (ocpp-connection's answer to a request it
    # cannot read an identity from; 404 is for an identity it does not know).
    try:
        async with connect(
            f"ws://127.0.0.1:{port}/", subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10
        ):
            raise Failure("a connection without station identity was accepted")
    except websockets.InvalidStatus as e:
        check(e.response.status_code == 400, f"HTTP {e.response.status_code}")


async def test_python_station_charges_at_the_rust_csms(ctx: Context) -> None:
    """A whole 2.0.1 charging session: Authorize, TransactionEvent Started / Updated / Ended,
    MeterValues and DataTransfer, which the CSMS records."""
    csms, port = await start_csms(ctx, "--block-id-tag", "STOLEN-2")
    url = f"ws://127.0.0.1:{port}/PY003"

    async with connect(url, subprotocols=["ocpp2.0.1"], proxy=None, open_timeout=10) as ws:
        station = PythonStation("PY003", ws, new_key())
        serving = asyncio.create_task(station.start())
        boot = await station.call(
            call.BootNotification(
                charging_station={"model": "interop", "vendor_name": "python-ocpp"},
                reason="PowerUp",
            )
        )
        check(boot.status == "Accepted", f"BootNotification answered {boot}")

        token = {"id_token": "PY-TAG-2", "type": "ISO14443"}
        auth = await station.call(call.Authorize(id_token=token))
        check(auth.id_token_info["status"] == "Accepted", f"Authorize answered {auth}")
        blocked = await station.call(call.Authorize(id_token={"id_token": "stolen-2", "type": "ISO14443"}))
        check(blocked.id_token_info["status"] == "Blocked", f"a blocked token was answered {blocked}")

        def event(event_type, trigger, seq_no, wh, **extra):
            return call.TransactionEvent(
                event_type=event_type,
                timestamp=now(),
                trigger_reason=trigger,
                seq_no=seq_no,
                transaction_info={"transaction_id": "py-tx-1", **extra},
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
            dataclasses.replace(event("Started", "Authorized", 0, 5000), id_token=token)
        )
        check(
            started.id_token_info and started.id_token_info["status"] == "Accepted",
            f"TransactionEvent Started answered {started}",
        )
        await station.call(event("Updated", "MeterValuePeriodic", 1, 5400))
        await csms.wait_for_line(r"PY003: transaction py-tx-1: meter at 5400 Wh", 10)
        await station.call(
            call.MeterValues(
                evse_id=1,
                meter_value=[
                    {
                        "timestamp": now(),
                        "sampled_value": [{"value": 5.7, "unit_of_measure": {"unit": "kWh"}}],
                    }
                ],
            )
        )
        await csms.wait_for_line(r"PY003: transaction py-tx-1: meter at 5700 Wh", 10)
        await station.call(event("Ended", "EVDeparted", 2, 6000, stopped_reason="EVDisconnected"))
        await csms.wait_for_line(
            r"PY003: transaction py-tx-1 ended \(EVDisconnected\), 1000 Wh delivered", 10
        )

        echo = await station.call(
            call.DataTransfer(
                vendor_id="org.ocpp-rs.example", message_id="Echo", data={"note": "hello 2.0.1"}
            )
        )
        check(
            echo.status == "Accepted" and echo.data == {"note": "hello 2.0.1"},
            f"DataTransfer answered {echo}",
        )
        other = await station.call(call.DataTransfer(vendor_id="org.ocpp-rs.example", message_id="X"))
        check(other.status == "UnknownMessageId", f"an unknown message was answered {other}")
        serving.cancel()
