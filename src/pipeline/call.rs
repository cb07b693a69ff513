//! One paid model call: the item's garment (and mask) read and prepared beside the source,
//! the request encoded, the call cut off early enough to record its outcome, and the outputs
//! cropped of any padding and written. A reproducible request is looked up in the result
//! cache first ([`super::cache_lookup`]): a hit runs the same path from the reply on, with no call.
//! The caller checkpoints the result at once, so no retry pays for a call whose images exist.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::info;

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::backends::{self, Reply};
use crate::core::backend::Backend;
use crate::core::error::{ErrorCode, JobError};
use crate::core::image::{self as images, Encoding, Prepared};
use crate::core::manifest::JobSpec;
use crate::core::sheet::{self, Tile};
use crate::core::status::{CacheRecord, CacheUse, ImageDiagnostics, Outputs, PreparedInfo};

use super::cache_lookup::Lookup;
use super::encoding::build_body;
use super::keys::{mask_key, result_key};
use super::measure::{image_diag, ms};
use super::objects::blocking;
use super::service::Service;
use super::share::room;

/// What a call needs besides its item: the bucket, where to write, the deadline, and how
/// many calls share the memory budget at the same time.
pub(crate) struct CallSite<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) folder: String,
    pub(crate) deadline: Instant,
    pub(crate) sharing: u64,
    /// Keep the first result's PNG (the next outfit step's source).
    pub(crate) keep_first: bool,
}

/// What one successful call produced; its outputs are written.
pub(crate) struct CallResult {
    pub(crate) outputs: Outputs,
    pub(crate) moderation: Option<String>,
    pub(crate) request_id: Option<String>,
    /// What a prompt-based backend was told.
    pub(crate) instruction: Option<String>,
    /// What the call cost, as the backend bills it.
    pub(crate) cost_usd: f64,
    pub(crate) model_ms: u64,
    pub(crate) write_ms: u64,
    pub(crate) garment_tile: Tile,
    pub(crate) mask_tile: Option<Tile>,
    pub(crate) result_tiles: Vec<Tile>,
    pub(crate) first_png: Option<Vec<u8>>,
    /// Whether the result cache answered (`hit`: no model call, cost 0).
    pub(crate) cache: CacheRecord,
    /// Whether this delivery called the model (not for a cache hit or a replayed reply).
    pub(crate) called: bool,
}

/// A failed call, with the model's request id when it answered.
pub(crate) struct CallFailure {
    pub(crate) error: JobError,
    pub(crate) request_id: Option<String>,
    pub(crate) instruction: Option<String>,
    /// Whether the model was called (and may have billed).
    pub(crate) called: bool,
}

impl From<JobError> for CallFailure {
    fn from(error: JobError) -> Self {
        CallFailure { error, request_id: None, instruction: None, called: false }
    }
}

/// A call's request, ready to send, and what was prepared for it.
pub(crate) struct Request {
    body: Vec<u8>,
    pub(crate) instruction: Option<String>,
    spec: JobSpec,
    layout: images::Layout,
    pub(crate) source: ImageDiagnostics,
    pub(crate) garment: ImageDiagnostics,
    pub(crate) mask: Option<ImageDiagnostics>,
    garment_tile: Tile,
    pub(crate) prepare_ms: u64,
}

impl Request {
    pub(crate) fn bytes(&self) -> u64 {
        self.body.len() as u64
    }
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// Prepares the item's request and sends it.
    pub(crate) async fn call(
        &self,
        spec: &JobSpec,
        src: &Arc<Prepared>,
        site: &CallSite<'_>,
    ) -> Result<CallResult, CallFailure> {
        let request = self.request(spec, src, site).await?;
        self.send(request, site).await
    }

    /// The paid part: the answer (from the result cache, or the model called early enough
    /// to record its outcome before the deadline), then the outputs written.
    pub(crate) async fn send(&self, request: Request, site: &CallSite<'_>) -> Result<CallResult, CallFailure> {
        let Request { body, instruction, spec, layout, garment_tile, .. } = request;
        let (answer, parsed) = self.answer(&spec, &layout, body, site, &instruction).await?;
        let (w, h) = (layout.canvas_width, layout.canvas_height);
        let cost_usd = match answer.cache.cache {
            Some(CacheUse::Hit) => 0.0,
            _ => backends::of(spec.backend).price(&spec, w, h, Some(&parsed), &self.config.price_of(spec.backend)),
        };
        let t = Instant::now();
        let request_id = answer.request_id;
        let called = answer.called;
        let written = self.write_outputs(parsed, layout, site).await.map_err(|error| CallFailure {
            error,
            request_id: request_id.clone(),
            instruction: instruction.clone(),
            called,
        })?;
        Ok(CallResult {
            outputs: written.outputs,
            moderation: written.moderation,
            request_id,
            instruction,
            cost_usd,
            model_ms: answer.model_ms,
            write_ms: ms(t),
            garment_tile,
            mask_tile: written.mask_tile,
            result_tiles: written.result_tiles,
            first_png: written.first_png,
            cache: answer.cache,
            called,
        })
    }

