#!/usr/bin/env bash
# The GitOps flow end to end, locally: for each region, take the region's lock, plan (signed
# tfplan + plan.json, the plan comment), verify, apply the very plan that was signed
# (trusting only the public key), and release the lock — also when a step fails or the run
# is interrupted. Works in a scratch copy so the repository stays clean.
#
# Offline: no cloud, no GitHub, no act. The stack is offline/infra (terraform's built-in
# `terraform_data`, the local backend), the pipelines are offline/*.pipeline.yml, the lock is
# state-lock's file backend. The workflows and their pipelines (S3, DynamoDB) run under act
# with run-under-act.sh.
#
# TOLLGATE_BIN uses a tollgate binary you already have instead of building one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
if [ -n "${TOLLGATE_BIN:-}" ]; then
  tollgate="$TOLLGATE_BIN"
else
  rustup target add wasm32-wasip2 >/dev/null
  cargo build --release --locked -p tollgate --manifest-path "$root/Cargo.toml"
  tollgate="$(cd "$root" && pwd)/target/release/tollgate"
fi
work="$(mktemp -d)"
mkdir -p "$work/locks"
regions=(us-east eu-west ap-south)

# The lock, in the file backend. Whatever happens, held locks are released on exit.
lock() {
  "$tollgate" run state-lock --allow-write "$work/locks" --with backend=file --with "path=$work/locks" \
    --with "key=infra/$1" --with "operation=$2" "${@:3}"
}
tokens=()
release_all() {
  for i in "${!tokens[@]}"; do
    lock "${regions[$i]}" release --with "token=${tokens[$i]}" || true
  done
  rm -rf "$work"
}
trap release_all EXIT
trap 'exit 130' INT TERM

cp -r "$here/offline/infra" "$here/offline/plan.pipeline.yml" "$here/offline/apply.pipeline.yml" "$work/"
cd "$work"
: > terraformrc
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1
"$tollgate" keygen --out release >/dev/null
for i in "${!regions[@]}"; do
  region="${regions[$i]}"
  echo "== lock and plan $region"
  tokens[i]="$(lock "$region" acquire --with ttl=1h --with wait=5m --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"]["token"])')"
  TOLLGATE_SIGNING_KEY="$(cat release.key)" "$tollgate" pipeline run plan.pipeline.yml \
    --input "region=$region" --artifacts store
done
for i in "${!regions[@]}"; do
  region="${regions[$i]}"
  echo "== verify and apply $region"
  lock "$region" status
  "$tollgate" verify "$region/tfplan" --artifacts store --public-key release.pub
  TOLLGATE_PUBLIC_KEY="$(cat release.pub)" "$tollgate" pipeline run apply.pipeline.yml \
    --input "region=$region" --artifacts store
  lock "$region" release --with "token=${tokens[$i]}"
  unset 'tokens[i]'
done
