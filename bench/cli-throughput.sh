#!/usr/bin/env bash
# CLI throughput: `ocpp validate` against the same loop over ocpp-kit 0.3.0's strict decode
# (ocpp-cli/examples/peer-validate.rs), on one deterministic log of OCPP 2.0.1 frames.
#
#   bash bench/cli-throughput.sh [FRAMES] [RUNS]     # defaults: 1000000 frames, 3 runs
#
# Builds both in release (the `ocpp` binary on its own, so it is built without the features
# the dev-dependency ocpp-kit turns on in shared crates), writes the log with
# `cargo run --release -p ocpp-cli --example gen-log`, then runs each RUNS times with
# `/usr/bin/time -f "%e s %M KB"` and prints throughput, peak RSS and ours/peer ratios
# (best of the runs). Output goes to /dev/null; the counts of valid/invalid frames are checked
# to agree. Set LOG=path to keep the log elsewhere (default /tmp/ocpp-bench-log.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-1000000}
runs=${2:-3}
log=${LOG:-/tmp/ocpp-bench-log.jsonl}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --locked -p ocpp-cli --bin ocpp
cargo build --release --locked -p ocpp-cli --example peer-validate --example gen-log
"$target/release/examples/gen-log" "$frames" > "$log"
bytes=$(stat -c %s "$log")
lines=$(wc -l < "$log")
echo "log: $log, $lines frames, $bytes bytes"

# Runs "$@" RUNS times; prints the best "seconds peak-KB" line.
measure() {
    local best="" out
    for _ in $(seq "$runs"); do
        out=$( { /usr/bin/time -f "%e %M" "$@" > /dev/null; } 2>&1 | tail -n 1)
        if [ -z "$best" ] || awk -v a="${out% *}" -v b="${best% *}" 'BEGIN{exit !(a<b)}'; then
            best=$out
        fi
    done
    echo "$best"
}

# Counts, to check that both agree on which frames are invalid.
ours_counts=$("$target/release/ocpp" validate --ocpp 2.0.1 "$log" | tail -n 1 || true)
peer_counts=$("$target/release/examples/peer-validate" "$log")
echo "ours: $ours_counts"
echo "peer: $peer_counts"
if [ "$ours_counts" != "$peer_counts" ]; then
    echo "WARNING: ocpp validate and the peer disagree on the counts" >&2
fi

ours_json=$(measure "$target/release/ocpp" validate --ocpp 2.0.1 --json "$log")
ours_text=$(measure "$target/release/ocpp" validate --ocpp 2.0.1 "$log")
peer=$(measure "$target/release/examples/peer-validate" "$log")

report() { # name "seconds kb"
    local s=${2% *} kb=${2#* }
    awk -v n="$1" -v s="$s" -v kb="$kb" -v b="$bytes" -v f="$lines" \
        'BEGIN{printf "%-38s %7.2f s %8.1f MB/s %10.0f frames/s %8d KB peak RSS\n", n, s, b/s/1e6, f/s, kb}'
}
report "ocpp validate --json (> /dev/null)" "$ours_json"
report "ocpp validate (report of invalid)" "$ours_text"
report "peer-validate (ocpp-kit strict)" "$peer"
awk -v o="${ours_json% *}" -v t="${ours_text% *}" -v p="${peer% *}" \
    'BEGIN{printf "throughput ours/peer: %.2fx with --json, %.2fx without\n", p/o, p/t}'
