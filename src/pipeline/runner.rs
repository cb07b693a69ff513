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
use crate::core::backend::Canvas;
use crate::core::error::{ErrorCode, JobError};
use crate::core::image::{self as images, Prepared};
use crate::core::manifest::JobSpec;
use crate::core::sheet::{self, Tile};
use crate::core::status::{
    self, stage, CacheRecord, CacheUse, Diagnostics, ItemStatus, Outputs, State, Status, StatusError, Warning,
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
}

impl Job<'_> {
    /// What every backend the job calls accepts: the source is prepared once for all.
    fn canvas(&self) -> Canvas {
        Canvas::common(self.items.iter().map(|it| it.spec.backend.canvas()))
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
        super::keys::check_job_id(&paths.job_id)?;
        let job = Job { paths, bucket: cp.bucket, deadline, shape, items };
        resume(status, &job.items);
        for (st, it) in status.items.iter_mut().zip(&job.items) {
            st.backend = Some(it.spec.backend.name().to_owned());
            st.model_id = Some(self.model.model_id(it.spec.backend).to_owned());
        }
        let src = Arc::new(self.prepare_source(&job, status).await?);
        self.estimate(&job, &src, status)?;
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
            status.items.clear();
        }
        Ok(())
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
            let price = backends::of(it.spec.backend).price(&it.spec, w, h, None, &self.config.prices);
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
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let drive = async move {
            let mut runs =
                stream::iter(pending)
                    .map(|i| async move {
                        (i, self.call(&job.items[i].spec, src, &self.site(job, i, at_once, false)).await)
                    })
                    .buffer_unordered(at_once);
            while let Some(one) = runs.next().await {
                // The receiver only goes away when a checkpoint failed, which ends the job.
                let _ = done.send(one);
            }
            Ok(())
        };
        let keep = async {
            while let Some((i, run)) = finished.recv().await {
                record(status, i, &job.items[i].name, &run);
                self.checkpoint(status, cp).await?;
                fresh[i] = run.ok();
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
                let run = self.call(&it.spec, &current, &self.site(job, k, 1, true)).await;
                record(status, k, &it.name, &run);
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
        let site = self.site(job, 0, 1, false);
        let mut fresh = None;
        if status.items[0].state == State::Succeeded {
            drop(src);
            self.before_calls(status, cp).await?;
        } else {
            let request = self.request(&job.items[0].spec, &src, &site).await?;
            // The source is encoded in the request now: free its canvas before the reply
            // (base64 and decoded pictures) needs the memory.
            drop(src);
            let d = &mut status.diagnostics;
            d.images.insert("source".into(), request.source.clone());
            d.images.insert("garment".into(), request.garment.clone());
            if let Some(m) = &request.mask {
                d.images.insert("mask".into(), m.clone());
            }
            d.request_bytes = Some(request.bytes());
            d.instruction = request.instruction.clone();
            *d.timings_ms.entry("prepare".into()).or_default() += request.prepare_ms;
            self.before_calls(status, cp).await?;
            let run = self.send(request, &site).await;
            record(status, 0, &job.items[0].name, &run);
            self.checkpoint(status, cp).await?;
            fresh = run.ok();
        }
        self.conclude_single(job.bucket, fresh, status, tiles).await?;
        Ok(())
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
            previous
                .iter()
                .find(|p| p.name == it.name && p.state == State::Succeeded)
                .cloned()
                .unwrap_or_else(|| fresh_item(&it.name))
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
    }
}

/// Writes a call's outcome into its item.
fn record(status: &mut Status, i: usize, name: &str, run: &Result<CallResult, CallFailure>) {
    count_call(&mut status.diagnostics, run);
    let item = &mut status.items[i];
    match run {
        Ok(r) => {
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
            item.error = Some(StatusError::from(&f.error));
            warn!(item = %name, code = %f.error.code, message = %f.error.message, "call failed");
        }
    }
    status.updated_at = status::timestamp(SystemTime::now());
}

/// Counts a call as a paid model call or a result-cache hit (hits are neither calls nor cost).
fn count_call(d: &mut Diagnostics, run: &Result<CallResult, CallFailure>) {
    match run {
        Ok(r) if r.cache.cache == Some(CacheUse::Hit) => *d.cache_hits.get_or_insert(0) += 1,
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
