#!/usr/bin/env bash
# Run the seed's workflows locally under act (host mode, offline), against local stand-ins for
# everything they reach: moto for S3 (terraform's state), DynamoDB (the locks) and SSM (the
# stack); the repository's GitHub API peer (comments, issues); three regional health endpoints
# and a global one. One command per workflow:
#
#   run-under-act.sh plan              pull request #1: lock, plan, comment per region
#   run-under-act.sh apply --approve   the last plan run, approved: verify, apply, check, unlock
#   run-under-act.sh apply             the same, not approved: refused, unlocked
#   run-under-act.sh drift             the nightly refresh-only plan and drift issues
#   run-under-act.sh drill [REGION]    the outage drill (default us-east)
#   run-under-act.sh env               the local endpoints and credentials, as shell variables
#   run-under-act.sh down              stop the local services
#
# Anything after `--` goes to act (e.g. `-- --matrix region:us-east`). The first command starts
# the local services in the background and later ones reuse them, so `plan` then `apply` see
# the same state; `down` stops them. Make drift with `eval "$(run-under-act.sh env)"` and the
# AWS CLI or boto3 against $AWS_ENDPOINT_URL (the README shows how).
#
# What stands in for what under act (which runs offline): `tollgate-ci/tollgate@v0` is this
# checkout's action.yml (act --local-repository), running TOLLGATE_BIN; actions/upload-artifact
# and download-artifact keep artifacts on the local disk (local/actions/), and the
# `production` environment's reviewers are the explicit `--approve`.
#
# Environment: TOLLGATE_BIN (a tollgate binary; default: build one), GITOPS_LOCAL (the state
# directory; default $TMPDIR/tollgate-gitops), GITOPS_PR (the pull request, default 1). A
# GITOPS_LOCAL holding its own peers.env uses the services it names (the e2e tests do that).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${GITOPS_LOCAL:-${TMPDIR:-/tmp}/tollgate-gitops}"
pr="${GITOPS_PR:-1}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
command="${1:-}"
[ -n "$command" ] || usage
shift
approve=false
region=us-east
while [ $# -gt 0 ]; do
  case "$1" in
    --approve) approve=true ;;
    --) shift; break ;;
    us-east | eu-west | ap-south) region="$1" ;;
    *) echo "run-under-act.sh: unknown argument $1" >&2; usage ;;
  esac
  shift
done

# --- the local services -------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 600); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "$2 did not start (see $state/*.log)" >&2; exit 1; }
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v:=v[k] for k in sys.argv[2:]]; print(v if isinstance(v,str) else json.dumps(v))' "$@"; }

