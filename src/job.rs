//! One job, from its manifest to its recorded outcome, over the storage and model ports.
//!
//! 1. Read the manifest (its ETag names the manifest version).
//! 2. Claim the job on `status.json` with a conditional write (`If-None-Match: *` to create,
//!    `If-Match` to move on), so one manifest version costs one model call however often
//!    the event is delivered.
//! 3. Validate, read and prepare the images, call the model, write the outputs.
//! 4. Record the outcome. Outputs are written before the status says `succeeded`.

use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn, Instrument};

use crate::config::{Config, RequestEncoding};
use crate::error::{ErrorCode, JobError};
use crate::event::{self, ObjectCreated};
use crate::image::{
    encode_png_rgb, encode_prepared, finish_output, prepare_mask, prepare_with, Chroma, Encoding, InputFormat,
    InputInfo, Layout, Prepared,
};
use crate::manifest::JobSpec;
use crate::nova::{self, RequestImages, MAX_BODY_BYTES};
use crate::plan::{self, JobPlan};
use crate::ports::{Model, PutCondition, Storage, StorageError};
use crate::sheet;
use crate::status::{
    self, stage, Claim, Diagnostics, ImageDiagnostics, Lease, ManifestRef, Outputs, PreparedInfo, State, Status,
    StatusError, Warning,
};

/// The function's dependencies, built once at init.
pub struct Service<S, M> {
    pub storage: S,
    pub model: M,
    pub config: Config,
}

/// How a delivery ended, when it needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        job_id: String,
        images: usize,
    },
    /// A permanent failure, recorded in `status.json`.
    Failed {
        job_id: String,
        code: ErrorCode,
    },
    /// Not a job (another key, another event type).
    Skipped {
        reason: String,
    },
    /// The job was done, failed for good, or is being worked on by another invocation.
    Duplicate {
        job_id: String,
        reason: String,
    },
}

/// Key layout of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPaths {
    pub job_id: String,
    /// `uploads/<jobId>/`
    pub folder: String,
    /// `outputs/<jobId>/`
    pub outputs: String,
}

impl JobPaths {
    pub fn new(config: &Config, job_id: &str) -> Self {
        JobPaths {
            job_id: job_id.to_owned(),
            folder: format!("{}{job_id}/", config.uploads_prefix),
            outputs: format!("{}{job_id}/", config.outputs_prefix),
        }
    }
    pub fn status(&self) -> String {
        format!("{}status.json", self.outputs)
    }
    pub fn result(&self, index: usize) -> String {
        result_key(&self.outputs, index)
    }
    pub fn mask(&self) -> String {
        mask_key(&self.outputs)
    }
    pub fn sheet(&self) -> String {
        format!("{}sheet.jpg", self.outputs)
    }
}

/// The key of result image `index` (from 0) in an outputs folder: `result.png`, `result-2.png`, …
pub fn result_key(folder: &str, index: usize) -> String {
    if index == 0 {
        format!("{folder}result.png")
    } else {
        format!("{folder}result-{}.png", index + 1)
    }
}

/// The key of the mask in an outputs folder.
pub fn mask_key(folder: &str) -> String {
    format!("{folder}mask.png")
}

/// Largest `status.json` read back (ours are a few KB).
const MAX_STATUS_BYTES: u64 = 1024 * 1024;

/// Where `status.json` is and the version this delivery last wrote.
pub(crate) struct Checkpoint<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) etag: &'a mut String,
}

/// Why processing stopped early.
pub(crate) enum Stop {
    Failed(JobError),
    /// Another delivery took the job over: leave everything to it.
    LostLease,
}

impl From<JobError> for Stop {
    fn from(e: JobError) -> Self {
        Stop::Failed(e)
    }
}

/// What one model call reported, whether it succeeded or not.
#[derive(Default)]
pub(crate) struct CallMeta {
    pub(crate) request_id: Option<String>,
    pub(crate) model_ms: u64,
    pub(crate) write_ms: u64,
}

