#!/usr/bin/env bash
# The project's checks in tiers, each runnable by name:
#
#   scripts/test.sh fast    pure and in-memory: every crate's unit tests and tests/fast (the
#                           pipeline over in-memory fakes, the house rules, docs held to code).
#                           No moto, no HTTP server, no built binary.
#   scripts/test.sh stack   tests/stack: the real handler and SDK clients against moto and the
#                           emulators over HTTP (starts moto on 127.0.0.1); then tests/soak.rs,
#                           500 jobs under faults, in a binary of its own so it runs alone.
#   scripts/test.sh binary  the built binaries: the tryon command's tests, every example job
#                           through `tryon run`, the Lambda behind the runtime API (cargo lambda
#                           watch + invoke with events/), and a smoke run of the benchmark.
#   scripts/test.sh         everything above, plus formatting, clippy, the function's dependency
#                           tree, and `sam validate --lint` for every trigger mode: what CI runs.
#
# Installs what it needs (scripts/setup.sh), starts its servers on 127.0.0.1 and stops them on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
tier=${1:-all}
case "$tier" in
  fast | stack | binary | all) ;;
  *) echo "usage: scripts/test.sh [fast|stack|binary|all]" >&2; exit 2 ;;
esac
export CARGO_TERM_COLOR=never SAM_CLI_TELEMETRY=0 CARGO_PROFILE_DEV_DEBUG=0
if [ "$tier" = fast ]; then
  scripts/setup.sh build || { echo "setup failed"; exit 1; }
else
  scripts/setup.sh || { echo "setup failed"; exit 1; }
  export PATH="$PWD/.venv-cl/bin:$PWD/.venv-sam/bin:$PATH"
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

start_moto() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  .venv-moto/bin/moto_server -H 127.0.0.1 -p "$port" > "$tmp/moto.log" 2>&1 &
  pids+=($!)
  export TRYON_MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$TRYON_MOTO_URL/" && break
    sleep 0.2
  done
}

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

# The function's own dependency tree must hold none of the tooling: no emulator or tools
# crate, HTTP server, CLI parser, SQS client or second TLS stack.
no_tooling_in_the_function() {
  local found
  found=$(cargo tree -e normal -p tryon-lambda --prefix none 2>/dev/null |
    grep -E '^(tryon-emulators|tryon-tools|axum|clap|aws-sdk-sqs) |^(hyper v0\.|rustls v0\.21\.|tokio-rustls v0\.24\.|ring v)' | sort -u)
  [ -z "$found" ] || { echo "the function's build carries: $found"; return 1; }
}

run_examples() {
  local ok=0
  for ex in examples/*/; do
    target/debug/tryon run "$ex" --out "$tmp/examples" || ok=1
  done
  return $ok
}

if [ "$tier" = all ]; then
  step "cargo fmt --check" cargo fmt --all --check
  step "cargo clippy --workspace --all-targets" cargo clippy --workspace --all-targets --quiet -- -D warnings
  step "the function's build carries no tooling (cargo tree)" no_tooling_in_the_function
fi
if [ "$tier" = fast ] || [ "$tier" = all ]; then
  step "fast: unit tests of every crate, tests/fast (in memory)" \
    cargo test --workspace --lib --bins --test fast -- --nocapture
fi
if [ "$tier" = stack ] || [ "$tier" = all ]; then
  start_moto
  step "stack: tests/stack (moto + emulators over HTTP), then the soak alone" \
    cargo test -p tryon-lambda --test stack --test soak -- --nocapture
fi
if [ "$tier" = binary ] || [ "$tier" = all ]; then
  [ -n "${TRYON_MOTO_URL:-}" ] || start_moto
  step "binary: the tryon command's tests (cli, memory limits)" cargo test -p tryon-tools --tests -- --nocapture
  step "cargo build --workspace --bins" cargo build --workspace --bins --quiet
  step "binary: tryon run examples/*" run_examples
  step "binary: the Lambda behind the runtime API (cargo lambda watch + invoke events/)" \
    .venv-moto/bin/python tests/runtime_api.py "$TRYON_MOTO_URL"
  # The benchmark command, once, so it keeps working (debug figures are not the real ones).
  # Its data is the shared benchmark job beside the project.
  if [ -d ../shared/bench/data ]; then
    step "binary: tryon bench (smoke run)" target/debug/tryon bench --iters 1 --data ../shared/bench/data
  else
    echo "=== skipped: tryon bench (smoke run): no ../shared/bench/data beside the project"
  fi
fi
if [ "$tier" = all ]; then
  step "sam validate --lint (every trigger mode)" scripts/validate-template.sh
fi

echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