    /// The parsed reply to `body`: a verified entry that parses (the shared cache's, or this
    /// job's own copy of a reply it already paid for), else the model's answer, stored before
    /// anything is derived from it: in the cache when the call is cached, else as the job's
    /// own copy, so a retry after this point never pays again.
    async fn answer(
        &self,
        spec: &JobSpec,
        layout: &images::Layout,
        body: Vec<u8>,
        site: &CallSite<'_>,
        instruction: &Option<String>,
    ) -> Result<(Answer, Reply), CallFailure> {
        let b = spec.backend;
        // Where the model's answer goes: a cache entry or the job's copy (replacing a damaged one).
        let (key, damaged, private) = match self.look_up(site.bucket, spec, layout, &body, &site.folder).await {
            Lookup::Miss { key, damaged, private } => (key, damaged, private),
            Lookup::Hit { key, etag, reply, private } => {
                // The request is not sent: free it before the reply is decoded, as a model
                // call would have.
                drop(body);
                return self.cached_answer(site.bucket, b, (key, private), &etag, reply).await;
            }
        };
        let reply = self.invoke(b, body, site, instruction).await?;
        let request_id = reply.request_id.clone();
        let parsed = backends::of(b).parse_reply(&reply.body).map_err(|error| CallFailure {
            error,
            request_id: request_id.clone(),
            instruction: instruction.clone(),
            called: true,
        })?;
        self.store(site.bucket, &key, damaged.as_deref(), reply.body).await;
        let cache = match private {
            true => CacheRecord { cache: Some(CacheUse::Off), cache_key: None, reply_key: Some(key) },
            false => CacheRecord { cache: Some(CacheUse::Miss), cache_key: Some(key), reply_key: None },
        };
        Ok((Answer { request_id, model_ms: reply.model_ms, cache, called: true }, parsed))
    }

    /// The answer a verified entry holds: a cache hit (no call, no cost), or the job's own
    /// copy of a reply it paid for in an earlier attempt (no call now; its cost stands).
    /// Entries are stored only after their reply parsed, so one that no longer does means the
    /// parser changed without a new key version: the entry is discarded and the retry calls
    /// the model.
    async fn cached_answer(
        &self,
        bucket: &str,
        b: Backend,
        (key, private): (String, bool),
        etag: &str,
        reply: Vec<u8>,
    ) -> Result<(Answer, Reply), CallFailure> {
        match backends::of(b).parse_reply(&reply) {
            Ok(parsed) => {
                let cache = match private {
                    true => {
                        info!(key = %key, "replaying the reply this job already paid for: no second call");
                        CacheRecord { cache: Some(CacheUse::Off), cache_key: None, reply_key: Some(key) }
                    }
                    false => CacheRecord { cache: Some(CacheUse::Hit), cache_key: Some(key), reply_key: None },
                };
                Ok((Answer { request_id: None, model_ms: 0, cache, called: false }, parsed))
            }
            Err(e) => {
                self.discard(bucket, &key, etag).await;
                let message = format!(
                    "the result cache entry {key} no longer parses ({}); it was discarded and the retry calls the model",
                    e.message
                );
                Err(JobError::new(ErrorCode::StorageError, message).into())
            }
        }
    }

    /// The model call, cut off early enough to record its outcome before the deadline.
    async fn invoke(
        &self,
        b: Backend,
        body: Vec<u8>,
        site: &CallSite<'_>,
        instruction: &Option<String>,
    ) -> Result<ModelReply, CallFailure> {
        let left = site.deadline.saturating_duration_since(Instant::now()).saturating_sub(self.config.deadline_reserve);
        let timeout = self.config.model_timeout.min(left);
        if timeout < Duration::from_secs(1) {
            let e = JobError::new(
                ErrorCode::ModelTimeout,
                "too little time was left before the Lambda deadline to call the model",
            );
            return Err(e.into());
        }
        let model = self.model.model_id(b);
        info!(backend = %b, model, request_bytes = body.len(), timeout_s = timeout.as_secs(), "calling the model");
        let t = Instant::now();
        let reply = self.model.invoke(b, body, timeout).await;
        let model_ms = ms(t);
        let reply = reply.map_err(|e| CallFailure {
            error: backends::of(b).classify(&e, model),
            request_id: e.request_id.clone(),
            instruction: instruction.clone(),
            called: true,
        })?;
        Ok(ModelReply { body: reply.body, request_id: reply.request_id, model_ms })
    }