start_services() {
  echo "== starting the local services in $state (stop them with: $0 down)" >&2
  rm -f "$state"/*.ready "$state/pids"
  # setsid: the services outlive this script, so the next command reuses them.
  setsid python3 "$root/tests/peers/aws/moto_peer.py" --ready-file "$state/moto.ready" >"$state/moto.log" 2>&1 &
  echo $! >>"$state/pids"
  local github_port token=local-github-token
  github_port="$(free_port)"
  setsid python3 "$root/tests/peers/github/server.py" --port "$github_port" --port-file "$state/github.ready" \
    --token "$token" --owner octo-org --repo octo-repo >"$state/github.log" 2>&1 &
  echo $! >>"$state/pids"
  setsid python3 "$here/local/regions.py" --ready-file "$state/regions.ready" >"$state/regions.log" 2>&1 &
  echo $! >>"$state/pids"
  wait_for "$state/github.ready" "the GitHub API peer"
  curl -fsS -X POST "http://127.0.0.1:$github_port/_control/pulls" -H 'content-type: application/json' \
    -d "{\"number\": $pr, \"title\": \"Roll out v2\", \"head_sha\": \"$(printf 'a%.0s' {1..40})\", \"head_ref\": \"rollout\", \"base_ref\": \"main\", \"user\": \"octocat\"}" >/dev/null
  wait_for "$state/regions.ready" "the regions"
  wait_for "$state/moto.ready" "moto"
  {
    echo "AWS_ENDPOINT_URL=http://127.0.0.1:$(json "$state/moto.ready" port)"
    echo "AWS_ACCESS_KEY_ID=$(json "$state/moto.ready" access_key_id)"
    echo "AWS_SECRET_ACCESS_KEY=$(json "$state/moto.ready" secret_access_key)"
    echo "GITHUB_API_URL=http://127.0.0.1:$github_port"
    echo "GITHUB_TOKEN=$token"
    echo "HEALTH_URLS='$(json "$state/regions.ready" health_urls)'"
    echo "GLOBAL_HEALTH_URL=$(json "$state/regions.ready" global_url)"
    echo "REGION_CONTROL_URL=$(json "$state/regions.ready" control_url)"
  } >"$state/peers.env"
}

stop_services() {
  if [ -f "$state/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$state/pids"
    rm -f "$state/pids" "$state/peers.env" "$state"/*.ready
    echo "stopped the local services" >&2
  else
    echo "no local services started by this script in $state" >&2
  fi
}

case "$command" in
  down) stop_services; exit 0 ;;
  plan | apply | drift | drill | env) ;;
  *) usage ;;
esac
[ -f "$state/peers.env" ] || start_services
set -a
# shellcheck disable=SC1091
. "$state/peers.env"
set +a
if [ "$command" = env ]; then
  sed 's/^/export /' "$state/peers.env"
  exit 0
fi

# --- tollgate, keys, terraform --------------------------------------------------------------
if [ -z "${TOLLGATE_BIN:-}" ]; then
  rustup target add wasm32-wasip2 >/dev/null
  cargo build --release --locked -p tollgate --manifest-path "$root/Cargo.toml" >&2
  TOLLGATE_BIN="${CARGO_TARGET_DIR:-$root/target}/release/tollgate"
fi
if [ ! -f "$state/release.key" ]; then
  "$TOLLGATE_BIN" keygen --out "$state/release" >/dev/null
fi
# The machine has no registry access: the AWS provider comes from a filesystem mirror
# (`find / -maxdepth 2 -name tf-plugins`), named in a CLI config of our own.
mirror="${TF_PLUGIN_MIRROR:-$(find / -maxdepth 2 -name tf-plugins -type d 2>/dev/null | head -n1 || true)}"
{
  echo 'disable_checkpoint = true'
  if [ -n "$mirror" ]; then
    printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' "$mirror"
  fi
} >"$state/terraform.rc"

# --- a throwaway repository with this checkout's files (act reads the workflows from it) ----
repo="$state/repo"
rm -rf "$repo" && mkdir -p "$repo"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$root" && xargs -0 cp --parents -t "$repo" 2>/dev/null || true)
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=local -c user.email=local@example.test commit -qm "local run" --no-verify
git -C "$repo" remote add origin https://github.com/octo-org/octo-repo.git
sha="$(git -C "$repo" rev-parse HEAD)"
# The action `tollgate-ci/tollgate@v0` stands for: this checkout's action.yml, which runs
# TOLLGATE_BIN. (act copies a mapped directory for every step: the file alone is cheap.)
mkdir -p "$state/action" && cp "$root/action.yml" "$state/action/action.yml"

# --- the event ------------------------------------------------------------------------------
run_id=$(($(cat "$state/run-counter" 2>/dev/null || echo 1000) + 1))
echo "$run_id" >"$state/run-counter"
event="$state/event-$run_id.json"
extra=()
case "$command" in
  plan)
    name=pull_request
    echo "{\"action\": \"synchronize\", \"number\": $pr, \"pull_request\": {\"number\": $pr, \"head\": {\"ref\": \"rollout\", \"sha\": \"$sha\"}, \"base\": {\"ref\": \"main\"}}}" >"$event"
    echo "$run_id" >"$state/last-plan-run"
    ;;
  apply)
    name=workflow_run
    plan_run="${GITOPS_PLAN_RUN:-$(cat "$state/last-plan-run" 2>/dev/null || true)}"
    [ -n "$plan_run" ] || { echo "no plan run yet: run \`$0 plan\` first" >&2; exit 2; }
    echo "{\"action\": \"completed\", \"workflow_run\": {\"id\": $plan_run, \"name\": \"plan\", \"event\": \"pull_request\", \"conclusion\": \"success\", \"head_sha\": \"$sha\", \"pull_requests\": [{\"number\": $pr}]}}" >"$event"
    # act has no environments: the reviewer's approval of the plan run is explicit.
    if $approve; then extra+=(--var "APPROVED_PLAN_RUN=$plan_run"); fi
    ;;
  drift)
    name=schedule
    echo '{"schedule": "17 5 * * *"}' >"$event"
    ;;
  drill)
    name=workflow_dispatch
    echo "{\"inputs\": {\"region\": \"$region\"}}" >"$event"
    ;;
esac
[ "$command" != drill ] || extra+=(--input "region=$region")

mkdir -p "$state/home" "$state/artifacts"
cd "$repo"
echo "== act $name: examples/gitops-terraform/.github/workflows/$command.yml (run $run_id)" >&2
# Values with line breaks (the keys) go through files, which act reads as dotenv.
secrets="$state/secrets.env" vars="$state/vars.env"
umask 077
python3 - "$state" <<'PY'
import json, os, sys
state = sys.argv[1]
def dotenv(path, values):
    with open(path, "w") as f:
        f.writelines(f"{k}={json.dumps(v)}\n" for k, v in values.items())
env = os.environ
dotenv(f"{state}/secrets.env", {
    "GITHUB_TOKEN": env["GITHUB_TOKEN"],
    "AWS_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"],
    "AWS_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"],
    "TOLLGATE_SIGNING_KEY": open(f"{state}/release.key").read(),
})
dotenv(f"{state}/vars.env", {
    "AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"],
    "TOLLGATE_PUBLIC_KEY": open(f"{state}/release.pub").read(),
    "HEALTH_URLS": env["HEALTH_URLS"],
    "GLOBAL_HEALTH_URL": env["GLOBAL_HEALTH_URL"],
})
PY
umask 022
exec env HOME="$state/home" \
  CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
  act "$name" -e "$event" -W "examples/gitops-terraform/.github/workflows/$command.yml" \
  -P ubuntu-latest=-self-hosted --no-cache-server --artifact-server-addr 127.0.0.1 \
  --local-repository "tollgate-ci/tollgate@v0=$state/action" \
  --local-repository "actions/upload-artifact@v4=$here/local/actions/upload-artifact" \
  --local-repository "actions/download-artifact@v4=$here/local/actions/download-artifact" \
  --local-repository "hashicorp/setup-terraform@v3=$here/local/actions/setup-terraform" \
  --secret-file "$secrets" --var-file "$vars" \
  --env "GITHUB_API_URL=$GITHUB_API_URL" --env "GITHUB_RUN_ID=$run_id" \
  --env "LOCAL_ARTIFACTS=$state/artifacts" --env "TOLLGATE_BIN=$TOLLGATE_BIN" \
  --env "TF_CLI_CONFIG_FILE=$state/terraform.rc" --env "REGION_CONTROL_URL=$REGION_CONTROL_URL" \
  ${TOLLGATE_CACHE_DIR:+--env "TOLLGATE_CACHE_DIR=$TOLLGATE_CACHE_DIR"} \
  "${extra[@]}" "$@"
