//! The event loop. Virtual time in seconds; events in a min-heap ordered by time, then by
//! the order they were scheduled, so a seed always gives the same run.
//!
//! A job's life: uploaded → delivered (Lambda's async queue, an SQS receive, or an S3 Batch
//! Operations task) → one invocation: claim (`status.attempts` + 1), prepare, the model call
//! with the SDK's attempts against the quota, sent again after throttles while
//! `THROTTLE_WAIT_SECONDS` and the call's bound allow, record → the invocation succeeds, or
//! fails with a transient error (throttled, model timeout) so the trigger retries it. The
//! invocation that reaches `MAX_ATTEMPTS` records `failed` unless it was only throttled
//! (`JobError::final_after`). An async event that runs out of retries or age moves to the
//! overflow queue, which the function consumes like the SQS buffer. A delivery of a job
//! already ended is a duplicate and succeeds at once.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::params::{Params, Trigger};
use super::report::Figures;
use super::rng::Rng;
use tryon_emulators::TokenBucket;

/// How long a duplicate delivery takes: one status read.
const DUPLICATE_SECONDS: f64 = 0.05;
/// `quota_wait::RESEND_WINDOW`: a throttled call is not sent again with less time than this left.
const RESEND_WINDOW: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Ok,
    Failed,
    Throttled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    None,
    Processing,
    Succeeded,
    Failed,
}

struct Job {
    uploaded: f64,
    /// `status.attempts`: invocations that claimed the job.
    attempts: u32,
    recorded: Recorded,
    recorded_at: f64,
    /// Invocations of this job running now (a second one sees the lease and skips).
    running: u32,
    /// Async: function-error retries used, throttles met.
    retries: u32,
    throttles: u32,
    /// SQS: receives so far. Batch Operations: task attempts so far.
    receives: u32,
    /// The event or message has left the system (deleted, dead-lettered, dropped).
    left: bool,
}

/// Who started an invocation, and so who retries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Async,
    /// The SQS buffer, or the overflow queue (counts against the mapping's concurrency).
    Sqs,
    Batch,
}

struct Invocation {
    job: usize,
    start: f64,
    deadline: f64,
    /// The invocation claimed the job (not a duplicate).
    claimed: bool,
    /// When the model call started and when it must end (set when it starts).
    call_started: Option<f64>,
    call_deadline: f64,
    /// SDK attempts of the current send, and sends after throttles so far.
    sdk_attempt: u32,
    resends: u32,
    via: Via,
}

/// What happens to a job (`id` a job) or an invocation (`id` an invocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Upload,
    /// Lambda's async queue hands the event to the function (first time or a retry).
    AsyncDeliver,
    /// The message becomes visible in the queue again.
    SqsVisible,
    /// S3 Batch Operations tries the task (again).
    BatchTry,
    /// The model call's next SDK attempt (the first one comes after preparation).
    ModelAttempt,
    /// The invocation ends: `Ok`, a transient failure, or `throttled`.
    EndOk,
    EndFailed,
    EndThrottled,
}

/// 16 bytes, compared as integers: the heap's speed is the model's speed.
#[derive(PartialEq, Eq)]
struct Scheduled {
    /// The time's bits: times are never negative, so their bits order as the times do.
    at: u64,
    /// Ties go to the lower job or invocation, so a seed always gives the same run.
    id: u32,
    event: Event,
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed: the heap pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.id, other.event).cmp(&(self.at, self.id, self.event))
    }
}

struct Sim<'p> {
    p: &'p Params,
    now: f64,
    heap: BinaryHeap<Scheduled>,
    rng: Rng,
    quota: TokenBucket,
    jobs: Vec<Job>,
    invocations: Vec<Invocation>,
    /// Executions running now.
    running: u64,
    /// Of which started by the SQS event source mapping, and by S3 Batch Operations.
    sqs_running: u64,
    batch_running: u64,
    /// Visible messages, oldest first.
    visible: VecDeque<usize>,
    /// Batch Operations tasks ready to run, in manifest order.
    tasks: VecDeque<usize>,
    f: Figures,
}