/// What one model call wrote.
pub(crate) struct Written {
    pub(crate) images: Vec<String>,
    pub(crate) mask: Option<String>,
    pub(crate) moderation: Option<String>,
    /// Comparison-sheet tiles: the mask ("Mask") and each result ("Result", "Result N").
    pub(crate) mask_tile: Option<sheet::Tile>,
    pub(crate) result_tiles: Vec<sheet::Tile>,
    /// The first result's PNG, when asked for (the next outfit step's source).
    pub(crate) first_png: Option<Vec<u8>>,
}

/// What a finished job produced.
pub(crate) struct Done {
    pub(crate) images: Vec<String>,
    pub(crate) mask: Option<String>,
    pub(crate) sheet: Option<String>,
    pub(crate) moderation: Option<String>,
    /// Conditions that did not fail the job (some variants failed).
    pub(crate) warnings: Vec<Warning>,
}

impl<S: Storage, M: Model> Service<S, M> {
    /// Handles one announced object. `Ok` means no retry is needed (success, a recorded
    /// permanent failure, a skip or a duplicate). `Err` is a transient failure, already
    /// recorded where storage allowed: the invocation must fail so Lambda retries it.
    pub async fn handle(&self, obj: &ObjectCreated, invocation: &str, deadline: Instant) -> Result<Outcome, JobError> {
        let job_id = match event::job_id(&obj.key, &self.config.uploads_prefix) {
            Ok(id) => id.to_owned(),
            Err(reason) => {
                info!(key = %obj.key, %reason, "skipped object");
                return Ok(Outcome::Skipped { reason });
            }
        };
        let span = tracing::info_span!("job", job = %job_id);
        match &obj.raw_key {
            Some(raw) => {
                let obj = self.pick_key(obj, raw).await;
                let job_id = event::job_id(&obj.key, &self.config.uploads_prefix).unwrap_or(&job_id).to_owned();
                self.run(&obj, &job_id, invocation, deadline).instrument(span).await
            }
            None => self.run(obj, &job_id, invocation, deadline).instrument(span).await,
        }
    }

