//! The one pipeline every job shape runs: a plain manifest is one call written at the job's
//! root keys, `variants` are independent calls on the same source run a few at a time,
//! `garments` are steps in order, each on the previous result. The source is read and
//! prepared once; the whole job's estimated cost is recorded before the first call; each
//! call's outcome is checkpointed in `status.json` as it ends, so a retry of any shape calls
//! only what has no images yet.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures_util::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::backends;
use crate::core::backend::{Backend, Canvas};
use crate::core::catalog::Date;
use crate::core::error::{ErrorCode, JobError};
use crate::core::image::{self as images, Prepared};
use crate::core::manifest::JobSpec;
use crate::core::sheet::{self, Tile};
use crate::core::status::{
    self, stage, AttemptOutcome, BackendAttempt, CacheRecord, CacheUse, Diagnostics, ItemStatus, Outputs, State,
    Status, StatusError, Warning,
};
use crate::pipeline::plan::{Item, JobPlan};

use super::call::{CallFailure, CallResult, CallSite};
use super::claim::{Checkpoint, Stop};
use super::conclude::{tile_of_png, Calls};
use super::keys::{CallPlace, JobPaths};
use super::measure::{image_diag, ms, round_cents};
use super::objects::blocking;
use super::service::Service;
use super::share::{check_reply_fits, concurrent_calls, room};

/// The shape of a job's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single,
    Variants,
    Outfit,
}

/// What every call of a job shares.
struct Job<'a> {
    paths: &'a JobPaths,
    bucket: &'a str,
    deadline: Instant,
    shape: Shape,
    items: Vec<Item>,
    /// What every backend the job may still call accepts (each item's current one and those
    /// after it in its chain): the source is prepared once for all, so a fallback needs no
    /// second decode.
    canvas: Canvas,
    today: Date,
}

