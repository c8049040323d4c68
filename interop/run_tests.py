"""Runs the interop tests: each in its own event loop, with a timeout, its processes stopped at
the end and their output shown when it fails. Ends with `N passed, M failed`; exit status 1 if
any failed.

    python run_tests.py [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import traceback

import test_csms
import test_csms16
import test_csms21
import test_example_profiles
import test_lifecycle
import test_profiles
import test_station
import test_station16
import test_station21
from support import Context

# Seconds one test may take, processes included.
TEST_TIMEOUT = 120

TESTS = [
    test_csms.test_python_station_gets_a_certificate_from_the_rust_csms,
    test_csms.test_rust_csms_refuses_connections_it_cannot_serve,
    test_csms.test_python_station_charges_at_the_rust_csms,
    test_station.test_rust_station_accepts_a_chain_signed_by_the_python_csms,
    test_station.test_rust_station_rejects_a_chain_for_another_key,
    test_station.test_rust_station_charges_against_the_python_csms,
    test_csms16.test_python_1_6_charge_point_charges_and_gets_a_certificate_from_the_rust_csms,
    test_station16.test_rust_1_6_charge_point_charges_against_the_python_central_system,
    test_station16.test_rust_1_6_charge_point_rejects_a_chain_for_another_key,
    test_station16.test_rust_1_6_charge_point_does_not_charge_with_a_blocked_tag,
    test_csms21.test_python_2_1_station_charges_at_the_rust_csms,
    test_csms21.test_rust_csms_answers_an_invalid_python_call_result_with_a_call_result_error,
    test_station21.test_rust_2_1_station_charges_and_streams_against_the_python_csms,
    test_station21.test_rust_2_1_station_answers_an_invalid_boot_result_with_a_call_result_error,
    test_profiles.test_python_stations_at_the_rust_csms_over_profiles_1_2_3,
    test_profiles.test_rust_station_at_the_python_csms_over_profiles_1_2_3,
    test_example_profiles.test_python_stations_at_the_example_csms_over_profiles_1_2_3,
    test_example_profiles.test_example_station_at_the_python_csms_over_profiles_1_2_3,
    test_example_profiles.test_example_station_at_the_example_csms_over_profile_3,
    test_lifecycle.test_lifecycle_python_station_password_change_at_the_example_csms,
    test_lifecycle.test_lifecycle_python_station_certificate_renewal_at_the_example_csms,
    test_lifecycle.test_lifecycle_durable_station_password_change_at_the_python_csms,
    test_lifecycle.test_lifecycle_durable_station_certificate_renewal_at_the_python_csms,
]


async def run_one(test) -> None:
    ctx = Context(test.__name__)
    try:
        await asyncio.wait_for(test(ctx), TEST_TIMEOUT)
    except BaseException:
        report = ctx.report()
        await ctx.close()
        if report:
            print(report, flush=True)
        raise
    await ctx.close()


def main(filters: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    selected = [t for t in TESTS if not filters or any(f in t.__name__ for f in filters)]
    passed = failed = 0
    for test in selected:
        started = time.monotonic()
        print(f"RUN  {test.__name__}", flush=True)
        try:
            asyncio.run(run_one(test))
        except Exception:
            failed += 1
            traceback.print_exc(file=sys.stdout)
            print(f"FAIL {test.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
        else:
            passed += 1
            print(f"PASS {test.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
    if not selected:
        print(f"no test matches {filters}")
        failed += 1
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