/// Runs the burst `p` describes to the end: every job's event has left the system.
pub fn simulate(p: &Params) -> Figures {
    let mut sim = Sim {
        p,
        now: 0.0,
        heap: BinaryHeap::new(),
        rng: Rng::new(p.seed),
        quota: TokenBucket::new(p.quota_per_minute, p.quota_burst),
        jobs: Vec::with_capacity(p.jobs as usize),
        invocations: Vec::new(),
        running: 0,
        sqs_running: 0,
        batch_running: 0,
        visible: VecDeque::new(),
        tasks: VecDeque::new(),
        f: Figures::new(p),
    };
    for i in 0..p.jobs as usize {
        let at = if p.jobs > 1 { p.upload_window * i as f64 / (p.jobs - 1) as f64 } else { 0.0 };
        sim.jobs.push(Job {
            uploaded: at,
            attempts: 0,
            recorded: Recorded::None,
            recorded_at: 0.0,
            running: 0,
            retries: 0,
            throttles: 0,
            receives: 0,
            left: false,
        });
        sim.at(at, i, Event::Upload);
    }
    while let Some(s) = sim.heap.pop() {
        sim.now = f64::from_bits(s.at);
        sim.handle(s.id as usize, s.event);
    }
    sim.finish()
}

impl Sim<'_> {
    fn at(&mut self, at: f64, id: usize, event: Event) {
        let id = u32::try_from(id).expect("fewer than 2³² jobs and invocations");
        self.heap.push(Scheduled { at: at.max(0.0).to_bits(), id, event });
    }

    fn handle(&mut self, id: usize, event: Event) {
        match event {
            Event::Upload => match self.p.trigger {
                Trigger::Async => self.async_deliver(id),
                Trigger::Sqs => self.sqs_visible(id),
                Trigger::BatchOperations => self.batch_ready(id),
            },
            Event::AsyncDeliver => self.async_deliver(id),
            Event::SqsVisible => self.sqs_visible(id),
            Event::BatchTry => self.batch_ready(id),
            Event::ModelAttempt => self.model_attempt(id),
            Event::EndOk => self.end(id, Ended::Ok),
            Event::EndFailed => self.end(id, Ended::Failed),
            Event::EndThrottled => self.end(id, Ended::Throttled),
        }
    }

    // ---- Lambda's asynchronous queue ----

    /// An event too old goes to the on-failure destination; a throttled one waits 1 s, 2 s,
    /// 4 s, ... up to the cap; otherwise the function runs it.
    fn async_deliver(&mut self, job: usize) {
        if self.now - self.jobs[job].uploaded > self.p.async_max_event_age {
            self.f.expired += 1;
            self.async_give_up(job);
            return;
        }
        if self.running >= self.p.function_concurrency {
            self.f.function_throttles += 1;
            let j = &mut self.jobs[job];
            j.throttles += 1;
            let nominal = 2f64.powi(j.throttles as i32 - 1).min(self.p.async_throttle_backoff_max);
            let wait = nominal * (1.0 - self.p.async_throttle_jitter * self.rng.uniform());
            self.at(self.now + wait, job, Event::AsyncDeliver);
            return;
        }
        self.invoke(job, Via::Async);
    }

    /// Lambda sends the event to the on-failure destination: the overflow queue, which the
    /// function consumes, or (without it) a dead end.
    fn async_give_up(&mut self, job: usize) {
        if self.p.async_overflow {
            self.f.overflowed += 1;
            self.sqs_visible(job);
        } else {
            self.f.dead_lettered += 1;
            self.leave(job);
        }
    }

    // ---- S3 Batch Operations ----

    /// A task is ready: Batch Operations runs ready tasks while it has room. A task Lambda
    /// throttles is retried after a backoff, like one answered `TemporaryFailure`.
    fn batch_ready(&mut self, job: usize) {
        self.tasks.push_back(job);
        self.batch_dispatch();
    }

    fn batch_dispatch(&mut self) {
        while self.batch_running < self.p.batch_concurrency {
            let Some(job) = self.tasks.pop_front() else { return };
            self.jobs[job].receives += 1;
            if self.running >= self.p.function_concurrency {
                self.f.function_throttles += 1;
                self.batch_retry(job);
                continue;
            }
            self.invoke(job, Via::Batch);
        }
    }

    /// Tries the task again after its backoff, unless its attempts ran out.
    fn batch_retry(&mut self, job: usize) {
        let tries = self.jobs[job].receives;
        if self.p.batch_max_attempts > 0 && tries >= self.p.batch_max_attempts {
            self.f.dead_lettered += 1;
            self.leave(job);
            return;
        }
        let nominal = 2f64.powi(tries as i32 - 1).min(self.p.batch_backoff_max);
        let wait = nominal * (1.0 - self.p.async_throttle_jitter * self.rng.uniform());
        self.at(self.now + wait, job, Event::BatchTry);
    }

    // ---- SQS and its event source mapping ----

    fn sqs_visible(&mut self, job: usize) {
        self.visible.push_back(job);
        self.sqs_poll();
    }

    /// While the mapping has room, receive visible messages (batch size 1). A message past
    /// `maxReceiveCount` moves to the DLQ on the receive that would exceed it; one past the
    /// retention period is deleted.
    fn sqs_poll(&mut self) {
        while self.sqs_running < self.p.sqs_max_concurrency {
            let Some(job) = self.visible.pop_front() else { return };
            if self.now - self.jobs[job].uploaded > self.p.sqs_retention {
                self.f.expired += 1;
                self.leave(job);
                continue;
            }
            if self.jobs[job].receives >= self.p.sqs_max_receive_count {
                self.f.dead_lettered += 1;
                self.leave(job);
                continue;
            }
            self.jobs[job].receives += 1;
            if self.running >= self.p.function_concurrency {
                // The function refused the invocation: the message stays invisible until
                // its visibility timeout ends, and the receive counted.
                self.f.function_throttles += 1;
                self.at(self.now + self.p.sqs_visibility_timeout, job, Event::SqsVisible);
                continue;
            }
            self.invoke(job, Via::Sqs);
        }
    }

    // ---- The function ----

    fn invoke(&mut self, job: usize, via: Via) {
        self.running += 1;
        match via {
            Via::Sqs => self.sqs_running += 1,
            Via::Batch => self.batch_running += 1,
            Via::Async => {}
        }
        self.f.invocations += 1;
        self.f.peak_concurrency = self.f.peak_concurrency.max(self.running);
        let inv = self.invocations.len();
        self.invocations.push(Invocation {
            job,
            start: self.now,
            deadline: self.now + self.p.function_timeout,
            claimed: false,
            call_started: None,
            call_deadline: 0.0,
            sdk_attempt: 0,
            resends: 0,
            via,
        });
        let j = &mut self.jobs[job];
        let ended = matches!(j.recorded, Recorded::Succeeded | Recorded::Failed);
        if ended || j.running > 0 {
            // The claim finds the job ended, or leased by a running invocation.
            self.at(self.now + DUPLICATE_SECONDS, inv, Event::EndOk);
            return;
        }
        j.running += 1;
        j.attempts += 1;
        j.recorded = Recorded::Processing;
        self.invocations[inv].claimed = true;
        self.at(self.now + self.p.prepare_seconds, inv, Event::ModelAttempt);
    }

    /// One SDK attempt: admitted by the quota (paid; the reply comes after the model's
    /// latency, unless the call's deadline comes first), or refused with a 429 the SDK retries
    /// after its backoff while attempts and time remain; when they are spent, the function
    /// sends the call again (`quota_wait`) or reports `throttled`.
    fn model_attempt(&mut self, inv: usize) {
        let p = self.p;
        let now = self.now;
        let i = &mut self.invocations[inv];
        if i.call_started.is_none() {
            i.call_started = Some(now);
            i.call_deadline = (now + p.model_timeout).min(i.deadline - p.deadline_reserve).max(now);
        }
        i.sdk_attempt += 1;
        let (attempt, call_deadline) = (i.sdk_attempt, i.call_deadline);
        if self.quota.try_take(now) {
            self.f.paid_calls += 1;
            let latency = self.rng.log_normal(p.latency_median, p.latency_p99);
            if now + latency <= call_deadline {
                self.at(now + latency + p.record_seconds, inv, Event::EndOk);
            } else {
                self.f.model_timeouts += 1;
                self.at(call_deadline + p.record_seconds, inv, Event::EndFailed);
            }
            return;
        }
        self.f.throttled_calls += 1;
        let replied = now + p.throttle_reply_seconds;
        if attempt >= p.sdk_attempts {
            self.resend_after_throttles(inv, replied);
            return;
        }
        let cap = (p.sdk_initial_backoff * 2f64.powi(attempt as i32 - 1)).min(p.sdk_max_backoff);
        let next = replied + cap * self.rng.uniform();
        if next >= call_deadline {
            self.f.model_timeouts += 1;
            self.at(call_deadline.max(replied) + p.record_seconds, inv, Event::EndFailed);
        } else {
            self.at(next, inv, Event::ModelAttempt);
        }
    }

    /// Every SDK attempt was throttled: wait a full-jitter backoff and send again, while
    /// `throttle_wait` has not passed and the resend keeps `RESEND_WINDOW` of its bound (`quota_wait::call`).
    fn resend_after_throttles(&mut self, inv: usize, replied: f64) {
        let p = self.p;
        let unit = self.rng.uniform();
        let i = &mut self.invocations[inv];
        let started = i.call_started.unwrap_or(replied);
        let room = (started + p.throttle_wait).min(i.call_deadline - RESEND_WINDOW) - replied;
        if p.throttle_wait <= 0.0 || room <= 0.0 {
            self.at(replied + p.record_seconds, inv, Event::EndThrottled);
            return;
        }
        i.resends += 1;
        i.sdk_attempt = 0;
        let cap = (p.throttle_backoff_first * 2f64.powi(i.resends as i32 - 1)).min(p.throttle_backoff_max);
        self.f.throttle_waits += 1;
        self.at(replied + (cap * unit).min(room), inv, Event::ModelAttempt);
    }

    /// The invocation ends: its status is recorded (`throttled` is never final), then the
    /// trigger that started it deletes the event or retries it by its own rules.
    fn end(&mut self, inv: usize, ended: Ended) {
        let (job, start, via, claimed) = {
            let i = &self.invocations[inv];
            (i.job, i.start, i.via, i.claimed)
        };
        self.running -= 1;
        match via {
            Via::Sqs => self.sqs_running -= 1,
            Via::Batch => self.batch_running -= 1,
            Via::Async => {}
        }
        self.f.gb_seconds += (self.now - start) * self.p.memory_mb / 1024.0;
        let max_attempts = self.p.max_attempts;
        let j = &mut self.jobs[job];
        if claimed {
            j.running -= 1;
            j.recorded = match ended {
                Ended::Ok => Recorded::Succeeded,
                Ended::Failed if j.attempts >= max_attempts => Recorded::Failed,
                Ended::Failed | Ended::Throttled => Recorded::Processing,
            };
            if matches!(j.recorded, Recorded::Succeeded | Recorded::Failed) {
                j.recorded_at = self.now;
            }
        }
        let ok = ended == Ended::Ok;
        match via {
            Via::Async => self.async_end(job, ok),
            Via::Sqs => {
                if ok {
                    self.leave(job);
                } else {
                    let visible_at = (start + self.p.sqs_visibility_timeout).max(self.now);
                    self.at(visible_at, job, Event::SqsVisible);
                }
                self.sqs_poll();
            }
            Via::Batch => {
                // Succeeded, or PermanentFailure for a job recorded `failed`; else
                // TemporaryFailure, which Batch Operations retries.
                if ok || self.jobs[job].recorded == Recorded::Failed {
                    self.leave(job);
                } else {
                    self.batch_retry(job);
                }
                self.batch_dispatch();
            }
        }
    }

    fn async_end(&mut self, job: usize, ok: bool) {
        if ok {
            self.leave(job);
        } else if self.jobs[job].retries < self.p.async_retry_attempts {
            let delay = self.p.async_retry_delays[self.jobs[job].retries as usize];
            self.jobs[job].retries += 1;
            self.at(self.now + delay, job, Event::AsyncDeliver);
        } else {
            self.async_give_up(job);
        }
    }

    fn leave(&mut self, job: usize) {
        let j = &mut self.jobs[job];
        assert!(!j.left, "job {job} left the system twice");
        j.left = true;
        self.f.drain_seconds = self.f.drain_seconds.max(self.now);
    }

    fn finish(mut self) -> Figures {
        let mut times = Vec::new();
        for j in &self.jobs {
            debug_assert!(j.left, "every event leaves the system");
            match j.recorded {
                Recorded::Succeeded => {
                    self.f.succeeded += 1;
                    times.push(j.recorded_at - j.uploaded);
                }
                Recorded::Failed => self.f.failed += 1,
                Recorded::None | Recorded::Processing => self.f.unrecorded += 1,
            }
        }
        self.f.left = self.jobs.iter().filter(|j| j.left).count() as u64;
        times.sort_by(f64::total_cmp);
        self.f.set_times(&times);
        self.f.price(self.p);
        self.f
    }
}