impl Job<'_> {
    fn canvas(&self) -> Canvas {
        self.canvas
    }

    fn place(&self, i: usize) -> CallPlace<'_> {
        match self.shape {
            Shape::Single => CallPlace::Root,
            Shape::Variants => CallPlace::Variant(&self.items[i].name),
            Shape::Outfit => CallPlace::Step(i + 1),
        }
    }
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    pub(crate) async fn run_plan(
        &self,
        paths: &JobPaths,
        plan: JobPlan,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        deadline: Instant,
    ) -> Result<(), Stop> {
        let (shape, items) = match plan {
            JobPlan::Single(spec) => (Shape::Single, vec![Item { name: "result".into(), spec: *spec }]),
            JobPlan::Variants(items) => (Shape::Variants, items),
            JobPlan::Outfit(items) => (Shape::Outfit, items),
        };
        let mut items = items;
        resume(status, &items);
        let today = Date::today();
        let canvas = self.walk_chains(&mut items, status, today)?;
        let job = Job { paths, bucket: cp.bucket, deadline, shape, items, canvas, today };
        let src = Arc::new(self.prepare_source(&job, status).await?);
        self.estimate(&job, &src, status)?;
        if job.items.len() > 1 {
            self.check_inputs(job.bucket, &job.items, status).await?;
        }
        let preview = Arc::clone(&src);
        let mut tiles =
            vec![blocking(move || sheet::tile_of(&preview.canvas, preview.layout.content, "Source")).await?];
        let started = Instant::now();
        let concluded = match shape {
            Shape::Single => self.run_single(&job, src, status, cp, &mut tiles).await,
            Shape::Variants => self.run_calls(&job, &src, status, cp, &mut tiles).await,
            Shape::Outfit => self.run_steps(&job, src, status, cp, &mut tiles).await,
        };
        status.diagnostics.timings_ms.entry("model".into()).or_insert(ms(started));
        summarise_costs(status);
        concluded?;
        self.write_sheet(job.bucket, paths.sheet(), tiles, status).await?;
        if shape == Shape::Single {
            // The one call's record served as its checkpoint; the job's outputs say it all.
            status.diagnostics.cache = status.items[0].cache.clone();
            status.diagnostics.backend_attempts = std::mem::take(&mut status.items[0].backend_attempts);
            status.items.clear();
        }
        Ok(())
    }

    /// Each item on the backend it calls next (retired models skipped, with no call), the
    /// warnings of models near retirement, and the canvas every callable backend accepts.
    /// A chain with nothing left fails the job before any call.
    fn walk_chains(&self, items: &mut [Item], status: &mut Status, today: Date) -> Result<Canvas, JobError> {
        let mut canvases = Vec::new();
        for (st, it) in status.items.iter_mut().zip(items.iter_mut()) {
            let b = match st.state {
                State::Succeeded => {
                    st.backend.as_deref().and_then(|n| Backend::parse(n).ok()).unwrap_or(it.spec.backend)
                }
                _ => self.next_backend(&it.spec, st, today)?,
            };
            it.spec = it.spec.on(b);
            let rest = it.spec.chain.iter().skip_while(|c| **c != b);
            canvases.extend(rest.filter(|c| self.verdict(**c, today).callable()).map(|c| c.canvas()));
            if let Some((warning, days)) = self.retiring(b, today) {
                if !status.warnings.contains(&warning) {
                    status.warnings.push(warning);
                }
                if let Some(d) = days {
                    status.diagnostics.days_to_shutdown.insert(b.name().to_owned(), d);
                }
            }
        }
        Ok(Canvas::common(canvases))
    }

    async fn prepare_source(&self, job: &Job<'_>, status: &mut Status) -> Result<Prepared, JobError> {
        let t = Instant::now();
        let key = &job.items[0].spec.source_key;
        let source = self.read_image(job.bucket, key, "source image", self.config.limits.max_image_bytes).await?;
        status.diagnostics.timings_ms.insert("readImages".into(), ms(t));
        let t = Instant::now();
        let chroma = images::Chroma::for_request(self.config.request_encoding);
        let limits = room(&self.config, source.len() as u64, 1, job.canvas());
        let src = blocking(move || images::prepare_with(&source, &limits, "the source image", chroma)).await?;
        status.diagnostics.timings_ms.insert("prepare".into(), ms(t));
        status.diagnostics.images.insert("source".into(), image_diag(&src, None));
        Ok(src)
    }

    /// The whole job's price, and a check that every reply fits, before the first call.
    fn estimate(&self, job: &Job<'_>, src: &Prepared, status: &mut Status) -> Result<(), JobError> {
        let (mut total, mut requested) = (0.0, 0);
        for (i, it) in job.items.iter().enumerate() {
            check_reply_fits(&self.config, &it.spec, &src.layout)?;
            let (w, h) = (src.layout.canvas_width, src.layout.canvas_height);
            let price =
                backends::of(it.spec.backend).price(&it.spec, w, h, None, &self.config.price_of(it.spec.backend));
            let estimate = round_cents(price);
            status.items[i].estimated_cost_usd = Some(estimate);
            total += estimate;
            requested += it.spec.number_of_images();
        }
        status.diagnostics.estimated_cost_usd = Some(round_cents(total));
        status.diagnostics.images_requested = Some(requested);
        Ok(())
    }

    /// The variants that have no images yet, a few at a time.
    async fn run_calls(
        &self,
        job: &Job<'_>,
        src: &Arc<Prepared>,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), Stop> {
        self.before_calls(status, cp).await?;
        let pending: Vec<usize> = (0..job.items.len()).filter(|i| status.items[*i].state != State::Succeeded).collect();
        let specs: Vec<&JobSpec> = job.items.iter().map(|it| &it.spec).collect();
        let at_once = concurrent_calls(&self.config, &specs, &src.layout);
        let mut fresh: Vec<Option<CallResult>> = job.items.iter().map(|_| None).collect();
        // The calls are driven apart from the checkpoints: awaiting a checkpoint inside the
        // stream's loop would stop polling the calls still running, and one of them holding
        // what the checkpoint needs (a store's lock, a pooled connection) would never let go.
        // A variant whose backend is gone goes back on the queue with the next one of its
        // chain once the move is checkpointed; the queue closes when every variant ended.
        let (work, queue) = tokio::sync::mpsc::unbounded_channel::<(usize, JobSpec)>();
        for i in &pending {
            let _ = work.send((*i, job.items[*i].spec.clone()));
        }
        let mut outstanding = pending.len();
        let mut work = (outstanding > 0).then_some(work);
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let drive = async move {
            let queue = stream::unfold(queue, |mut q| async { q.recv().await.map(|x| (x, q)) });
            let runs = queue
                .map(|(i, spec)| async move {
                    let run = self.call(&spec, src, &self.site(job, i, at_once, false)).await;
                    (i, spec, run)
                })
                .buffer_unordered(at_once);
            let mut runs = std::pin::pin!(runs);
            while let Some(one) = runs.next().await {
                // The receiver only goes away when a checkpoint failed, which ends the job.
                let _ = done.send(one);
            }
            Ok(())
        };
        let keep = async {
            while let Some((i, spec, run)) = finished.recv().await {
                if let Some(next) = self.moved_on(&spec, status, i, &run, job.today) {
                    // Another variant may be in flight: only a lone one may pass through a
                    // retryable stage.
                    self.hand_over(status, cp, outstanding == 1).await?;
                    if let Some(w) = &work {
                        let _ = w.send((i, next));
                    }
                    continue;
                }
                record(status, i, &spec, &run);
                self.checkpoint(status, cp).await?;
                fresh[i] = run.ok();
                outstanding -= 1;
                if outstanding == 0 {
                    work = None;
                }
            }
            Ok::<(), Stop>(())
        };
        futures_util::future::try_join(drive, keep).await?;
        let calls = Calls { bucket: job.bucket, names: job.items.iter().map(|it| it.name.clone()).collect() };
        self.conclude_variants(calls, fresh, status, tiles).await?;
        Ok(())
    }

    /// The outfit's steps in order, each on the previous result; the last result is also
    /// the job's `result.png`.
    async fn run_steps(
        &self,
        job: &Job<'_>,
        src: Arc<Prepared>,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), Stop> {
        self.before_calls(status, cp).await?;
        let mut current = src;
        let mut results = Vec::new();
        for (k, it) in job.items.iter().enumerate() {
            let label = format!("Step {}", k + 1);
            let next = if status.items[k].state == State::Succeeded {
                let bytes = self.first_result(job.bucket, &status.items[k]).await?;
                results.push(tile_of_png(bytes.clone(), label.clone()).await?);
                bytes
            } else {
                let mut spec = it.spec.clone();
                let run = loop {
                    let run = self.call(&spec, &current, &self.site(job, k, 1, true)).await;
                    match self.moved_on(&spec, status, k, &run, job.today) {
                        Some(next) => {
                            self.hand_over(status, cp, true).await?;
                            spec = next;
                        }
                        None => break run,
                    }
                };
                record(status, k, &spec, &run);
                self.checkpoint(status, cp).await?;
                let mut r = run.map_err(|f| step_failed(k, it, f))?;
                tiles.push(Tile { label: format!("Garment {}", k + 1), image: r.garment_tile.image });
                results.extend(r.result_tiles.drain(..1).map(|t| Tile { label: label.clone(), image: t.image }));
                r.first_png.take().ok_or_else(|| JobError::new(ErrorCode::Internal, "an outfit step kept no result"))?
            };
            if k + 1 < job.items.len() {
                let limits = room(&self.config, next.len() as u64, 1, job.canvas());
                current =
                    Arc::new(blocking(move || images::prepare(&next, &limits, "the previous step's result")).await?);
            }
        }
        tiles.extend(results);
        self.copy_last_step(job.bucket, job.paths, status).await?;
        Ok(())
    }

    /// A one-call job: its request is prepared before the checkpoint, so consumers see the
    /// prepared inputs and the request size with the estimated cost before the paid call.
    async fn run_single(
        &self,
        job: &Job<'_>,
        src: Arc<Prepared>,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), Stop> {
        let mut fresh = None;
        if status.items[0].state == State::Succeeded {
            drop(src);
            self.before_calls(status, cp).await?;
        } else {
            fresh = self.call_single(job, src, status, cp).await?;
        }
        self.conclude_single(job.bucket, fresh, status, tiles).await?;
        Ok(())
    }

    /// The one call of a one-call job, along its chain while backends answer that they are
    /// gone. The source is kept only while a fallback may still need it.
    async fn call_single(
        &self,
        job: &Job<'_>,
        src: Arc<Prepared>,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
    ) -> Result<Option<CallResult>, Stop> {
        let site = self.site(job, 0, 1, false);
        let mut spec = job.items[0].spec.clone();
        let mut src = Some(src);
        loop {
            let Some(source) = src.as_ref() else {
                return Err(JobError::new(ErrorCode::Internal, "the source was freed before its last call").into());
            };
            let request = self.request(&spec, source, &site).await?;
            // The source is encoded in the request now: free its canvas before the reply
            // (base64 and decoded pictures) needs the memory, unless a fallback may need it.
            if !self.has_next(&spec, job.today) {
                src = None;
            }
            self.note_request(status, &request);
            self.before_calls(status, cp).await?;
            let run = self.send(request, &site).await;
            if let Some(next) = self.moved_on(&spec, status, 0, &run, job.today) {
                status.stage = Some(stage::NEXT_BACKEND.into());
                self.checkpoint(status, cp).await?;
                spec = next;
                continue;
            }
            record(status, 0, &spec, &run);
            self.checkpoint(status, cp).await?;
            return Ok(run.ok());
        }
    }

    /// A prepared request's figures, recorded before the paid call.
    fn note_request(&self, status: &mut Status, request: &super::call::Request) {
        {
            let d = &mut status.diagnostics;
            d.images.insert("source".into(), request.source.clone());
            d.images.insert("garment".into(), request.garment.clone());
            if let Some(m) = &request.mask {
                d.images.insert("mask".into(), m.clone());
            }
            d.request_bytes = Some(request.bytes());
            d.instruction = request.instruction.clone();
            *d.timings_ms.entry("prepare".into()).or_default() += request.prepare_ms;
        }
    }

    /// The checkpoint of a move along the chain. With no other call in flight, the job
    /// passes through the retryable `moving to the next backend` stage before the paid one
    /// again: an attempt dying between the two backends resumes at the second.
    async fn hand_over(&self, status: &mut Status, cp: &mut Checkpoint<'_>, alone: bool) -> Result<(), Stop> {
        if alone {
            status.stage = Some(stage::NEXT_BACKEND.into());
            self.checkpoint(status, cp).await?;
            return self.before_calls(status, cp).await;
        }
        self.checkpoint(status, cp).await
    }

    /// Whether a backend after `spec`'s in its chain may still be called today.
    fn has_next(&self, spec: &JobSpec, today: Date) -> bool {
        spec.chain.iter().skip_while(|b| **b != spec.backend).skip(1).any(|b| self.verdict(*b, today).callable())
    }

    /// A failed call that hands the item to the next backend of its chain: the move and the
    /// call counted, the next spec returned (the caller checkpoints before calling it).
    fn moved_on(
        &self,
        spec: &JobSpec,
        status: &mut Status,
        i: usize,
        run: &Result<CallResult, CallFailure>,
        today: Date,
    ) -> Option<JobSpec> {
        let Err(f) = run else { return None };
        let next = self.move_on(spec, &mut status.items[i], &f.error, today)?;
        count_call(&mut status.diagnostics, run);
        status.updated_at = status::timestamp(SystemTime::now());
        Some(next)
    }

    /// The checkpoint before the first paid call: consumers see the estimated cost and the
    /// prepared inputs; a delivery that lost its claim stops here.
    async fn before_calls(&self, status: &mut Status, cp: &mut Checkpoint<'_>) -> Result<(), Stop> {
        status.stage = Some(stage::CALLING_MODEL.into());
        status.updated_at = status::timestamp(SystemTime::now());
        self.checkpoint(status, cp).await
    }

    fn site<'a>(&self, job: &'a Job<'_>, i: usize, sharing: usize, keep_first: bool) -> CallSite<'a> {
        CallSite {
            bucket: job.bucket,
            folder: job.paths.call_folder(job.place(i)),
            deadline: job.deadline,
            sharing: sharing as u64,
            keep_first,
        }
    }

    async fn first_result(&self, bucket: &str, item: &ItemStatus) -> Result<Vec<u8>, JobError> {
        let key = item.outputs.images.first().ok_or_else(|| {
            JobError::new(ErrorCode::Internal, format!("{} is recorded as succeeded without images", item.name))
        })?;
        self.read_output(bucket, key).await
    }
}

