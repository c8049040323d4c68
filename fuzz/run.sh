#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: fuzz/run.sh [SECONDS_PER_TARGET] (default 40).
#
# Each target starts from its committed seeds (fuzz/seeds/, made by
# `cargo test -p ocpp-messages --test fuzz_seeds`) and writes what it finds into the scratch
# corpus fuzz/corpus/<target>/ (not committed). A crash stops the run with a non-zero status
# and leaves the input in fuzz/artifacts/<target>/; turn it into a regression test in
# ocpp-messages/tests/hostile.rs. Needs cargo-fuzz (installed if missing); the toolchain is
# stable, so RUSTC_BOOTSTRAP=1 lets it use the nightly-only sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-40}"
# target:seed directory
targets=(frame:frames payload:payload differential:payload dispatch:dispatch engine:dispatch)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
# The library forbids unsafe code, so AddressSanitizer finds nothing a panic would not; without
# it each target runs several times faster. Debug assertions stay on.
fuzz=(cargo fuzz run --sanitizer none --debug-assertions)

cargo fuzz build --sanitizer none --debug-assertions

for entry in "${targets[@]}"; do
  target="${entry%%:*}"
  seeds="seeds/${entry#*:}"
  mkdir -p "corpus/$target"
  printf '\n==> fuzz %s for %ss\n' "$target" "$seconds"
  log="$(mktemp)"
  if ! "${fuzz[@]}" "$target" "corpus/$target" "$seeds" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
      -print_final_stats=1 2>"$log"; then
    tail -n 60 "$log"
    rm -f "$log"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  rm -f "$log"
done
