#!/usr/bin/env bash
# Release build time of `ocpp-messages` itself with each OCPP version feature alone and with
# all of them (the default): dependencies (serde, serde_json, chrono, ocpp-codegen, ...) are
# built once into a fresh target directory, then for each feature set `ocpp-messages` is
# cleaned and rebuilt, so each line times this crate's own code for that set of versions.
#
#   bash bench/build-time-features.sh
#
# Prints wall and user CPU times and peak memory from `/usr/bin/time`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/ocpp-build-features.XXXXXX)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

echo "== dependencies (once)"
cargo build --release -p ocpp-messages --locked --quiet --no-default-features --features v2_1
for features in v1_6 v2_0_1 v2_1 "v1_6 v2_0_1 v2_1"; do
    cargo clean --release -p ocpp-messages --quiet
    /usr/bin/time -f "ocpp-messages [$features]: %e s wall, %U s user, %M KB peak" \
        cargo build --release -p ocpp-messages --locked --quiet --no-default-features \
        --features "$features"
done
