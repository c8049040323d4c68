#!/usr/bin/env bash
# Instructions per frame of `Frame::decode_call` (ours_typed) and `Dispatcher::handle`
# (ours_dispatch) on the decode bench's three frames, counted by callgrind (repeatable, unlike
# wall-clock time on a shared machine): (count(N2) - count(N1)) / (N2 - N1).
#
#   bash bench/callgrind-decode.sh                 # this checkout
#   bash bench/callgrind-decode.sh /path/to/other  # and another checkout (an older commit), side by side
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
build() { # checkout dir -> binary path
  local dir=$1 target=$2 features=()
  [ -d "$dir/ocpp-messages/src/rpc" ] || features=(--no-default-features)
  local work; work=$(mktemp -d)
  cp -r "$here/bench/count/." "$work/"
  sed -i "s|path = \"../../ocpp-messages\"|path = \"$dir/ocpp-messages\"|" "$work/Cargo.toml"
  sed -i "s|/../../ocpp-messages/benches/frames/|/frames/|" "$work/src/main.rs"
  cp -r "$here/ocpp-messages/benches/frames" "$work/frames"
  cp "$dir/Cargo.lock" "$work/Cargo.lock"  # the checkout's own dependency versions
  CARGO_TARGET_DIR="$target" cargo build --quiet --release --manifest-path "$work/Cargo.toml" "${features[@]}" >&2
  echo "$target/release/ocpp-count"
}
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | grep -oP 'Collected : \K[0-9]+'; }
per_frame() { local a b; a=$(count "$@" 1000); b=$(count "$@" 21000); echo $(((b - a) / 20000)); }
bins=("$(build "$here" "$here/target/count")")
[ $# -ge 1 ] && bins+=("$(build "$(cd "$1" && pwd)" "$here/target/count-other")")
printf '%-9s %-7s %s\n' path frame "instructions (this${1:+, other})"
for what in typed dispatch; do
  for frame in small medium large; do
    line=""
    for bin in "${bins[@]}"; do line="$line $(per_frame "$bin" "$what" "$frame")"; done
    printf '%-9s %-7s%s\n' "$what" "$frame" "$line"
  done
done
