#!/usr/bin/env bash
# Every check of the project, the way CI runs it: formatting, clippy, the unit and
# integration tests (against moto's S3 server and the Nova Canvas emulator), every example
# job through `tryon run`, the built Lambda behind the Lambda runtime API (cargo lambda
# watch/invoke with the events in events/), and `sam validate --lint`.
# Starts what it needs on 127.0.0.1 and stops it on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never SAM_CLI_TELEMETRY=0 CARGO_PROFILE_DEV_DEBUG=0
scripts/setup.sh || { echo "setup failed"; exit 1; }
export PATH="$PWD/.venv-cl/bin:$PWD/.venv-sam/bin:$PATH"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
.venv-moto/bin/moto_server -H 127.0.0.1 -p "$moto_port" > "$tmp/moto.log" 2>&1 &
pids+=($!)
export TRYON_MOTO_URL="http://127.0.0.1:$moto_port"
for _ in $(seq 100); do
  curl -sf -o /dev/null "$TRYON_MOTO_URL/" && break
  sleep 0.2
done

passed=0
failed=0
step() {
  local name=$1
  shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== ok: $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    echo "=== FAILED: $name ($((SECONDS - t0)) s)"
  fi
}

# The Lambda's own dependency tree (default features) must hold no HTTP server, CLI parser
# or second TLS stack.
no_tooling_in_the_function() {
  local found
  found=$(cargo tree -e normal -p tryon-lambda --prefix none 2>/dev/null | grep -E '^(axum|clap|aws-sdk-sqs) |^(hyper v0\.|rustls v0\.21\.|tokio-rustls v0\.24\.|ring v)' | sort -u)
  [ -z "$found" ] || { echo "the function's build carries: $found"; return 1; }
}

run_examples() {
  local ok=0
  for ex in examples/*/; do
    target/debug/tryon run "$ex" --out "$tmp/examples" || ok=1
  done
  return $ok
}

step "cargo fmt --check" cargo fmt --check
step "cargo clippy (the function, default features)" cargo clippy --lib --bins --quiet -- -D warnings
step "cargo clippy (everything, with the tools)" cargo clippy --all-targets --features tools --quiet -- -D warnings
step "the function's build carries no tooling (cargo tree)" no_tooling_in_the_function
step "cargo test (unit, integration, corpus, memory, recovery, fuzz, soak, security)" cargo test --all-targets --features tools -- --nocapture
step "cargo build --bins" cargo build --bins --features tools --quiet
step "tryon run examples/*" run_examples
step "Lambda runtime API (cargo lambda watch + invoke events/)" .venv-moto/bin/python tests/runtime_api.py "$TRYON_MOTO_URL"
step "sam validate --lint (every trigger mode)" scripts/validate-template.sh
# The benchmark command, once, so it keeps working (debug figures are not the real ones). Its
# data is the shared benchmark job beside the project.
if [ -d ../shared/bench/data ]; then
  step "tryon bench (smoke run)" target/debug/tryon bench --iters 1 --data ../shared/bench/data
else
  echo "=== skipped: tryon bench (smoke run): no ../shared/bench/data beside the project"
fi

echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
