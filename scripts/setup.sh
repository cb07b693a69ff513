#!/usr/bin/env bash
# Installs the offline test stack into venvs beside the project (idempotent):
#   .venv-moto  moto's S3 server (atomic conditional writes) + boto3
#   .venv-cl    cargo-lambda (runs the built function behind the Lambda runtime API) + zig
#   .venv-sam   AWS SAM CLI and cfn-lint (template validation, sam build)
set -euo pipefail
cd "$(dirname "$0")/.."

venv() {
  local dir=$1; shift
  local stamp="$dir/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
    return 0
  fi
  echo "setup: installing $* into $dir"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$*" > "$stamp"
}

venv .venv-moto "moto[server]==5.2.5"
venv .venv-cl cargo-lambda==1.9.2 ziglang
venv .venv-sam aws-sam-cli==1.170.0 cfn-lint==1.58.0