    async fn run(
        &self,
        obj: &ObjectCreated,
        job_id: &str,
        invocation: &str,
        deadline: Instant,
    ) -> Result<Outcome, JobError> {
        let cfg = &self.config;
        let paths = JobPaths::new(cfg, job_id);
        let started = Instant::now();
        let mut diagnostics = Diagnostics { model_id: self.model.model_id().to_owned(), ..Default::default() };

        // 1. The manifest.
        let t = Instant::now();
        let read = self.storage.get(&obj.bucket, &obj.key, cfg.limits.max_manifest_bytes).await;
        diagnostics.timings_ms.insert("readManifest".into(), ms(t));
        let (manifest_obj, mut early_error) = match read {
            Ok(o) => (Some(o), None),
            Err(StorageError::NotFound) => (
                None,
                Some(JobError::new(
                    ErrorCode::MissingObject,
                    format!("the manifest {} was deleted before the job ran; upload it again", obj.key),
                )),
            ),
            Err(StorageError::TooLarge { size }) => (
                None,
                Some(JobError::new(
                    ErrorCode::InputTooLarge,
                    format!("job.json is {size} bytes; at most {} bytes are accepted", cfg.limits.max_manifest_bytes),
                )),
            ),
            Err(e) => return Err(storage_error("reading the manifest", &e)),
        };
        let etag = manifest_obj.as_ref().map(|o| o.etag.clone()).or_else(|| obj.etag.clone()).unwrap_or_default();
        let manifest_ref = ManifestRef {
            bucket: obj.bucket.clone(),
            key: obj.key.clone(),
            etag: etag.clone(),
            version_id: manifest_obj.as_ref().and_then(|o| o.version_id.clone()).or_else(|| obj.version_id.clone()),
        };

        // 2. Claim.
        let t = Instant::now();
        let now = SystemTime::now();
        let lease_until = deadline.saturating_duration_since(Instant::now()) + cfg.lease_margin;
        let mut status = Status {
            job_id: job_id.to_owned(),
            state: State::Processing,
            manifest: manifest_ref,
            outputs: Outputs::default(),
            error: None,
            warnings: vec![],
            attempts: 1,
            lease: Some(Lease { owner: invocation.to_owned(), expires_at: status::timestamp_after(now, lease_until) }),
            stage: Some(stage::PREPARING.into()),
            interruptions: vec![],
            items: vec![],
            updated_at: status::timestamp(now),
            diagnostics: Diagnostics::default(),
        };
        let status_key = paths.status();
        let condition_etag;
        let condition = match self.storage.get(&obj.bucket, &status_key, MAX_STATUS_BYTES).await {
            Err(StorageError::NotFound) => PutCondition::IfAbsent,
            Err(e) => return Err(storage_error("reading status.json", &e)),
            Ok(found) => {
                condition_etag = found.etag.clone();
                match serde_json::from_slice::<Status>(&found.bytes) {
                    Ok(previous) => match previous.claim(&etag, invocation, now) {
                        Claim::Skip(reason) => {
                            info!(%reason, "duplicate delivery skipped");
                            return Ok(Outcome::Duplicate { job_id: job_id.to_owned(), reason });
                        }
                        Claim::Take { attempt } => {
                            status.attempts = attempt;
                            // A retry of the same manifest version keeps the calls already made
                            // and what is known of the attempts that died.
                            if previous.manifest.etag == etag {
                                if let Some(e) = record_death(&previous, &mut status) {
                                    early_error = early_error.or(Some(e));
                                }
                                status.items = previous.items;
                            }
                        }
                    },
                    Err(e) => warn!(error = %e, "status.json is unreadable; replacing it"),
                }
                PutCondition::IfMatch(&condition_etag)
            }
        };
        diagnostics.timings_ms.insert("claim".into(), ms(t));
        status.diagnostics = diagnostics.clone();
        let mut status_etag =
            match self.storage.put(&obj.bucket, &status_key, to_json(&status), "application/json", condition).await {
                Ok(e) => e,
                Err(StorageError::PreconditionFailed) => {
                    let reason = "another delivery claimed the job first".to_owned();
                    info!(%reason, "duplicate delivery skipped");
                    return Ok(Outcome::Duplicate { job_id: job_id.to_owned(), reason });
                }
                Err(e) => return Err(storage_error("claiming status.json", &e)),
            };
        info!(attempt = status.attempts, etag = %etag, "job claimed");

        // 3. The work.
        let result = match (early_error, manifest_obj) {
            (Some(e), _) => Err(e),
            (None, Some(m)) => {
                let mut checkpoint = Checkpoint { bucket: &obj.bucket, key: &status_key, etag: &mut status_etag };
                let planned =
                    plan::parse(&m.bytes, &paths.folder, cfg.max_model_calls_per_job as usize).map_err(JobError::from);
                drop(m);
                let run = match planned {
                    Err(e) => Err(Stop::Failed(e)),
                    Ok(JobPlan::Single(spec)) => {
                        self.process(&paths, spec, &mut status, &mut checkpoint, deadline).await
                    }
                    Ok(multi) => self.process_multi(&paths, multi, &mut status, &mut checkpoint, deadline).await,
                };
                match run {
                    Ok(done) => Ok(done),
                    Err(Stop::Failed(e)) => Err(e),
                    Err(Stop::LostLease) => {
                        warn!(
                            "status.json changed under us (the lease was taken over); stopping before the model call"
                        );
                        return Ok(Outcome::Duplicate {
                            job_id: job_id.to_owned(),
                            reason: "lost the lease while working".into(),
                        });
                    }
                }
            }
            (None, None) => Err(JobError::new(ErrorCode::Internal, "manifest missing without an error")),
        };

        // 4. The record.
        status.diagnostics.timings_ms.insert("total".into(), ms(started));
        status.updated_at = status::timestamp(SystemTime::now());
        status.lease = None;
        status.stage = Some(stage::DONE.into());
        let (outcome, failure) = match result {
            Ok(done) => {
                status.state = State::Succeeded;
                status.outputs = Outputs { images: done.images.clone(), mask: done.mask, sheet: done.sheet };
                status.warnings.extend(done.warnings);
                if let Some(m) = done.moderation {
                    status.warnings.push(Warning {
                        code: ErrorCode::ContentFiltered.as_str().into(),
                        message: format!(
                            "Nova Canvas' content filters blocked some images (\"{m}\"); {} of {} were returned",
                            done.images.len(),
                            status.diagnostics.images_requested.unwrap_or(0)
                        ),
                    });
                }
                (Outcome::Succeeded { job_id: job_id.to_owned(), images: done.images.len() }, None)
            }
            Err(e) => {
                status.error = Some(StatusError::from(&e));
                let last = status.attempts >= cfg.max_attempts;
                status.state = if e.retryable() && !last { State::Processing } else { State::Failed };
                (Outcome::Failed { job_id: job_id.to_owned(), code: e.code }, Some(e))
            }
        };
        let t = &status.diagnostics.timings_ms;
        info!(
            state = ?status.state,
            code = failure.as_ref().map(|e| e.code.as_str()),
            attempt = status.attempts,
            images = status.outputs.images.len(),
            request_bytes = status.diagnostics.request_bytes,
            bedrock_request_id = status.diagnostics.bedrock_request_id.as_deref(),
            read_ms = t.get("readImages"),
            prepare_ms = t.get("prepare"),
            model_ms = t.get("model"),
            write_ms = t.get("writeOutputs"),
            total_ms = t.get("total"),
            "job finished"
        );
        if cfg.emit_metrics {
            crate::metrics::emit(&status);
        }
        match self
            .storage
            .put(&obj.bucket, &status_key, to_json(&status), "application/json", PutCondition::IfMatch(&status_etag))
            .await
        {
            Ok(_) => {}
            Err(StorageError::PreconditionFailed) => {
                warn!("status.json changed under us (the lease was taken over); leaving it to the new owner");
                return Ok(Outcome::Duplicate {
                    job_id: job_id.to_owned(),
                    reason: "lost the lease while working".into(),
                });
            }
            Err(e) => return Err(storage_error("recording status.json", &e)),
        }
        match failure {
            Some(e) if e.retryable() => {
                warn!(code = %e.code, message = %e.message, "transient failure; the invocation fails so Lambda retries");
                Err(e)
            }
            Some(e) => {
                warn!(code = %e.code, message = %e.message, "job failed");
                Ok(outcome)
            }
            None => Ok(outcome),
        }
    }