/// Items already written by an earlier attempt of this manifest version are kept; the rest
/// start (again) as `processing`.
fn resume(status: &mut Status, items: &[Item]) {
    let previous = std::mem::take(&mut status.items);
    status.items = items
        .iter()
        .map(|it| {
            let earlier = previous.iter().find(|p| p.name == it.name);
            match earlier {
                Some(p) if p.state == State::Succeeded => p.clone(),
                // Not done: it starts again where its chain was left.
                Some(p) => ItemStatus { backend_attempts: p.backend_attempts.clone(), ..fresh_item(&it.name) },
                None => fresh_item(&it.name),
            }
        })
        .collect();
    let kept = status.items.iter().filter(|i| i.state == State::Succeeded).count();
    if kept > 0 {
        info!(kept, "resuming: calls whose images exist are not made again");
    }
}

fn fresh_item(name: &str) -> ItemStatus {
    ItemStatus {
        name: name.to_owned(),
        backend: None,
        model_id: None,
        instruction: None,
        state: State::Processing,
        outputs: Outputs::default(),
        error: None,
        warnings: vec![],
        bedrock_request_id: None,
        estimated_cost_usd: None,
        cost_usd: None,
        cache: CacheRecord::default(),
        backend_attempts: vec![],
    }
}

/// Writes a call's outcome into its item, and into its walk along the chain.
fn record(status: &mut Status, i: usize, spec: &JobSpec, run: &Result<CallResult, CallFailure>) {
    count_call(&mut status.diagnostics, run);
    let item = &mut status.items[i];
    let name = item.name.clone();
    let mut attempt = BackendAttempt {
        backend: spec.backend.name().to_owned(),
        model_id: item.model_id.clone().unwrap_or_default(),
        outcome: AttemptOutcome::Succeeded,
        code: None,
        message: None,
        cost_usd: None,
    };
    match run {
        Ok(r) => {
            attempt.cost_usd = Some(round_cents(r.cost_usd));
            item.backend_attempts.push(attempt);
            item.bedrock_request_id = r.request_id.clone();
            item.instruction = r.instruction.clone();
            item.state = State::Succeeded;
            item.error = None;
            item.cost_usd = Some(round_cents(r.cost_usd));
            item.outputs = r.outputs.clone();
            item.cache = r.cache.clone();
            if let Some(m) = &r.moderation {
                item.warnings.push(moderation_warning(m, r.outputs.images.len()));
            }
            info!(item = %name, model_ms = r.model_ms, cache = r.cache.cache.map(CacheUse::as_str), "call succeeded");
        }
        Err(f) => {
            item.bedrock_request_id = f.request_id.clone();
            item.instruction = f.instruction.clone();
            item.state = if f.error.retryable() { State::Processing } else { State::Failed };
            attempt.outcome = AttemptOutcome::Failed;
            attempt.code = Some(f.error.code.as_str().to_owned());
            attempt.message = Some(f.error.message.clone());
            item.backend_attempts.push(attempt);
            let mut error = StatusError::from(&f.error);
            if super::chain::moves_on(f.error.code) && spec.chain.len() > 1 {
                error.message = super::chain::chain_exhausted(spec, &item.backend_attempts);
            }
            item.error = Some(error);
            warn!(item = %name, code = %f.error.code, message = %f.error.message, "call failed");
        }
    }
    status.updated_at = status::timestamp(SystemTime::now());
}

