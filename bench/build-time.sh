#!/usr/bin/env bash
# Clean release build time: `ocpp-messages` with only OCPP 2.0.1 against ocpp-kit 0.3.0 with only
# OCPP 2.0.1 (default-features = false, features = ["std", "v2_0_1"], as the benchmarks use it),
# and `ocpp-messages` with every version; one after the other, each with an empty target
# directory and its dependencies included.
#
#   bash bench/build-time.sh
#
# Needs the crates in the local cargo registry (run `cargo fetch` once). Prints wall and user
# CPU times and peak memory from `/usr/bin/time`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/ocpp-build-time.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== ocpp-messages with only v2_0_1, as the peer is built (fresh target dir)"
CARGO_TARGET_DIR="$work/ours" /usr/bin/time -f "ocpp-messages (v2_0_1 only): %e s wall, %U s user, %M KB peak" \
    cargo build --release -p ocpp-messages --locked --quiet --no-default-features --features v2_0_1

echo "== ocpp-messages with every version (the default features; fresh target dir)"
CARGO_TARGET_DIR="$work/all" /usr/bin/time -f "ocpp-messages (1.6, 2.0.1, 2.1): %e s wall, %U s user, %M KB peak" \
    cargo build --release -p ocpp-messages --locked --quiet

echo "== ocpp-kit 0.3.0 with only v2_0_1 (a throwaway crate depending on it, fresh target dir)"
mkdir -p "$work/peer/src"
cat > "$work/peer/Cargo.toml" <<'TOML'
[package]
name = "peer-build"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
ocpp-kit = { version = "=0.3.0", default-features = false, features = ["std", "v2_0_1"] }

[workspace]
TOML
echo "pub use ocpp_kit;" > "$work/peer/src/lib.rs"
# The same versions of the shared dependencies as this workspace resolves.
cp Cargo.lock "$work/peer/Cargo.lock"
(cd "$work/peer" && CARGO_TARGET_DIR="$work/peer-target" /usr/bin/time \
    -f "ocpp-kit (v2_0_1 only): %e s wall, %U s user, %M KB peak" \
    cargo build --release --quiet)
