#!/usr/bin/env bash
# `sam validate --lint` on template.yaml as written, then once per trigger mode × backend
# setup with those parameters made the defaults. Trigger modes: direct S3, SQS buffer,
# existing bucket via EventBridge, and existing bucket via EventBridge into the SQS buffer.
# Backend setups: each backend as the default, a chain of two, (with what it needs: a Vertex project and
# Workload Identity Federation configuration, or a Secrets Manager key), and every backend
# enabled at once (the Also* switches). Then the smallest and largest quota
# (ModelRequestsPerMinute, which sizes the concurrency through Mappings) in both trigger kinds.
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sam validate --lint --region us-east-1 -t template.yaml
secret='arn:aws:secretsmanager:us-east-1:123456789012:secret:tryon-google-key-AbCdEf'
wif='{"type":"external_account"}'
backends=(
  "nova-canvas|false|tryon-project||"
  "vertex-vto|false|tryon-project|$wif|"
  "gemini-image|false|tryon-project||$secret"
  "bedrock-converse|false|||"
  "nova-canvas|true|tryon-project|$wif|"
  "vertex-vto,gemini-image|false|tryon-project|$wif|"
)
set_default() { # parameter old new file
  python3 - "$@" <<'PY'
import sys
name, old, new, path = sys.argv[1:]
lines = open(path).read().split("\n")
at = lines.index(f"  {name}:")
for i in range(at + 1, at + 8):
    if lines[i].strip().startswith("Default:"):
        assert lines[i].strip() == f"Default: {old}", (name, lines[i])
        lines[i] = lines[i].split("Default:")[0] + "Default: " + new
        break
else:
    raise SystemExit(f"no default for {name}")
open(path, "w").write("\n".join(lines))
PY
}
for mode in "false:" "true:" "false:existing-shop-bucket" "true:existing-shop-bucket"; do
  sqs=${mode%%:*}
  bucket=${mode#*:}
  for setup in "${backends[@]}"; do
    IFS='|' read -r backend all project creds key <<< "$setup"
    out="$tmp/template.yaml"
    cp template.yaml "$out"
    set_default BufferWithSqs '"false"' "\"$sqs\"" "$out"
    set_default ExistingBucketName '""' "\"$bucket\"" "$out"
    set_default Backend bedrock-converse "$backend" "$out"
    for also in AlsoNovaCanvas AlsoVertexVto AlsoGeminiImage AlsoBedrockConverse; do
      set_default "$also" '"false"' "\"$all\"" "$out"
    done
    set_default VertexProject '""' "\"$project\"" "$out"
    set_default GoogleCredentialsJson '""' "'$creds'" "$out"
    set_default GoogleCredentialsSecretArn '""' "\"$key\"" "$out"
    # Nova Canvas only for an account that kept access; the retirement alarms paged on a topic.
    set_default ModelId '""' '"amazon.nova-canvas-v1:0"' "$out"
    set_default RetirementAlarmTopicArn '""' '"arn:aws:sns:us-east-1:123456789012:tryon-retirements"' "$out"
    echo "mode: BufferWithSqs=$sqs ExistingBucketName=${bucket:-<create one>} Backend=$backend every backend enabled: $all"
    sam validate --lint --region us-east-1 -t "$out" >/dev/null
  done
done
for quota in 10 1000; do
  for sqs in false true; do
    out="$tmp/template.yaml"
    cp template.yaml "$out"
    set_default ModelRequestsPerMinute '"100"' "\"$quota\"" "$out"
    set_default BufferWithSqs '"false"' "\"$sqs\"" "$out"
    echo "quota: ModelRequestsPerMinute=$quota BufferWithSqs=$sqs"
    sam validate --lint --region us-east-1 -t "$out" >/dev/null
  done
done
echo "template valid for every trigger mode, backend setup and quota bound"