/// Counts a call as a paid model call or a result-cache hit (hits are neither calls nor cost).
fn count_call(d: &mut Diagnostics, run: &Result<CallResult, CallFailure>) {
    match run {
        Ok(r) if r.cache.cache == Some(CacheUse::Hit) => *d.cache_hits.get_or_insert(0) += 1,
        // A replayed reply: paid for (and counted) by the attempt that called.
        Ok(r) if !r.called => {}
        Ok(_) => *d.model_calls.get_or_insert(0) += 1,
        Err(f) if f.called => *d.model_calls.get_or_insert(0) += 1,
        Err(_) => {}
    }
}

fn moderation_warning(message: &str, returned: usize) -> Warning {
    Warning {
        code: ErrorCode::ContentFiltered.as_str().into(),
        message: format!("the model's content filters blocked some images (\"{message}\"); {returned} were returned"),
    }
}

fn step_failed(k: usize, it: &Item, f: CallFailure) -> JobError {
    let garment = it.spec.garment_key.rsplit('/').next().unwrap_or(&it.spec.garment_key);
    JobError::new(
        f.error.code,
        format!("step {} ({garment}) failed: {}; the earlier steps' results are kept", k + 1, f.error.message),
    )
}

fn summarise_costs(status: &mut Status) {
    let cost: f64 = status.items.iter().filter_map(|i| i.cost_usd).sum();
    status.diagnostics.cost_usd = Some(round_cents(cost));
    status.diagnostics.images_returned = Some(status.items.iter().map(|i| i.outputs.images.len() as u32).sum());
    status.diagnostics.model_calls.get_or_insert(0);
    status.diagnostics.cache_hits.get_or_insert(0);
}
