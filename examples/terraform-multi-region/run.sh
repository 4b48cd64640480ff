#!/usr/bin/env bash
# The GitOps flow end to end, locally: for each region, plan (signed tfplan + plan.json),
# verify, then apply the very plan that was signed, trusting only the public key.
# Works in a scratch copy so the repository stays clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --locked -p tollgate --manifest-path "$root/Cargo.toml"
tollgate="$(cd "$root" && pwd)/target/release/tollgate"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$here/infra" "$here/plan.pipeline.yml" "$here/apply.pipeline.yml" "$work/"
cd "$work"
: > terraformrc
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1
"$tollgate" keygen --out release >/dev/null
regions=(us-east eu-west ap-south)
for region in "${regions[@]}"; do
  echo "== plan $region"
  TOLLGATE_SIGNING_KEY="$(cat release.key)" "$tollgate" pipeline run plan.pipeline.yml \
    --input "region=$region" --artifacts store
done
for region in "${regions[@]}"; do
  echo "== verify and apply $region"
  "$tollgate" verify "$region/tfplan" --artifacts store --public-key release.pub
  TOLLGATE_PUBLIC_KEY="$(cat release.pub)" "$tollgate" pipeline run apply.pipeline.yml \
    --input "region=$region" --artifacts store
done
