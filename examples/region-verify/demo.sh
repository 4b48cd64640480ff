#!/usr/bin/env bash
# Verify three local "regions" (one is down) with a 2-of-3 quorum: passes, names eu-west.
set -euo pipefail
cd "$(dirname "$0")/../.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --locked -p tollgate
fifo=$(mktemp -u); mkfifo "$fifo"
python3 examples/region-verify/regions.py > "$fifo" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$fifo"' EXIT
endpoints=$(awk '{printf "%s{name: %s, url: \"%s\"}", (NR>1?", ":""), $1, $2}' < "$fifo")
target/release/tollgate run region-verify \
  --with "endpoints=[$endpoints]" \
  --with 'conditions=["status == 200", "body.status == \"UP\"", "header.x-region != \"\"", "response_time < 500ms"]' \
  --with min-healthy=2 --with retries=1 --with backoff=100ms "$@"
