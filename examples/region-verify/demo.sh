#!/usr/bin/env bash
# Verify three local "regions" (one is down) with a 2-of-3 quorum: passes, names eu-west.
set -euo pipefail
cd "$(dirname "$0")/../.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --locked -p tollgate
urls=$(mktemp -u)
python3 examples/region-verify/regions.py "$urls" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$urls"' EXIT
for _ in $(seq 100); do [ -s "$urls" ] && break; sleep 0.1; done
[ -s "$urls" ] || { echo "the demo servers did not start" >&2; exit 1; }
endpoints=$(awk '{printf "%s{name: %s, url: \"%s\"}", (NR>1?", ":""), $1, $2}' < "$urls")
target/release/tollgate run region-verify \
  --with "endpoints=[$endpoints]" \
  --with 'conditions=["status == 200", "body.status == \"UP\"", "header.x-region != \"\"", "response_time < 500ms"]' \
  --with min-healthy=2 --with retries=1 --with backoff=100ms "$@"
