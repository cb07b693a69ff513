#!/usr/bin/env python3
"""The built Lambda binary through the Lambda runtime API: `cargo lambda watch` serves it,
`cargo lambda invoke --data-file events/...` invokes it, against moto (S3) and
`tryon emulator` (Nova Canvas), with endpoints passed only through the standard
AWS_ENDPOINT_URL_* variables. Exits non-zero on any mismatch.

Usage: runtime_api.py MOTO_URL   (cargo-lambda on PATH, target/debug/tryon built)
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "tryon-example-bucket"
CHECKS = {"passed": 0, "failed": 0}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds, what):
    end = time.time() + seconds
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"{what} did not listen on {port} within {seconds} s")


def check(name, ok, detail=""):
    CHECKS["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)


def main():
    moto = sys.argv[1]
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    example = ROOT / "examples" / "hoodie"
    for job in ["demo", "summer sale/café 1", "queued", "bridged"]:
        for f in ["person.jpg", "hoodie.png"]:
            s3.put_object(Bucket=BUCKET, Key=f"uploads/{job}/{f}", Body=(example / f).read_bytes())
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{job}/job.json", Body=(example / "job.json").read_bytes())
        try:
            s3.delete_object(Bucket=BUCKET, Key=f"outputs/{job}/status.json")
        except Exception:
            pass

    emu_port, rt_port = free_port(), free_port()
    emulator = subprocess.Popen([str(ROOT / "target/debug/tryon"), "emulator", "--port", str(emu_port)])
    env = {
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{emu_port}",
        "S3_FORCE_PATH_STYLE": "true", "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }
    watch_cmd = ["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(rt_port), "--bin", "tryon-lambda"]
    for k, v in env.items():
        watch_cmd += ["--env-var", f"{k}={v}"]
    watch_log = open(ROOT / "target" / "runtime-api-watch.log", "w+")
    watch = subprocess.Popen(watch_cmd, cwd=ROOT, env={**os.environ, "CARGO_TERM_COLOR": "never"}, stdout=watch_log, stderr=subprocess.STDOUT)
    try:
        wait_port(emu_port, 30, "tryon emulator")
        wait_port(rt_port, 120, "cargo lambda watch")

        def invoke(event_file):
            t = time.time()
            out = subprocess.run(
                ["cargo", "lambda", "invoke", "tryon-lambda", "-A", "127.0.0.1", "-P", str(rt_port),
                 "--data-file", str(ROOT / "events" / event_file)],
                cwd=ROOT, capture_output=True, text=True, timeout=900)
            print(f"invoke {event_file}: rc={out.returncode} in {time.time() - t:.1f} s: {out.stdout.strip()[:400]} {out.stderr.strip()[-400:]}", flush=True)
            return out

        for event_file, job in [("s3-put-job.json", "demo"), ("s3-put-job-encoded-key.json", "summer sale/café 1")]:
            out = invoke(event_file)
            check(f"{event_file}: invocation succeeds", out.returncode == 0, out.stderr[-300:])
            try:
                result = json.loads(out.stdout)
                check(f"{event_file}: record succeeded", result["records"][0]["outcome"] == "succeeded", out.stdout)
            except (ValueError, KeyError, IndexError) as e:
                check(f"{event_file}: result is the summary JSON", False, f"{e}: {out.stdout}")
            status = json.loads(s3.get_object(Bucket=BUCKET, Key=f"outputs/{job}/status.json")["Body"].read())
            check(f"{event_file}: status.json succeeded", status["state"] == "succeeded", json.dumps(status)[:300])
            keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"outputs/{job}/").get("Contents", []))
            want = [f"outputs/{job}/mask.png", f"outputs/{job}/result.png", f"outputs/{job}/sheet.jpg", f"outputs/{job}/status.json"]
            check(f"{event_file}: outputs written", keys == want, str(keys))

        out = invoke("sqs-s3-put-job.json")
        ok = out.returncode == 0 and json.loads(out.stdout or "{}") == {"batchItemFailures": []}
        check("sqs-s3-put-job.json: SQS batch answers batchItemFailures", ok, out.stdout + out.stderr[-300:])
        status = json.loads(s3.get_object(Bucket=BUCKET, Key="outputs/queued/status.json")["Body"].read())
        check("sqs-s3-put-job.json: status.json succeeded", status["state"] == "succeeded", json.dumps(status)[:300])

        out = invoke("eventbridge-object-created.json")
        ok = out.returncode == 0 and json.loads(out.stdout or "{}").get("records", [{}])[0].get("outcome") == "succeeded"
        check("eventbridge-object-created.json: job succeeded", ok, out.stdout + out.stderr[-300:])

        out = invoke("s3-put-image.json")
        ok = out.returncode == 0 and json.loads(out.stdout or "{}").get("records", [{}])[0].get("outcome") == "skipped"
        check("s3-put-image.json: an image upload is skipped", ok, out.stdout + out.stderr[-300:])

        # A duplicate delivery of the first event makes no model call.
        out = invoke("s3-put-job.json")
        ok = out.returncode == 0 and json.loads(out.stdout or "{}").get("records", [{}])[0].get("outcome") == "duplicate"
        check("s3-put-job.json again: a duplicate", ok, out.stdout)
        calls = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{emu_port}/_emulator/requests").read())
        check("the emulator got exactly four model calls", len(calls) == 4, str(len(calls)))
        # The function printed one CloudWatch EMF line per job it ran.
        watch_log.flush()
        emf = []
        for line in open(watch_log.name, encoding="utf-8", errors="replace"):
            start = line.find("{")
            if start >= 0 and '"_aws"' in line:
                try:
                    record = json.loads(line[start:])
                except ValueError:
                    continue
                if isinstance(record, dict) and "_aws" in record:
                    emf.append(record)
        def valid(r):
            d = r["_aws"]["CloudWatchMetrics"][0]
            return (isinstance(r["_aws"]["Timestamp"], int) and d["Namespace"] == "TryOn"
                    and all(isinstance(r[m["Name"]], (int, float)) for m in d["Metrics"])
                    and all(isinstance(r[k], str) for ds in d["Dimensions"] for k in ds))
        check("one valid EMF metrics line per job run", len(emf) == 4 and all(valid(r) for r in emf), f"{len(emf)} lines")
        check("through SigV4 with content-type application/json",
              all(c["auth"] == "sigv4" and c["contentType"] == "application/json" for c in calls), str(calls)[:300])
    finally:
        watch.terminate()
        emulator.terminate()
        for p in (watch, emulator):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"runtime-api: {CHECKS['passed']} passed, {CHECKS['failed']} failed", flush=True)
    sys.exit(1 if CHECKS["failed"] else 0)


if __name__ == "__main__":
    main()
