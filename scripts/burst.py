#!/usr/bin/env python3
"""A burst of jobs through the built function, measured, beside `tryon capacity` for the same
settings: the check that the capacity model describes the real function (docs/capacity.md).

What runs: moto (S3), `tryon emulator --requests-per-minute R` (Bedrock's quota, answering
429 ThrottlingException over it, every admitted call held `--latency` seconds), and
`--concurrency` processes of the built `tryon-lambda` binary, each polling a Lambda runtime
API that this script serves. The script plays the trigger in wall-clock time, by the rules
the model follows: `async` (Lambda's queue: function errors retried after the two retry
delays, an event that finds no free process waits 1 s, 2 s, 4 s ... up to the throttle cap;
an event past its maximum age or out of retries moves to the overflow queue, whose mapping
delivers Lambda's invocation record of it and is throttled, losing a receive and a
visibility timeout, when every process is busy), `sqs` (visibility timeout, maxReceiveCount,
the mapping's maximum concurrency = the processes), or `batch-operations` (S3 Batch
Operations: one task per invocation, a task answered `TemporaryFailure` or finding no free
process retried after 1 s, 2 s, 4 s ... up to the throttle cap). The processes are the
function's reserved concurrency, shared by every trigger. Lambda's own waits are minutes;
they are scaled down by flags, and the model is given the same values.

Slow (minutes), so not part of CI. Usage:
  cargo build --workspace --bins
  scripts/burst.py --target /path/to/target/debug --jobs 300 --trigger all
"""
import argparse
import heapq
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "tryon-burst"
FUNCTION_TIMEOUT = 420


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
        time.sleep(0.1)
    sys.exit(f"{what} did not listen on {port} within {seconds} s")


def post_json(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.read()


def s3_event(key, etag):
    """The repository's sample notification, naming this bucket, key and ETag."""
    event = json.loads((ROOT / "events" / "s3-put-job.json").read_text())
    s3 = event["Records"][0]["s3"]
    s3["bucket"].update(name=BUCKET, arn=f"arn:aws:s3:::{BUCKET}")
    s3["object"].update(key=key, eTag=etag)
    return event


def invocation_record(event, condition):
    """What Lambda sends to the on-failure destination (here the overflow queue)."""
    return {"version": "1.0", "timestamp": "2026-12-02T10:00:00.000Z",
            "requestContext": {"requestId": "burst", "condition": condition, "approximateInvokeCount": 3,
                               "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:tryon:$LATEST"},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "throttled"}}


def batch_event(key, task_id):
    """An S3 Batch Operations invocation (schema 2.0) of one task."""
    return {"invocationSchemaVersion": "2.0", "invocationId": "burst-invocation", "job": {"id": "burst-job",
            "userArguments": {}}, "tasks": [{"taskId": task_id, "s3Bucket": BUCKET, "s3Key": key,
                                            "s3VersionId": None}]}


def sqs_event(key, etag, message_id, receives, body=None):
    return {"Records": [{
        "attributes": {"ApproximateReceiveCount": str(receives)}, "awsRegion": "us-east-1",
        "body": json.dumps(body or s3_event(key, etag)), "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tryon-jobs",
        "messageAttributes": {}, "messageId": message_id, "receiptHandle": "burst",
    }]}


