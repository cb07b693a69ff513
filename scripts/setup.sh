#!/usr/bin/env bash
# Installs what building and testing need (idempotent):
#   cmake, nasm  build libjpeg-turbo from source (the turbojpeg crate); nasm for its x86-64
#                SIMD code. From Debian's packages when missing (needs root and apt-get).
#   .venv-moto   moto's S3 server (atomic conditional writes) + boto3
#   .venv-cl     cargo-lambda (runs the built function behind the Lambda runtime API) + zig
#   .venv-sam    AWS SAM CLI and cfn-lint (template validation, sam build)
# `scripts/setup.sh build` installs only the build tools.
set -euo pipefail
cd "$(dirname "$0")/.."

build_tools() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  if [ "$(uname -m)" = x86_64 ]; then
    command -v nasm >/dev/null || missing+=(nasm)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
  else
    echo "setup: building libjpeg-turbo needs ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]})" >&2
    return 1
  fi
}

build_tools
[ "${1:-}" = build ] && exit 0

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
