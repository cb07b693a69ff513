#!/usr/bin/env bash
# `sam validate --lint` on template.yaml as written, then once per trigger mode with the mode's
# parameters made the defaults: direct S3, SQS buffer, existing bucket via EventBridge, and
# existing bucket via EventBridge into the SQS buffer.
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sam validate --lint --region us-east-1 -t template.yaml
for mode in "false:" "true:" "false:existing-shop-bucket" "true:existing-shop-bucket"; do
  sqs=${mode%%:*}
  bucket=${mode#*:}
  out="$tmp/template-sqs-$sqs-bucket-${bucket:-created}.yaml"
  sed -e "/^  BufferWithSqs:/,/Default/ s/Default: \"false\"/Default: \"$sqs\"/" \
      -e "/^  ExistingBucketName:/,/Default/ s/Default: \"\"/Default: \"$bucket\"/" template.yaml > "$out"
  grep -q "Default: \"$sqs\"" "$out"
  echo "mode: BufferWithSqs=$sqs ExistingBucketName=${bucket:-<create one>}"
  sam validate --lint --region us-east-1 -t "$out"
done