    /// Reads and prepares the garment and mask within the memory the call may use, and
    /// encodes the request.
    pub(crate) async fn request(
        &self,
        spec: &JobSpec,
        src: &Arc<Prepared>,
        site: &CallSite<'_>,
    ) -> Result<Request, JobError> {
        let cfg = &self.config;
        let t = Instant::now();
        let max = cfg.limits.max_image_bytes;
        let mask_read = async {
            match &spec.mask_key {
                Some(k) => self.read_image(site.bucket, k, "mask image", max).await.map(Some),
                None => Ok(None),
            }
        };
        let (garment, mask) =
            tokio::join!(self.read_image(site.bucket, &spec.garment_key, "garment image", max), mask_read);
        let (garment, mask) = (garment?, mask?);
        let mask_len = mask.as_ref().map_or(0, |m| m.len() as u64);
        let chroma = images::Chroma::for_request(cfg.request_encoding);
        let canvas = spec.backend.canvas();
        let limits = room(cfg, src.footprint() + garment.len() as u64 + mask_len, site.sharing, canvas);
        let gar = blocking(move || images::prepare_with(&garment, &limits, "the garment image", chroma)).await?;
        let mask_canvas = match mask {
            Some(bytes) => {
                let (info, plan) = (src.input.clone(), src.layout);
                let limits = room(cfg, src.footprint() + gar.footprint() + mask_len, site.sharing, canvas);
                Some(blocking(move || images::prepare_mask(&bytes, &limits, &info, &plan)).await?)
            }
            None => None,
        };
        // Encoding and the preview are CPU work: off the async threads, like decoding.
        let (src, spec, encoding) = (Arc::clone(src), spec.clone(), cfg.request_encoding);
        let mut request = blocking(move || {
            let (wire, encoded) = build_body(&spec, &src, &gar, mask_canvas.as_ref(), encoding)?;
            let mask = mask_canvas.as_ref().zip(encoded.mask).map(|(m, bytes)| ImageDiagnostics {
                input: None,
                prepared: PreparedInfo {
                    width: m.width(),
                    height: m.height(),
                    encoding: Some(Encoding::Png),
                    bytes,
                    content: None,
                },
            });
            Ok(Request {
                body: wire.body,
                instruction: wire.instruction,
                spec,
                layout: src.layout,
                source: image_diag(&src, Some(encoded.source)),
                garment: image_diag(&gar, Some(encoded.garment)),
                mask,
                garment_tile: sheet::tile_of(&gar.canvas, gar.layout.content, "Garment")?,
                prepare_ms: 0,
            })
        })
        .await?;
        request.prepare_ms = ms(t);
        Ok(request)
    }

    /// Crops the reply's images back to the picture, writes them, and makes their tiles.
    async fn write_outputs(
        &self,
        reply: Reply,
        layout: images::Layout,
        site: &CallSite<'_>,
    ) -> Result<Written, JobError> {
        let Reply { images: pictures, mask, moderation, .. } = reply;
        let limits = self.config.limits;
        let (pictures, mask, mask_tile, result_tiles) = blocking(move || {
            let pictures = pictures
                .iter()
                .enumerate()
                .map(|(i, b)| images::finish_output(b, &layout, &limits, &format!("image {}", i + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            let mask = mask.map(|m| images::finish_output(&m, &layout, &limits, "mask")).transpose()?;
            let mask_tile = mask.as_deref().map(|m| sheet::tile_from_bytes(m, "Mask")).transpose()?;
            let result_tiles = pictures
                .iter()
                .enumerate()
                .map(|(i, png)| {
                    let label = if pictures.len() == 1 { "Result".to_owned() } else { format!("Result {}", i + 1) };
                    sheet::tile_from_bytes(png, &label)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((pictures, mask, mask_tile, result_tiles))
        })
        .await?;
        let first_png = if site.keep_first { pictures.first().cloned() } else { None };
        let mut outputs = Outputs::default();
        for (i, png) in pictures.into_iter().enumerate() {
            let key = result_key(&site.folder, i);
            self.put_file(site.bucket, &key, png, "image/png").await?;
            outputs.images.push(key);
        }
        if let Some(png) = mask {
            let key = mask_key(&site.folder);
            self.put_file(site.bucket, &key, png, "image/png").await?;
            outputs.mask = Some(key);
        }
        Ok(Written { outputs, moderation, mask_tile, result_tiles, first_png })
    }
}

/// Where a call's reply came from.
struct Answer {
    request_id: Option<String>,
    model_ms: u64,
    cache: CacheRecord,
    /// Whether this delivery called the model for it.
    called: bool,
}

struct ModelReply {
    body: Vec<u8>,
    request_id: Option<String>,
    model_ms: u64,
}

struct Written {
    outputs: Outputs,
    moderation: Option<String>,
    mask_tile: Option<Tile>,
    result_tiles: Vec<Tile>,
    first_png: Option<Vec<u8>>,
}
