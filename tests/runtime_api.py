#!/usr/bin/env python3
"""The built Lambda binary through the Lambda runtime API: `cargo lambda watch` serves it,
`cargo lambda invoke --data-file events/...` invokes it, against moto (S3) and
`tryon emulator` (every backend: Bedrock InvokeModel and Converse, Vertex AI predict and
generateContent, Google's STS token endpoint), with endpoints passed only through the
standard AWS_ENDPOINT_URL_* variables and VERTEX_ENDPOINT_URL, and Google credentials
through the real Workload Identity Federation path (a GOOGLE_APPLICATION_CREDENTIALS file
whose token_url is the emulator). Completion events go to a bus in moto (EVENT_BUS_NAME,
AWS_ENDPOINT_URL_EVENTBRIDGE) whose rule targets an SQS queue, as the README's sample rule
does. Exits non-zero on any mismatch.

Usage: runtime_api.py MOTO_URL   (cargo-lambda on PATH, target/debug/tryon built)
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "tryon-example-bucket"
EVENT_BUS = "tryon-runtime-api"
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


def emulator_exports(proc):
    """The `export NAME='value'` lines `tryon emulator --backend` prints once it listens."""
    found = {}
    while "GOOGLE_CREDENTIALS_JSON" not in found or "AWS_REGION" not in found:
        line = proc.stdout.readline()
        if not line:
            sys.exit("tryon emulator ended before printing its variables")
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            found[name] = value.strip("'")
    return found


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
    for job in ["demo", "summer sale/café 1", "queued", "bridged", "overflowed", "fanned out"]:
        for f in ["person.jpg", "hoodie.png"]:
            s3.put_object(Bucket=BUCKET, Key=f"uploads/{job}/{f}", Body=(example / f).read_bytes())
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{job}/job.json", Body=(example / "job.json").read_bytes())
        try:
            s3.delete_object(Bucket=BUCKET, Key=f"outputs/{job}/status.json")
        except Exception:
            pass

    sqs, queue_url = completion_queue(moto)
    emu_port, rt_port = free_port(), free_port()
    emulator = subprocess.Popen([str(ROOT / "target/debug/tryon"), "emulator", "--port", str(emu_port),
                                 "--backend", "vertex-vto"], stdout=subprocess.PIPE, text=True)
    google = emulator_exports(emulator)
    wif = ROOT / "target" / "runtime-api-google-wif.json"
    wif.write_text(google["GOOGLE_CREDENTIALS_JSON"])
    env = {
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{emu_port}",
        "S3_FORCE_PATH_STYLE": "true", "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "ENABLED_BACKENDS": "vertex-vto,gemini-image,bedrock-converse",
        "VERTEX_PROJECT": google["VERTEX_PROJECT"], "VERTEX_ENDPOINT_URL": google["VERTEX_ENDPOINT_URL"],
        "GOOGLE_APPLICATION_CREDENTIALS": str(wif),
        "EVENT_BUS_NAME": EVENT_BUS, "AWS_ENDPOINT_URL_EVENTBRIDGE": moto,
        # The examples are Nova Canvas manifests: the emulator plays an account that kept
        # access after its end of life, recorded as such an account records it.
        "TRYON_BACKEND": "nova-canvas", "MODEL_ID": "amazon.nova-canvas-v1:0",
        "MODEL_CATALOG_JSON": '{"amazon.nova-canvas-v1:0":{"stage":"ga","shutdown":null}}',
    }
    # An env file, not --env-var: cargo-lambda splits --env-var values on commas, and
    # ENABLED_BACKENDS is a comma-separated list.
    env_file = ROOT / "target" / "runtime-api.env"
    # Single quotes keep a JSON value literal in a dotenv file.
    env_file.write_text("".join(f"{k}='{v}'\n" if "{" in v else f"{k}={v}\n" for k, v in env.items()))
    watch_cmd = ["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(rt_port), "--bin", "tryon-lambda",
                 "--env-file", str(env_file)]
    watch_log = open(ROOT / "target" / "runtime-api-watch.log", "w+")
    watch = subprocess.Popen(watch_cmd, cwd=ROOT, env={**os.environ, "CARGO_TERM_COLOR": "never"}, stdout=watch_log, stderr=subprocess.STDOUT)
    try:
        wait_port(emu_port, 30, "tryon emulator")
        wait_port(rt_port, 120, "cargo lambda watch")

        def invoke(event_file):
            t = time.time()
            out = subprocess.run(
                ["cargo", "lambda", "invoke", "tryon-lambda", "-A", "127.0.0.1", "-P", str(rt_port),
                 "--data-file", str(ROOT / "events" / event_file)],  # an absolute path stays itself
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
        # Four jobs, each one paid call or one result-cache hit (they share the example's
        # request); the duplicate made neither.
        tally = []
        for job in ["demo", "summer sale/café 1", "queued", "bridged"]:
            d = json.loads(s3.get_object(Bucket=BUCKET, Key=f"outputs/{job}/status.json")["Body"].read())["diagnostics"]
            tally.append((d.get("modelCalls", 0), d.get("cacheHits", 0)))
        check("four jobs: one model call or cache hit each, the emulator got exactly the paid ones",
              all(p + h == 1 for p, h in tally) and len(calls) == sum(p for p, _ in tally) >= 1,
              f"{len(calls)} calls, (paid, hits) per job: {tally}")
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
        # An async event Lambda gave up on (too old), back through the overflow queue as
        # Lambda's invocation record: the job runs from it.
        out = invoke("sqs-overflow-record.json")
        ok = out.returncode == 0 and json.loads(out.stdout or "{}") == {"batchItemFailures": []}
        check("sqs-overflow-record.json: an invocation record from the overflow queue runs its job", ok,
              out.stdout + out.stderr[-300:])
        status = json.loads(s3.get_object(Bucket=BUCKET, Key="outputs/overflowed/status.json")["Body"].read())
        check("sqs-overflow-record.json: status.json succeeded", status["state"] == "succeeded", json.dumps(status)[:300])
        # S3 → SNS → Lambda, the topic subscribed straight to the function.
        out = invoke("sns-s3-put-job.json")
        ok = out.returncode == 0 and json.loads(out.stdout or "{}").get("records", [{}])[0].get("outcome") == "succeeded"
        check("sns-s3-put-job.json: an SNS notification delivered straight to the function runs its job", ok,
              out.stdout + out.stderr[-300:])
        status = json.loads(s3.get_object(Bucket=BUCKET, Key="outputs/fanned out/status.json")["Body"].read())
        check("sns-s3-put-job.json: status.json succeeded", status["state"] == "succeeded", json.dumps(status)[:300])
        # A notification whose key does not decode names no uploaded object: skipped, and
        # nothing is written under the outputs prefix.
        bad = json.loads((ROOT / "events" / "s3-put-job.json").read_text())
        bad["Records"][0]["s3"]["object"]["key"] = "uploads/%ZZ/job.json"
        bad_path = ROOT / "target" / "runtime-api-bad-key.json"
        bad_path.write_text(json.dumps(bad))
        out = invoke(str(bad_path))
        written = s3.list_objects_v2(Bucket=BUCKET, Prefix="outputs/%ZZ").get("Contents", [])
        ok = out.returncode == 0 and json.loads(out.stdout or "{}").get("records", [{}])[0].get("outcome") == "skipped" and not written
        check("a key that does not decode (%ZZ) is skipped and leaves no status.json", ok, out.stdout + str(written))
        # A manifest in the result cache's key space: skipped, and no status.json among the
        # cache's entries.
        s3.put_object(Bucket=BUCKET, Key="uploads/_cache/v1/nova-canvas/job.json", Body=(example / "job.json").read_bytes())
        reserved = subprocess.run([str(ROOT / "target/debug/tryon"), "event", BUCKET, "uploads/_cache/v1/nova-canvas/job.json"],
                                  capture_output=True, text=True, check=True).stdout
        reserved_path = ROOT / "target" / "runtime-api-reserved.json"
        reserved_path.write_text(reserved)
        out = invoke(str(reserved_path))
        record = json.loads(out.stdout or "{}").get("records", [{}])[0]
        stray = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="outputs/_cache/").get("Contents", [])
                 if o["Key"].endswith("status.json")]
        check("a manifest under the reserved job id _cache/… is skipped and writes nothing into the cache's key space",
              out.returncode == 0 and record.get("outcome") == "skipped" and not stray, out.stdout + str(stray))
        backends(s3, invoke, emu_port)
        batch_operations(s3, invoke, emu_port)
        completion_events(s3, sqs, queue_url, ["demo", "summer sale/café 1", "queued", "bridged", "overflowed"])
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


def backends(s3, invoke_events_file, emu_port):
    """Every backend through the built function: a job each, faults to stable codes, the
    Google token fetched once, refreshed when it expires, and a refused credential failing
    its job clearly while the next one works."""
    emu = f"http://127.0.0.1:{emu_port}"
    example = ROOT / "examples" / "hoodie"
    seq = iter(range(1000))

    def control(path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(emu + path, data=data, method="POST" if data is not None or path.endswith("expire") else "GET",
                                     headers={"content-type": "application/json"})
        return urllib.request.urlopen(req).read()

    def job(manifest):
        name = f"backend-{next(seq)}"
        for f in ["person.jpg", "hoodie.png"]:
            s3.put_object(Bucket=BUCKET, Key=f"uploads/{name}/{f}", Body=(example / f).read_bytes())
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{name}/job.json", Body=json.dumps(manifest).encode())
        event = subprocess.run([str(ROOT / "target/debug/tryon"), "event", BUCKET, f"uploads/{name}/job.json"],
                               capture_output=True, text=True, check=True).stdout
        path = ROOT / "target" / f"runtime-api-{name}.json"
        path.write_text(event)
        out = invoke_events_file(str(path))
        status = json.loads(s3.get_object(Bucket=BUCKET, Key=f"outputs/{name}/status.json")["Body"].read())
        keys = sorted(o["Key"].rsplit("/", 1)[1] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"outputs/{name}/").get("Contents", []))
        return out, status, keys

    def code(status):
        return (status.get("error") or {}).get("code")

    def sts_exchanges():
        calls = json.loads(control("/_emulator/calls"))
        return sum(1 for c in calls if c.get("backend") == "google-auth" and c.get("endpoint") == "sts" and c.get("status") == 200)

    base = {"source": "person.jpg", "garment": "hoodie.png"}
    for backend in ["vertex-vto", "gemini-image", "bedrock-converse"]:
        out, status, keys = job({**base, "backend": backend})
        d = status.get("diagnostics", {})
        check(f"{backend}: job succeeded", out.returncode == 0 and status["state"] == "succeeded", json.dumps(status)[:400])
        check(f"{backend}: outputs written", {"result.png", "sheet.jpg", "status.json"} <= set(keys), str(keys))
        check(f"{backend}: status names the backend and its model", d.get("backend") == backend and d.get("modelId"), json.dumps(d)[:300])
        if backend != "vertex-vto":
            check(f"{backend}: the instruction sent is recorded", bool(d.get("instruction")), json.dumps(d)[:300])
        # Every backend's result takes the prepared source's size, whatever size the model answered at.
        png = s3.get_object(Bucket=BUCKET, Key=status["outputs"]["images"][0])["Body"].read()
        size = (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
        prepared = d["images"]["source"]["prepared"]
        content = prepared.get("content") or prepared
        check(f"{backend}: result.png has the source's size", size == (content["width"], content["height"]),
              f"{size} vs {json.dumps(prepared)}")
    check("one token exchange served both Google jobs (cached across invocations)", sts_exchanges() == 1, str(sts_exchanges()))

    control("/_emulator/tokens/expire", {})
    out, status, _ = job({**base, "backend": "gemini-image"})
    check("an expired token is refreshed and the job succeeds", status["state"] == "succeeded" and sts_exchanges() == 2,
          f"{sts_exchanges()} exchanges, {json.dumps(status)[:300]}")

    control("/_emulator/tokens/expire", {})
    control("/_emulator/faults/google-auth", {"type": "refuse"})
    out, status, keys = job({**base, "backend": "vertex-vto"})
    outcome = json.loads(out.stdout or "{}").get("records", [{}])[0].get("outcome")
    check("a refused credential fails the job auth_failed, not the invocation",
          out.returncode == 0 and outcome == "failed" and code(status) == "auth_failed", out.stdout[:300] + json.dumps(status)[:300])
    check("the refused job wrote no result", "result.png" not in keys, str(keys))
    out, status, _ = job({**base, "backend": "vertex-vto"})
    check("the next Google job works (no crash loop)", status["state"] == "succeeded", json.dumps(status)[:300])

    faults = [
        ("vertex-vto", {"type": "filtered", "keep": 0}, "content_filtered"),
        ("vertex-vto", {"type": "invalidArgument", "message": "bad field"}, "model_rejected"),
        ("vertex-vto", {"type": "badBase64"}, "internal"),
        ("vertex-vto", {"type": "wrongMime"}, "internal"),
        ("vertex-vto", {"type": "emptyPredictions"}, "content_filtered"),
        ("vertex-vto", {"type": "oversizedImage"}, "internal"),
        ("gemini-image", {"type": "noImage"}, "no_image"),
        ("gemini-image", {"type": "promptBlocked"}, "content_filtered"),
        ("gemini-image", {"type": "textOnly", "text": "I can't help with that."}, "no_image"),
        ("gemini-image", {"type": "imageSafety"}, "content_filtered"),
        ("gemini-image", {"type": "thoughtImage"}, None),
        ("bedrock-converse", {"type": "accessDenied"}, "model_unavailable"),
        ("bedrock-converse", {"type": "contentFiltered"}, "content_filtered"),
    ]
    for backend, fault, want in faults:
        control(f"/_emulator/faults/{backend}", fault)
        out, status, keys = job({**base, "backend": backend})
        if want is None:
            check(f"{backend} {fault['type']}: succeeds", status["state"] == "succeeded", json.dumps(status)[:300])
        else:
            ok = status["state"] == "failed" and code(status) == want and "result.png" not in keys and out.returncode == 0
            check(f"{backend} {fault['type']}: failed {want}, nothing half-written", ok, json.dumps(status)[:300] + str(keys))

    # A transient failure: the client's retries run out (three 429s), the status says so as
    # retryable and the invocation fails so Lambda retries; the retry makes the call.
    control("/_emulator/faults/vertex-vto", [{"type": "resourceExhausted"}] * 3)
    out, status, keys = job({**base, "backend": "vertex-vto"})
    err = status.get("error") or {}
    check("vertex-vto throttled: retryable, the invocation fails for Lambda to retry",
          out.returncode != 0 and err.get("code") == "throttled" and err.get("retryable") is True and "result.png" not in keys,
          out.stdout[:200] + json.dumps(status)[:300])

    control("/_emulator/faults", {"type": "endOfLife"})
    out, status, _ = job({**base, "backend": "nova-canvas"})
    message = (status.get("error") or {}).get("message", "")
    check("Nova Canvas end of life: model_unavailable naming the date and the backends to switch to",
          code(status) == "model_unavailable" and "2026-09-30" in message and "vertex-vto" in message, message[:300])

    # A chain through the built function: Bedrock answers Nova Canvas' end of life, the job
    # moves on to bedrock-converse in the same invocation, both attempts recorded.
    control("/_emulator/retired", "amazon.nova-canvas-v1:0")
    out, status, keys = job({**base, "backend": ["nova-canvas", "bedrock-converse"]})
    walk = [(a.get("backend"), a.get("outcome"), a.get("code")) for a in status.get("diagnostics", {}).get("backendAttempts", [])]
    check("a chain moves on from a model gone end of life to the next backend, both attempts recorded",
          out.returncode == 0 and status["state"] == "succeeded" and "result.png" in keys
          and walk == [("nova-canvas", "moved-on", "model_unavailable"), ("bedrock-converse", "succeeded", None)],
          json.dumps(status)[:500])
    urllib.request.urlopen(urllib.request.Request(emu + "/_emulator/retired/amazon.nova-canvas-v1:0", method="DELETE"))

    out, status, keys = job({**base, "variants": [
        {"name": "nova"}, {"name": "vertex", "backend": "vertex-vto"},
        {"name": "gemini", "backend": "gemini-image"}, {"name": "omni", "backend": "bedrock-converse"}]})
    items = status.get("items", [])
    check("one job compares every backend as variants, each with its own cost",
          status["state"] == "succeeded" and len(items) == 4 and all(i.get("costUsd", 0) > 0 for i in items)
          and [i.get("backend") for i in items] == ["nova-canvas", "vertex-vto", "gemini-image", "bedrock-converse"],
          json.dumps(status)[:500])


def completion_queue(moto):
    """A bus with a rule on the function's source that targets a fresh SQS queue."""
    kw = dict(endpoint_url=moto, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    events, sqs = boto3.client("events", **kw), boto3.client("sqs", **kw)
    try:
        events.create_event_bus(Name=EVENT_BUS)
    except events.exceptions.ResourceAlreadyExistsException:
        pass
    url = sqs.create_queue(QueueName=EVENT_BUS)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["tryon-lambda"], "detail-type": ["Try-On Job Completed"]}
    events.put_rule(Name="tryon-done", EventBusName=EVENT_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="tryon-done", EventBusName=EVENT_BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return sqs, url


def completion_events(s3, sqs, queue_url, jobs):
    """The built function announced each job it finished on the bus EVENT_BUS_NAME names: one
    event per job once repeats are dropped by eventId, naming outputs that exist, and its
    status.json records the event published."""
    received = {}
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            break
        for m in messages:
            detail = json.loads(m["Body"])["detail"]
            received[detail["eventId"]] = detail
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    for job in jobs:
        status = json.loads(s3.get_object(Bucket=BUCKET, Key=f"outputs/{job}/status.json")["Body"].read())
        record = status.get("completionEvent") or {}
        detail = received.get(record.get("eventId"), {})
        check(f"{job}: completion event published and recorded",
              record.get("published") is True and detail.get("jobId") == job and detail.get("state") == status["state"],
              f"{record} {json.dumps(detail)[:200]}")
        keys = detail.get("outputs", {}).get("images", []) + [detail.get("outputs", {}).get("status")]
        present = all(s3.list_objects_v2(Bucket=BUCKET, Prefix=k).get("KeyCount", 0) > 0 for k in keys if k)
        check(f"{job}: the event's outputs exist", bool(detail) and present, str(keys))


def batch_operations(s3, invoke_events_file, emu_port):
    """S3 Batch Operations invocations through the built function: the sample events (schema
    1.0 and 2.0) for a job an S3 notification already ran answer from its status without a
    model call; a task for a new job runs it; a task for an image fails permanently."""
    def model_calls():
        return len(json.loads(urllib.request.urlopen(f"http://127.0.0.1:{emu_port}/_emulator/requests").read()))

    def answer(out):
        try:
            return json.loads(out.stdout or "{}")
        except ValueError:
            return {}

    def task_event(key, task_id):
        quoted = urllib.parse.quote(key, safe="/")
        return {"invocationSchemaVersion": "2.0", "invocationId": f"inv-{task_id}",
                "job": {"id": "runtime-api", "userArguments": {"reason": "runtime-api check"}},
                "tasks": [{"taskId": task_id, "s3Key": quoted, "s3VersionId": None, "s3Bucket": BUCKET}]}

    before = model_calls()
    for event_file, version in [("s3-batch-v1.json", "1.0"), ("s3-batch-v2.json", "2.0")]:
        out = invoke_events_file(event_file)
        sent = json.loads((ROOT / "events" / event_file).read_text())
        a = answer(out)
        results = a.get("results") or [{}]
        check(f"{event_file}: answers in the Batch Operations format",
              out.returncode == 0 and a.get("invocationSchemaVersion") == version
              and a.get("invocationId") == sent["invocationId"] and a.get("treatMissingKeysAs") == "PermanentFailure"
              and len(results) == 1 and results[0].get("taskId") == sent["tasks"][0]["taskId"], out.stdout + out.stderr[-300:])
        check(f"{event_file}: a job already finished answers Succeeded from its status",
              results[0].get("resultCode") == "Succeeded" and results[0].get("resultString") == "succeeded", out.stdout)
    check("the finished job's tasks made no model call", model_calls() == before, f"{before} -> {model_calls()}")

    example = ROOT / "examples" / "hoodie"
    job = "batch fresh/1"
    for f in ["person.jpg", "hoodie.png"]:
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{job}/{f}", Body=(example / f).read_bytes())
    s3.put_object(Bucket=BUCKET, Key=f"uploads/{job}/job.json", Body=(example / "job.json").read_bytes())
    cases = [("runtime-api-batch-new.json", f"uploads/{job}/job.json", "Succeeded", "succeeded"),
             ("runtime-api-batch-image.json", f"uploads/{job}/person.jpg", "PermanentFailure", "skipped: ")]
    for name, key, want_code, want_text in cases:
        path = ROOT / "target" / name
        path.write_text(json.dumps(task_event(key, name)))
        out = invoke_events_file(str(path))
        result = (answer(out).get("results") or [{}])[0]
        check(f"a task for {key}: {want_code} {want_text}",
              out.returncode == 0 and result.get("resultCode") == want_code
              and result.get("resultString", "").startswith(want_text), out.stdout + out.stderr[-300:])
    status = json.loads(s3.get_object(Bucket=BUCKET, Key=f"outputs/{job}/status.json")["Body"].read())
    # The example's request ran before: the result cache may answer it instead of the model.
    d = status.get("diagnostics", {})
    paid, hits = d.get("modelCalls", 0), d.get("cacheHits", 0)
    check("the task's new job ran once (one model call or one cache hit)",
          status["state"] == "succeeded" and paid + hits == 1 and model_calls() == before + paid,
          f"{model_calls() - before} calls, {paid} paid, {hits} hits, {json.dumps(status)[:300]}")


if __name__ == "__main__":
    main()