    async fn process(
        &self,
        paths: &JobPaths,
        spec: JobSpec,
        status: &mut Status,
        checkpoint: &mut Checkpoint<'_>,
        deadline: Instant,
    ) -> Result<Done, Stop> {
        let cfg = &self.config;
        let bucket = checkpoint.bucket;
        status.diagnostics.images_requested = Some(spec.number_of_images());

        // Inputs, read concurrently.
        let t = Instant::now();
        let max = cfg.limits.max_image_bytes;
        let mask_read = async {
            match &spec.mask_key {
                Some(k) => self.read_image(bucket, k, "mask image", max).await.map(Some),
                None => Ok(None),
            }
        };
        let (source, garment, mask) = tokio::join!(
            self.read_image(bucket, &spec.source_key, "source image", max),
            self.read_image(bucket, &spec.garment_key, "garment image", max),
            mask_read
        );
        let (source, garment, mask) = (source?, garment?, mask?);
        status.diagnostics.timings_ms.insert("readImages".into(), ms(t));

        // Preparation, each image within what the memory budget leaves beside the others.
        let t = Instant::now();
        let (s_len, g_len, m_len) =
            (source.len() as u64, garment.len() as u64, mask.as_ref().map_or(0, |m| m.len() as u64));
        let chroma = Chroma::for_request(cfg.request_encoding);
        // In parallel the two decodes overlap in memory and share the budget; one after the
        // other each has what the first left (README, "Memory budget").
        let (src, gar) = if cfg.parallel_prepare {
            let limits = room(cfg, s_len + g_len + m_len, 2);
            let src = blocking(move || prepare_with(&source, &limits, "the source image", chroma));
            let gar = blocking(move || prepare_with(&garment, &limits, "the garment image", chroma));
            let (src, gar) = tokio::join!(src, gar);
            (src?, gar?)
        } else {
            let limits = room(cfg, s_len + g_len + m_len, 1);
            let src = blocking(move || prepare_with(&source, &limits, "the source image", chroma)).await?;
            let limits = room(cfg, g_len + m_len + src.footprint(), 1);
            (src, blocking(move || prepare_with(&garment, &limits, "the garment image", chroma)).await?)
        };
        let mask_canvas = match mask {
            Some(bytes) => {
                let (info, plan) = (src.input.clone(), src.layout);
                let limits = room(cfg, m_len + src.footprint() + gar.footprint(), 1);
                Some(blocking(move || prepare_mask(&bytes, &limits, &info, &plan)).await?)
            }
            None => None,
        };
        check_reply_fits(cfg, spec.number_of_images(), &src.layout)?;
        let (body, encoded) = build_body(&spec, &src, &gar, mask_canvas.as_ref(), cfg.request_encoding)?;
        let tiles = vec![
            sheet::tile_of(&src.canvas, src.layout.content, "Source")?,
            sheet::tile_of(&gar.canvas, gar.layout.content, "Garment")?,
        ];
        status.diagnostics.timings_ms.insert("prepare".into(), ms(t));
        status.diagnostics.request_bytes = Some(body.len() as u64);
        status.diagnostics.images.insert("source".into(), image_diag(&src, encoded.source));
        status.diagnostics.images.insert("garment".into(), image_diag(&gar, encoded.garment));
        if let (Some(m), Some(bytes)) = (&mask_canvas, encoded.mask) {
            status.diagnostics.images.insert(
                "mask".into(),
                ImageDiagnostics {
                    input: None,
                    prepared: PreparedInfo {
                        width: m.width(),
                        height: m.height(),
                        encoding: Some(Encoding::Png),
                        bytes,
                        content: None,
                    },
                },
            );
        }
        let price =
            nova::price_per_image(&cfg.prices, spec.quality(), src.layout.canvas_width, src.layout.canvas_height);
        status.diagnostics.estimated_cost_usd = Some(round_cents(price * spec.number_of_images() as f64));
        drop(gar);
        drop(mask_canvas);

        // Consumers see the estimated cost and the prepared inputs before the paid call; a
        // delivery that lost its claim stops here.
        status.stage = Some(stage::CALLING_MODEL.into());
        status.updated_at = status::timestamp(SystemTime::now());
        self.checkpoint(status, checkpoint).await?;

        let plan = src.layout;
        drop(src);
        let mut meta = CallMeta::default();
        let written = self.call_and_write(bucket, body, plan, &paths.outputs, deadline, &mut meta, false).await;
        status.diagnostics.bedrock_request_id = meta.request_id;
        status.diagnostics.timings_ms.insert("model".into(), meta.model_ms);
        let written = written?;
        status.diagnostics.images_returned = Some(written.images.len() as u32);
        status.diagnostics.cost_usd = Some(round_cents(price * written.images.len() as f64));

        // The comparison sheet, then (by the caller) the status.
        let t = Instant::now();
        let mut tiles = tiles;
        tiles.extend(written.mask_tile);
        tiles.extend(written.result_tiles);
        let sheet_jpeg = blocking(move || sheet::encode(&tiles)).await?;
        let sheet_key = paths.sheet();
        self.put_file(bucket, &sheet_key, sheet_jpeg, "image/jpeg").await?;
        status.diagnostics.timings_ms.insert("writeOutputs".into(), meta.write_ms + ms(t));
        Ok(Done {
            images: written.images,
            mask: written.mask,
            sheet: Some(sheet_key),
            moderation: written.moderation,
            warnings: vec![],
        })
    }

