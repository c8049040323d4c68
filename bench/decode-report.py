#!/usr/bin/env python3
"""Prints the means of the last `cargo bench -p ocpp-messages --bench decode` run and the ratios
BENCHMARKS.md sets targets for, read from criterion's files under target/criterion.

    python3 bench/decode-report.py [TARGET_DIR]    # default: $CARGO_TARGET_DIR or target
"""
import json
import math
import os
import sys

GROUPS = ["small_SecurityEventNotification", "medium_SignCertificate", "large_TransactionEvent"]
FUNCTIONS = ["floor", "ours_typed", "ours_dispatch", "ours_invalid",
             "ocpp_kit_strict", "ocpp_kit_pedantic", "value_jsonschema"]

target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target")
root = os.path.join(target, "criterion")


def mean_ns(group, function):
    path = os.path.join(root, group, function, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["mean"]["point_estimate"]


means = {g: {f: mean_ns(g, f) for f in FUNCTIONS} for g in GROUPS}

print("| frame | " + " | ".join(FUNCTIONS) + " |")
print("|---|" + "---|" * len(FUNCTIONS))
for g in GROUPS:
    print(f"| {g} | " + " | ".join(f"{means[g][f] / 1000:.2f} µs" for f in FUNCTIONS) + " |")

print()
rows = [
    ("ours_typed / floor", "ours_typed", "floor", "<= 1.2"),
    ("ocpp_kit_strict / ours_typed (speedup)", "ocpp_kit_strict", "ours_typed", ">= 1.0 each, geomean >= 1.5"),
    ("ocpp_kit_pedantic / ours_typed (speedup)", "ocpp_kit_pedantic", "ours_typed", "(information)"),
    ("value_jsonschema / ours_typed (speedup)", "value_jsonschema", "ours_typed", "(information)"),
    ("ours_dispatch / floor", "ours_dispatch", "floor", "<= 2"),
    ("ours_invalid / ours_dispatch", "ours_invalid", "ours_dispatch", "<= 10"),
]
print("| ratio | " + " | ".join(g.split("_")[0] for g in GROUPS) + " | geomean | target |")
print("|---|" + "---|" * (len(GROUPS) + 2))
for name, a, b, goal in rows:
    ratios = [means[g][a] / means[g][b] for g in GROUPS]
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"| {name} | " + " | ".join(f"{r:.2f}" for r in ratios) + f" | {geomean:.2f} | {goal} |")