class Trigger:
    """The trigger's rules in wall-clock time; the runtime API's handlers call into it."""

    def __init__(self, mode, jobs, args):
        self.mode, self.args = mode, args
        self.lock = threading.Condition()
        self.heap = []  # (ready at, seq, job index)
        self.seq = 0
        self.idle = []  # runtime API requests waiting for an invocation: [event or None]
        self.running = {}  # request id -> (job, started)
        # via: "async", "sqs" (the buffer or the overflow queue) or "batch".
        via = {"async": "async", "sqs": "sqs", "batch-operations": "batch"}[mode]
        self.jobs = [{"key": k, "etag": e, "attempts": 0, "throttles": 0, "receives": 0, "via": via,
                      "record": None, "left": False, "done": None} for k, e in jobs]
        self.sqs_running = 0
        self.t0 = time.monotonic()
        self.counts = {"invocations": 0, "function_throttles": 0, "dead_lettered": 0, "expired": 0,
                       "overflowed": 0}
        self.durations = []
        for i in range(len(self.jobs)):
            self.push(0.0, i)

    def now(self):
        return time.monotonic() - self.t0

    def push(self, at, job):
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, job))

    def leave(self, job):
        self.jobs[job]["left"] = True
        self.jobs[job]["done"] = self.now()

    def pending(self):
        return any(not j["left"] for j in self.jobs)

    def next_invocation(self):
        """Blocks until the trigger hands this process an invocation: (request id, payload)."""
        slot = [None]
        with self.lock:
            self.idle.append(slot)
            self.lock.notify_all()
            while slot[0] is None:
                self.lock.wait(0.5)
            return slot[0]

    def dispatch_forever(self):
        while True:
            with self.lock:
                now = self.now()
                while self.heap and self.heap[0][0] <= now:
                    _, _, job = heapq.heappop(self.heap)
                    self.deliver(job, now)
                self.lock.wait(0.01)

    def deliver(self, job, now):
        a, j = self.args, self.jobs[job]
        if j["via"] == "async":
            if now > a.max_event_age:
                self.counts["expired"] += 1
                self.overflow(job, now, "EventAgeExceeded")
                return
            if self.full():
                self.counts["function_throttles"] += 1
                self.backoff(job, now)
                return
            if not self.idle:  # a process is between invocations
                self.push(now + 0.01, job)
                return
            payload = s3_event(j["key"], j["etag"])
        elif j["via"] == "batch":
            if not self.full() and not self.idle:
                self.push(now + 0.01, job)
                return
            j["receives"] += 1
            if self.full():
                self.counts["function_throttles"] += 1
                self.backoff(job, now)
                return
            payload = batch_event(j["key"], f"t-{job}")
        else:
            # The mapping receives only when it has room (and a process is between invocations).
            if self.sqs_running >= a.concurrency or (not self.full() and not self.idle):
                self.push(now + 0.01, job)
                return
            if j["receives"] >= a.max_receive_count:
                self.counts["dead_lettered"] += 1
                self.leave(job)
                return
            j["receives"] += 1
            if self.full():  # Lambda throttles the mapping: the receive counted
                self.counts["function_throttles"] += 1
                self.push(now + a.visibility_timeout, job)
                return
            self.sqs_running += 1
            payload = sqs_event(j["key"], j["etag"], f"m-{job}", j["receives"], j["record"])
        rid = f"{job}-{self.counts['invocations']}"
        self.counts["invocations"] += 1
        self.running[rid] = (job, time.monotonic())
        self.idle.pop(0)[0] = (rid, payload)
        self.lock.notify_all()

    def full(self):
        """Every execution of the reserved concurrency is running an invocation."""
        return len(self.running) >= self.args.concurrency

    def backoff(self, job, now):
        """Lambda's async throttle backoff, also assumed for S3 Batch Operations' retries."""
        j = self.jobs[job]
        j["throttles"] += 1
        nominal = min(2 ** (j["throttles"] - 1), self.args.throttle_backoff_max)
        self.push(now + nominal * (1 - 0.5 * random.random()), job)

    def overflow(self, job, now, condition):
        """The on-failure destination: the overflow queue, consumed like the SQS buffer."""
        j = self.jobs[job]
        self.counts["overflowed"] += 1
        j["via"], j["receives"] = "sqs", 0
        j["record"] = invocation_record(s3_event(j["key"], j["etag"]), condition)
        self.push(now, job)

    def finished(self, rid, ok):
        with self.lock:
            job, started = self.running.pop(rid)
            self.durations.append(time.monotonic() - started)
            j, a, now = self.jobs[job], self.args, self.now()
            if j["via"] == "async":
                if ok:
                    self.leave(job)
                elif j["attempts"] < 2:
                    j["attempts"] += 1
                    self.push(now + a.retry_delays[j["attempts"] - 1], job)
                else:
                    self.overflow(job, now, "RetriesExhausted")
            elif j["via"] == "batch":
                if ok:
                    self.leave(job)
                else:
                    self.backoff(job, now)
            else:
                self.sqs_running -= 1
                if ok:
                    self.leave(job)
                else:
                    self.push(max(now, started - self.t0 + a.visibility_timeout), job)
            self.lock.notify_all()


