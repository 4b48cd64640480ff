# Sourced by fixture generators that need real `resource_drift`: terraform with the AWS
# provider from the machine's filesystem mirror (`find / -maxdepth 2 -name tf-plugins`),
# pointed at a `moto_server` on 127.0.0.1.
#
#   terraform_against_moto WORKDIR || exit 0   # prints why when it cannot
#
# On success: moto runs on $MOTO_PORT (killed on exit), TF_CLI_CONFIG_FILE names a CLI
# config with the mirror, and AWS_* hold moto's test credentials.
terraform_against_moto() {
  local work="$1" mirror tool
  mirror="$(find / -maxdepth 2 -name tf-plugins -type d 2>/dev/null | head -n1 || true)"
  if [[ -z "$mirror" || ! -d "$mirror/registry.terraform.io/hashicorp/aws" ]]; then
    echo "skipped: no tf-plugins mirror with hashicorp/aws on this machine; the committed fixtures stay as they are" >&2
    return 1
  fi
  for tool in terraform moto_server python3 curl; do
    command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed (moto: pip install 'moto[server]')" >&2; return 1; }
  done
  python3 -c 'import boto3' 2>/dev/null || { echo "skipped: python3 has no boto3 (pip install 'moto[server]')" >&2; return 1; }

  MOTO_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
  done

  export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
  cat > "$work/cli.tfrc" <<HCL
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
HCL
  export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
}