    /// The paid part of a job: the model call, cut off early enough to record the outcome
    /// before the deadline; then the outputs cropped of any padding and written under
    /// `prefix` (`result.png`, `result-2.png`…, `mask.png`). `meta` is filled either way.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn call_and_write(
        &self,
        bucket: &str,
        body: Vec<u8>,
        plan: Layout,
        prefix: &str,
        deadline: Instant,
        meta: &mut CallMeta,
        keep_first: bool,
    ) -> Result<Written, JobError> {
        let cfg = &self.config;
        let limits = cfg.limits;
        let left = deadline.saturating_duration_since(Instant::now()).saturating_sub(cfg.deadline_reserve);
        let timeout = cfg.model_timeout.min(left);
        if timeout < Duration::from_secs(1) {
            return Err(JobError::new(
                ErrorCode::ModelTimeout,
                "too little time was left before the Lambda deadline to call the model",
            ));
        }
        info!(request_bytes = body.len(), timeout_s = timeout.as_secs(), "calling the model");
        let t = Instant::now();
        let reply = self.model.invoke(body, timeout).await;
        meta.model_ms = ms(t);
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                meta.request_id = e.request_id.clone();
                return Err(nova::classify(&e, self.model.model_id()));
            }
        };
        meta.request_id = reply.request_id.clone();
        let nova::Reply { images, mask, moderation } = nova::parse_reply(&reply.body)?;
        drop(reply);

        let t = Instant::now();
        let (images, mask, mask_tile, result_tiles) = blocking(move || {
            let images = images
                .iter()
                .enumerate()
                .map(|(i, b)| finish_output(b, &plan, &limits, &format!("image {}", i + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            let mask = mask.map(|m| finish_output(&m, &plan, &limits, "mask")).transpose()?;
            let mask_tile = mask.as_deref().map(|m| sheet::tile_from_bytes(m, "Mask")).transpose()?;
            let result_tiles = images
                .iter()
                .enumerate()
                .map(|(i, png)| {
                    let label = if images.len() == 1 { "Result".to_owned() } else { format!("Result {}", i + 1) };
                    sheet::tile_from_bytes(png, &label)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((images, mask, mask_tile, result_tiles))
        })
        .await?;
        let first_png = if keep_first { images.first().cloned() } else { None };
        let mut keys = Vec::with_capacity(images.len());
        for (i, png) in images.into_iter().enumerate() {
            let key = result_key(prefix, i);
            self.put_output(bucket, &key, png).await?;
            keys.push(key);
        }
        let mask_key = match mask {
            Some(png) => {
                let key = mask_key(prefix);
                self.put_output(bucket, &key, png).await?;
                Some(key)
            }
            None => None,
        };
        meta.write_ms = ms(t);
        Ok(Written { images: keys, mask: mask_key, moderation, mask_tile, result_tiles, first_png })
    }

    /// Writes the status as it stands, conditional on the last version this delivery wrote.
    pub(crate) async fn checkpoint(&self, status: &Status, cp: &mut Checkpoint<'_>) -> Result<(), Stop> {
        match self
            .storage
            .put(cp.bucket, cp.key, to_json(status), "application/json", PutCondition::IfMatch(cp.etag))
            .await
        {
            Ok(e) => {
                *cp.etag = e;
                Ok(())
            }
            Err(StorageError::PreconditionFailed) => Err(Stop::LostLease),
            Err(e) => Err(Stop::Failed(storage_error("updating status.json", &e))),
        }
    }

    /// For sources whose key encoding is undocumented: the decoded key unless only the raw
    /// one exists.
    async fn pick_key(&self, obj: &ObjectCreated, raw: &str) -> ObjectCreated {
        let max = self.config.limits.max_manifest_bytes;
        let decoded_missing = matches!(self.storage.get(&obj.bucket, &obj.key, max).await, Err(StorageError::NotFound));
        let mut chosen = obj.clone();
        chosen.raw_key = None;
        if decoded_missing
            && event::job_id(raw, &self.config.uploads_prefix).is_ok()
            && !matches!(self.storage.get(&obj.bucket, raw, max).await, Err(StorageError::NotFound))
        {
            info!(key = %raw, "using the key as the event carried it");
            chosen.key = raw.to_owned();
        }
        chosen
    }

    pub(crate) async fn read_image(&self, bucket: &str, key: &str, what: &str, max: u64) -> Result<Vec<u8>, JobError> {
        match self.storage.get(bucket, key, max).await {
            Ok(o) => Ok(o.bytes),
            Err(StorageError::NotFound) => Err(JobError::new(
                ErrorCode::MissingObject,
                format!("the {what} {key} does not exist; upload the images before job.json, and check the name in the manifest"),
            )),
            Err(StorageError::TooLarge { size }) => {
                Err(JobError::new(ErrorCode::InputTooLarge, format!("the {what} {key} is {size} bytes; at most {max} bytes are accepted")))
            }
            Err(e) => Err(storage_error(&format!("reading the {what}"), &e)),
        }
    }

    pub(crate) async fn put_output(&self, bucket: &str, key: &str, png: Vec<u8>) -> Result<(), JobError> {
        self.put_file(bucket, key, png, "image/png").await
    }

    pub(crate) async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), JobError> {
        // Outputs never go under the uploads prefix (that would start jobs recursively).
        if key.starts_with(&self.config.uploads_prefix) {
            return Err(JobError::new(
                ErrorCode::Internal,
                format!("refusing to write {key} under the uploads prefix"),
            ));
        }
        self.storage
            .put(bucket, key, body, content_type, PutCondition::Always)
            .await
            .map(|_| ())
            .map_err(|e| storage_error(&format!("writing {key}"), &e))
    }
}

/// The limits for preparing one more image while `held` bytes are in use, with the rest of
/// the memory budget shared by `sharing` images prepared at the same time.
pub(crate) fn room(cfg: &Config, held: u64, sharing: u64) -> crate::config::Limits {
    let left = cfg.memory.bytes.saturating_sub(held) / sharing.max(1);
    crate::config::Limits { max_decode_alloc: cfg.limits.max_decode_alloc.min(left), ..cfg.limits }
}

/// Refuses, before the paid call, a request whose reply could not be held: `images`
/// pictures at the canvas size, base64 in the body and decoded.
pub(crate) fn check_reply_fits(cfg: &Config, images: u32, plan: &Layout) -> Result<(), JobError> {
    let pixels = plan.canvas_width as u64 * plan.canvas_height as u64;
    let needs = crate::budget::reply_cost(images, pixels);
    if needs > cfg.memory.bytes {
        let what = format!("the reply of {images} images at {}x{}", plan.canvas_width, plan.canvas_height);
        return Err(JobError::new(ErrorCode::ImageTooLarge, cfg.memory.explain(&what, needs, cfg.memory.bytes)));
    }
    Ok(())
}

/// Notes in `status` that the previous attempt died, if it did, and says whether the job
/// must now fail instead of dying the same way again ([`status::after_interruptions`]).
fn record_death(previous: &Status, status: &mut Status) -> Option<JobError> {
    status.interruptions = previous.interruptions.clone();
    let stage = previous.died_in()?;
    warn!(stage, attempt = previous.attempts, "the previous attempt died without recording its outcome");
    status.interruptions.push(status::Interruption {
        attempt: previous.attempts,
        stage: stage.to_owned(),
        owner: previous.lease.as_ref().map(|l| l.owner.clone()),
    });
    status::after_interruptions(&status.interruptions)
}

/// Encoded sizes of the request images.
pub struct EncodedSizes {
    pub source: (Encoding, u64),
    pub garment: (Encoding, u64),
    pub mask: Option<u64>,
}

/// The request encoding of an input: JPEG q95 for JPEG uploads (they are photos, already
/// lossy), fast PNG for PNG and WebP uploads (cut-outs, graphics, logos keep every pixel).
pub fn choose_encoding(input: InputFormat) -> Encoding {
    match input {
        InputFormat::Jpeg => Encoding::Jpeg,
        InputFormat::Png | InputFormat::Webp => Encoding::Png,
    }
}

/// Whether a JPEG request image gets 4:2:0 chroma. `auto` keeps what the upload had (a 4:4:4
/// JPEG stays 4:4:4); `jpeg` asks for size and speed, and 4:2:0 halves the chroma data:
/// measured on the shared garment cut-out, 17% fewer bytes and 35% less encode time for
/// 46.3 dB PSNR instead of 47.1 (README, "Request encoding").
pub fn subsample(choice: RequestEncoding, input: &InputInfo) -> bool {
    choice == RequestEncoding::Jpeg || input.chroma_subsampled
}

/// Encodes the images and builds the body; if the body would pass Bedrock's 25 MB cap,
/// PNG images are re-encoded as JPEG (two 4.19 MP JPEGs at q95 stay far below it).
pub fn build_body(
    spec: &JobSpec,
    src: &Prepared,
    gar: &Prepared,
    mask: Option<&image::RgbImage>,
    choice: RequestEncoding,
) -> Result<(Vec<u8>, EncodedSizes), JobError> {
    let mask_png = mask.map(encode_png_rgb).transpose()?;
    let mut encodings = match choice {
        RequestEncoding::Auto => [choose_encoding(src.input.format), choose_encoding(gar.input.format)],
        RequestEncoding::Jpeg => [Encoding::Jpeg, Encoding::Jpeg],
        RequestEncoding::Png => [Encoding::Png, Encoding::Png],
    };
    loop {
        let s = encode_prepared(src, encodings[0], subsample(choice, &src.input))?;
        let g = encode_prepared(gar, encodings[1], subsample(choice, &gar.input))?;
        let mut sizes = vec![s.len(), g.len()];
        sizes.extend(mask_png.as_ref().map(Vec::len));
        if nova::body_size(&sizes) > MAX_BODY_BYTES && encodings.contains(&Encoding::Png) {
            encodings = [Encoding::Jpeg, Encoding::Jpeg];
            continue;
        }
        let body = nova::request_body(spec, RequestImages { source: &s, reference: &g, mask: mask_png.as_deref() });
        if body.len() > MAX_BODY_BYTES {
            return Err(JobError::new(
                ErrorCode::ImageTooLarge,
                format!("the request would be {} bytes, over Bedrock's {MAX_BODY_BYTES}-byte limit", body.len()),
            ));
        }
        let sizes = EncodedSizes {
            source: (encodings[0], s.len() as u64),
            garment: (encodings[1], g.len() as u64),
            mask: mask_png.as_ref().map(|m| m.len() as u64),
        };
        return Ok((body, sizes));
    }
}

pub(crate) fn image_diag(p: &Prepared, (encoding, bytes): (Encoding, u64)) -> ImageDiagnostics {
    ImageDiagnostics {
        input: Some(p.input.clone()),
        prepared: PreparedInfo {
            width: p.layout.canvas_width,
            height: p.layout.canvas_height,
            encoding: Some(encoding),
            bytes,
            content: p.layout.padded().then_some(p.layout.content),
        },
    }
}

/// Runs CPU-bound image work off the async threads; a panic in a decoder becomes `internal`.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(JobError::new(ErrorCode::Internal, format!("image processing crashed: {e}"))))
}

pub(crate) fn storage_error(doing: &str, e: &StorageError) -> JobError {
    JobError::new(ErrorCode::StorageError, format!("S3 failed while {doing}: {e}"))
}

fn to_json(status: &Status) -> Vec<u8> {
    serde_json::to_vec_pretty(status).unwrap_or_default()
}

pub(crate) fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

pub(crate) fn round_cents(usd: f64) -> f64 {
    (usd * 10_000.0).round() / 10_000.0
}