def runtime_api(trigger):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def reply(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            rid, payload = trigger.next_invocation()
            deadline = int((time.time() + FUNCTION_TIMEOUT) * 1000)
            self.reply(200, json.dumps(payload).encode(), [
                ("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:tryon"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ("content-type", "application/json")])

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            m = re.match(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)$", self.path)
            if not m:
                self.reply(202)
                return
            ok = m.group(2) == "response"
            answer = json.loads(body or b"{}") if ok else {}
            if ok and "batchItemFailures" in answer:
                ok = not answer["batchItemFailures"]
            if ok and "results" in answer:  # Batch Operations: TemporaryFailure is retried
                ok = answer["results"][0]["resultCode"] != "TemporaryFailure"
            self.reply(202)
            trigger.finished(m.group(1), ok)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(mode, args, target, moto_url, tmp):
    """One burst: fresh moto bucket and emulator; returns the measured figures."""
    post_json(f"{moto_url}/moto-api/reset", {})
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket=BUCKET)
    folder = ROOT / "examples" / "hoodie"
    files = {n: (folder / n).read_bytes() for n in ("person.jpg", "hoodie.png")}
    manifest = json.loads((folder / "job.json").read_text())
    manifest["imageGenerationConfig"]["quality"] = "standard"
    jobs = []
    for i in range(args.jobs):
        prefix = f"uploads/job-{i:04d}/"
        for name, data in files.items():
            s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=data)
        etag = s3.put_object(Bucket=BUCKET, Key=prefix + "job.json", Body=json.dumps(manifest).encode())["ETag"]
        jobs.append((prefix + "job.json", etag))

    emu_port = free_port()
    emu = subprocess.Popen([str(target / "tryon"), "emulator", "--port", str(emu_port),
                            "--requests-per-minute", str(args.requests_per_minute)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(emu_port, 30, "tryon emulator")
    emu_url = f"http://127.0.0.1:{emu_port}"
    # Every call, admitted or refused, takes one queued fault: enough delays for all.
    post_json(f"{emu_url}/_emulator/faults", [{"type": "delay", "ms": int(args.latency * 1000)}] * (args.jobs * 30))

    trigger = Trigger(mode, jobs, args)
    api = runtime_api(trigger)
    env = dict(os.environ, **{
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "tryon", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_GROUP_NAME": "burst",
        "AWS_LAMBDA_LOG_STREAM_NAME": "burst", "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_url, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emu_url,
        "S3_FORCE_PATH_STYLE": "true", "EMIT_METRICS": "false", "RUST_LOG": "warn",
        "AWS_LAMBDA_LOG_FORMAT": "JSON", "MAX_ATTEMPTS": "3",
        "THROTTLE_WAIT_SECONDS": str(int(args.throttle_wait)),
    })
    logs = open(Path(tmp) / f"function-{mode}.log", "w")
    workers = [subprocess.Popen([str(target / "tryon-lambda")], env=env, stdout=logs, stderr=logs)
               for _ in range(args.concurrency)]
    threading.Thread(target=trigger.dispatch_forever, daemon=True).start()
    started = time.monotonic()
    try:
        while True:
            with trigger.lock:
                if not trigger.pending() and not trigger.running:
                    break
            if time.monotonic() - started > args.max_wall:
                sys.exit(f"{mode}: not drained after {args.max_wall} s")
            time.sleep(0.2)
    finally:
        for w in workers:
            w.kill()
        with urllib.request.urlopen(f"{emu_url}/_emulator/requests") as r:
            calls = json.loads(r.read())
        emu.kill()
        api.shutdown()

    states, times = {"succeeded": 0, "failed": 0, "none": 0}, []
    for i, (key, _) in enumerate(jobs):
        try:
            obj = s3.get_object(Bucket=BUCKET, Key=f"outputs/job-{i:04d}/status.json")
            state = json.loads(obj["Body"].read()).get("state")
        except s3.exceptions.NoSuchKey:
            state = None
        bucket = state if state in ("succeeded", "failed") else "none"
        states[bucket] += 1
        if bucket == "succeeded":
            times.append(trigger.jobs[i]["done"])
    times.sort()
    pick = lambda q: times[max(1, min(len(times), int(-(-len(times) * q // 1)))) - 1] if times else 0.0
    statuses = [c.get("status") for c in calls if c.get("modelId", "").startswith("amazon.nova-canvas")]
    drain = max(j["done"] for j in trigger.jobs)
    return {
        "succeeded": states["succeeded"], "failed (recorded)": states["failed"],
        "no outcome recorded": states["none"], "dead-lettered": trigger.counts["dead_lettered"],
        "past max age or retention": trigger.counts["expired"],
        "moved to the overflow queue": trigger.counts["overflowed"],
        "paid model calls": sum(1 for s in statuses if s == 200),
        "throttled model calls (429)": sum(1 for s in statuses if s == 429),
        "function throttles": trigger.counts["function_throttles"],
        "invocations": trigger.counts["invocations"],
        "drain time": drain, "p50 upload → result": pick(0.5), "p99 upload → result": pick(0.99),
        "GB-seconds": sum(trigger.durations) * 256 / 1024,
        "_median_invocation": sorted(trigger.durations)[len(trigger.durations) // 2],
    }


def simulate(mode, args, target, prepare, record):
    flags = ["--jobs", str(args.jobs), "--trigger", mode, "--requests-per-minute", str(args.requests_per_minute),
             "--latency-median", str(args.latency), "--latency-p99", str(args.latency),
             "--prepare-seconds", f"{prepare:.3f}", "--record-seconds", f"{record:.3f}",
             "--throttle-reply", "0.01", "--function-concurrency", str(args.concurrency),
             "--max-concurrency", str(args.concurrency), "--visibility-timeout", str(args.visibility_timeout),
             "--max-receive-count", str(args.max_receive_count),
             "--async-retry-delays", ",".join(str(d) for d in args.retry_delays),
             "--async-throttle-backoff-max", str(args.throttle_backoff_max),
             "--async-max-event-age", str(args.max_event_age), "--throttle-wait", str(args.throttle_wait),
             "--batch-backoff-max", str(args.throttle_backoff_max)]  # every task tried at once, as here
    out = subprocess.run([str(target / "tryon"), "capacity", *flags], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0] and not cells[0].startswith("-"):
            rows[cells[0]] = cells[1]
    return rows, "tryon capacity " + " ".join(flags)


def seconds(text):
    value, unit = text.split()
    return float(value) * {"s": 1, "min": 60, "h": 3600}[unit]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", type=Path, default=ROOT / "target" / "debug", help="folder with tryon and tryon-lambda")
    p.add_argument("--jobs", type=int, default=300)
    p.add_argument("--trigger", choices=["async", "sqs", "batch-operations", "all"], default="all")
    p.add_argument("--concurrency", type=int, default=8, help="function processes (= the mapping's maximum concurrency)")
    p.add_argument("--requests-per-minute", type=float, default=120)
    p.add_argument("--latency", type=float, default=1.0, help="seconds each admitted model call takes")
    p.add_argument("--visibility-timeout", type=float, default=15)
    p.add_argument("--max-receive-count", type=int, default=100)
    p.add_argument("--throttle-wait", type=float, default=300.0, help="THROTTLE_WAIT_SECONDS (not scaled)")
    p.add_argument("--retry-delays", type=float, nargs=2, default=[6.0, 12.0], help="Lambda's 60 s and 120 s, scaled")
    p.add_argument("--throttle-backoff-max", type=float, default=30.0, help="Lambda's 300 s, scaled")
    p.add_argument("--max-event-age", type=float, default=90.0, help="the template's 900 s, scaled")
    p.add_argument("--max-wall", type=float, default=1800.0)
    p.add_argument("--moto", default=None, help="a running moto server's URL (default: start one)")
    args = p.parse_args()

    moto_proc = None
    moto_url = args.moto
    if not moto_url:
        port = free_port()
        moto_proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, 30, "moto_server")
        moto_url = f"http://127.0.0.1:{port}"
    modes = ["async", "sqs", "batch-operations"] if args.trigger == "all" else [args.trigger]
    try:
        tmp = tempfile.mkdtemp(prefix="burst-")
        print(f"function logs in {tmp}")
        for mode in modes:
            t = time.monotonic()
            measured = measure(mode, args, args.target, moto_url, tmp)
            # What the function spends besides the model call, split 3:1 before and after it.
            overhead = max(0.0, measured.pop("_median_invocation") - args.latency)
            simulated, command = simulate(mode, args, args.target, overhead * 0.75, overhead * 0.25)
            print(f"\n### {mode}: {args.jobs} jobs, {args.concurrency} processes, "
                  f"{args.requests_per_minute}/min, {args.latency} s per call "
                  f"(measured in {time.monotonic() - t:.0f} s)\n")
            print(f"`{command}`\n")
            print("| | measured | simulated |\n|---|---:|---:|")
            for name, value in measured.items():
                sim = simulated.get(name, "")
                if isinstance(value, float):
                    value = f"{value:.1f} s" if name != "GB-seconds" else f"{value:.0f}"
                    if sim and name != "GB-seconds":
                        sim = f"{seconds(sim):.1f} s"
                print(f"| {name} | {value} | {sim} |")
            sys.stdout.flush()
    finally:
        if moto_proc:
            moto_proc.kill()


if __name__ == "__main__":
    main()
