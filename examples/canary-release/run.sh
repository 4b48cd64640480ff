#!/usr/bin/env bash
# The canary release end to end, locally, against a real Prometheus: deploy the canary at 10%
# (a stub that switches the local service), gate it with canary-gate, verify every region's
# /healthz with region-verify, then promote — or roll back, also when the gate is
# inconclusive, a step fails, or the run is interrupted.
#
#   ./run.sh                      a healthy canary: promoted
#   CANARY_ERROR_RATIO=0.05 ./run.sh   a bad canary: rolled back
#
# Prometheus sits behind basic auth (its own --web.config.file) with a password made for this
# run; canary-gate reads it as the template's `secretKeyRef: {name: prometheus, key: password}`,
# i.e. the secret PROMETHEUS_PASSWORD granted to the step, and writes it nowhere. Hashing it
# for Prometheus needs Python's bcrypt (pip install bcrypt, or apt install python3-bcrypt).
#
# TOLLGATE_BIN uses a tollgate binary you already have instead of building one. ANALYSIS
# overrides the template (the tests use a shorter one); PROMETHEUS_BIN the Prometheus binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ -n "${TOLLGATE_BIN:-}" ]; then
  tollgate="$TOLLGATE_BIN"
else
  rustup target add wasm32-wasip2 >/dev/null
  cargo build --release --locked -p tollgate --manifest-path "$root/Cargo.toml"
  tollgate="$root/target/release/tollgate"
fi
prometheus_bin="${PROMETHEUS_BIN:-prometheus}"
analysis="${ANALYSIS:-$here/analysis.yaml}"
work="$(mktemp -d)"
pids=()
deployed=""
finish() {
  status=$?
  # A canary still at 10% when the script ends for any reason is rolled back.
  if [ "$deployed" = canary ]; then rollback; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# A step in the background, waited for: an interrupt stops the wait at once (bash runs traps
# only between foreground commands) and `finish` stops the step.
step() { "$@" & pids+=($!); wait $!; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
python3 -c 'import bcrypt' 2>/dev/null || {
  echo "run.sh: Python's bcrypt hashes the demo Prometheus' password: pip install bcrypt (or apt install python3-bcrypt)" >&2
  exit 2
}
control() { curl -fsS -X POST "http://127.0.0.1:$service_port/_control/$1" -H 'content-type: application/json' -d "$2" >/dev/null; }

# The service: one process standing in for every region, with stable and canary variants.
python3 "$root/tests/peers/metrics/server.py" --port 0 --port-file "$work/port" --version v1 >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
service_port="$(cat "$work/port")"
control series '{"service":"checkout","variant":"stable","error_ratio":0.001,"latency_ms":90,"jitter":8}'

# Prometheus scraping it every second, storage in the scratch directory, behind basic auth.
prom_port="$(free_port)"
PROMETHEUS_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
export PROMETHEUS_PASSWORD
python3 - "$work/web.yml" <<'PY'
import bcrypt, os, sys
hashed = bcrypt.hashpw(os.environ["PROMETHEUS_PASSWORD"].encode(), bcrypt.gensalt()).decode()
open(sys.argv[1], "w").write("basic_auth_users:\n  canary-gate: '%s'\n" % hashed)
PY
cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: checkout
    static_configs: [{targets: ["127.0.0.1:$service_port"]}]
YAML
"$prometheus_bin" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --web.config.file="$work/web.yml" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
prometheus="http://127.0.0.1:$prom_port"
prom_curl() { curl -fsS -u "canary-gate:$PROMETHEUS_PASSWORD" "$@"; }
for _ in $(seq 300); do prom_curl "$prometheus/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done

deploy_canary() {   # stub: switch 10% of traffic to the canary build
  echo "== deploy: canary v2 at 10%"
  control series "{\"service\":\"checkout\",\"variant\":\"canary\",\"error_ratio\":${CANARY_ERROR_RATIO:-0.001},\"latency_ms\":${CANARY_LATENCY_MS:-92},\"jitter\":8}"
  control value '{"name":"canary_weight","value":10}'
  deployed=canary
}
promote() {         # stub: all traffic to v2
  echo "== promote: v2 at 100%"
  control health '{"healthy":true,"version":"v2"}'
  deployed=promoted
}
rollback() {        # stub: all traffic back to v1
  echo "== roll back: v1 at 100%"
  curl -fsS -X DELETE "http://127.0.0.1:$service_port/_control/series?service=checkout&variant=canary" >/dev/null || true
  deployed=rolled-back
}

deploy_canary
# Rates need two scrapes: wait until Prometheus has a rate for the canary.
for _ in $(seq 100); do
  prom_curl "$prometheus/api/v1/query" --data-urlencode 'query=rate(http_requests_total{variant="canary"}[10s])' | grep -q '"value"' && break
  sleep 0.2
done

echo "== canary-gate"
set +e
step "$tollgate" run canary-gate --allow-read "$(dirname "$analysis")" --allow-net "$prometheus" --secret PROMETHEUS_PASSWORD \
  --with "template=$analysis" --with "args={service: checkout, prometheus: $prometheus}" --artifacts "$work/artifacts"
gate=$?
set -e
case "$gate" in
  0) echo "== analysis Successful" ;;
  3) echo "== analysis Inconclusive: not promoting"; exit 3 ;;
  *) echo "== analysis failed (exit $gate)"; exit 1 ;;
esac

echo "== region-verify"
regions="[{name: us-east, url: http://127.0.0.1:$service_port/healthz}, {name: eu-west, url: http://127.0.0.1:$service_port/healthz}, {name: ap-south, url: http://127.0.0.1:$service_port/healthz}]"
"$tollgate" run region-verify --with "endpoints=$regions" --with 'conditions=[status == 200, body.status == "ok"]'

promote
