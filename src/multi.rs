//! Jobs of several model calls: variants (independent, run a few at a time) and outfits
//! (steps in order, each on the previous result). The source is read and prepared once; the
//! whole job's estimated cost is recorded before the first call; every item's outcome is
//! checkpointed in `status.json` as it ends, so a retry redoes only the items whose outputs
//! are missing and never pays twice for an item already written.

use std::time::{Instant, SystemTime};

use futures_util::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::error::{ErrorCode, JobError};
use crate::image::{prepare, prepare_mask, prepare_with, Chroma, Layout, Prepared};
use crate::job::{
    blocking, check_reply_fits, ms, room, round_cents, CallMeta, Checkpoint, Done, JobPaths, Service, Stop,
};
use crate::manifest::JobSpec;
use crate::nova;
use crate::plan::{Item, JobPlan};
use crate::ports::{Model, Storage};
use crate::sheet::{self, Tile};
use crate::status::{self, ImageDiagnostics, ItemStatus, Outputs, PreparedInfo, State, Status, StatusError, Warning};

/// What one call produced.
struct ItemRun {
    images: Vec<String>,
    mask: Option<String>,
    moderation: Option<String>,
    returned: u32,
    /// The first result, for the next outfit step.
    first_png: Option<Vec<u8>>,
    garment_tile: Option<Tile>,
    result_tile: Option<Tile>,
    model_ms: u64,
}

impl<S: Storage, M: Model> Service<S, M> {
    pub(crate) async fn process_multi(
        &self,
        paths: &JobPaths,
        plan: JobPlan,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        deadline: Instant,
    ) -> Result<Done, Stop> {
        let cfg = &self.config;
        let bucket = cp.bucket;
        let (items, outfit) = match plan {
            JobPlan::Variants(items) => (items, false),
            JobPlan::Outfit(items) => (items, true),
            JobPlan::Single(_) => {
                return Err(Stop::Failed(JobError::new(
                    ErrorCode::Internal,
                    "a one-call job reached the multi-call path",
                )))
            }
        };
        // Items already written by an earlier attempt of this manifest version are kept.
        let previous = std::mem::take(&mut status.items);
        status.items = items
            .iter()
            .map(|it| {
                previous.iter().find(|p| p.name == it.name && p.state == State::Succeeded).cloned().unwrap_or(
                    ItemStatus {
                        name: it.name.clone(),
                        state: State::Processing,
                        outputs: Outputs::default(),
                        error: None,
                        warnings: vec![],
                        bedrock_request_id: None,
                        estimated_cost_usd: None,
                        cost_usd: None,
                    },
                )
            })
            .collect();
        let kept = status.items.iter().filter(|i| i.state == State::Succeeded).count();
        if kept > 0 {
            info!(kept, "resuming: items already written are not called again");
        }

        // The source, once for every item.
        let t = Instant::now();
        let limits = cfg.limits;
        let source = self.read_image(bucket, &items[0].spec.source_key, "source image", limits.max_image_bytes).await?;
        status.diagnostics.timings_ms.insert("readImages".into(), ms(t));
        let t = Instant::now();
        let chroma = Chroma::for_request(cfg.request_encoding);
        let limits = room(cfg, source.len() as u64, 1);
        let src = blocking(move || prepare_with(&source, &limits, "the source image", chroma)).await?;
        status.diagnostics.timings_ms.insert("prepare".into(), ms(t));
        status.diagnostics.images.insert(
            "source".into(),
            ImageDiagnostics {
                input: Some(src.input.clone()),
                prepared: PreparedInfo {
                    width: src.layout.canvas_width,
                    height: src.layout.canvas_height,
                    encoding: None,
                    bytes: 0,
                    content: src.layout.padded().then_some(src.layout.content),
                },
            },
        );

        // The whole job's price, before the first call.
        let mut total = 0.0;
        let mut requested = 0;
        for (i, it) in items.iter().enumerate() {
            let price = nova::price_per_image(
                &cfg.prices,
                it.spec.quality(),
                src.layout.canvas_width,
                src.layout.canvas_height,
            );
            check_reply_fits(cfg, it.spec.number_of_images(), &src.layout)?;
            let estimate = round_cents(price * it.spec.number_of_images() as f64);
            status.items[i].estimated_cost_usd = Some(estimate);
            total += estimate;
            requested += it.spec.number_of_images();
        }
        status.diagnostics.estimated_cost_usd = Some(round_cents(total));
        status.diagnostics.images_requested = Some(requested);
        status.stage = Some(status::stage::CALLING_MODEL.into());
        status.updated_at = status::timestamp(SystemTime::now());
        self.checkpoint(status, cp).await?;

        let mut tiles = vec![sheet::tile_of(&src.canvas, src.layout.content, "Source")?];
        let model_started = Instant::now();
        let result = if outfit {
            self.run_outfit(paths, &items, src, status, cp, deadline, &mut tiles).await
        } else {
            self.run_variants(paths, &items, &src, status, cp, deadline, &mut tiles).await
        };
        status.diagnostics.timings_ms.insert("model".into(), ms(model_started));
        let cost: f64 = status.items.iter().filter_map(|i| i.cost_usd).sum();
        status.diagnostics.cost_usd = Some(round_cents(cost));
        status.diagnostics.images_returned = Some(status.items.iter().map(|i| i.outputs.images.len() as u32).sum());
        let (images, mask, mut warnings) = result?;
        if tiles.len() > sheet::MAX_TILES {
            warnings.push(Warning {
                code: "sheet_truncated".into(),
                message: format!(
                    "the comparison sheet shows the first {} of {} pictures; every result is in its own file",
                    sheet::MAX_TILES,
                    tiles.len()
                ),
            });
        }

        let t = Instant::now();
        let sheet_key = paths.sheet();
        let sheet_jpeg = blocking(move || sheet::encode(&tiles)).await?;
        self.put_file(bucket, &sheet_key, sheet_jpeg, "image/jpeg").await?;
        status.diagnostics.timings_ms.insert("writeOutputs".into(), ms(t));
        Ok(Done { images, mask, sheet: Some(sheet_key), moderation: None, warnings })
    }

    /// Runs the variants not yet written, a few at a time; the job succeeds if any does.
    #[allow(clippy::too_many_arguments)]
    async fn run_variants(
        &self,
        paths: &JobPaths,
        items: &[Item],
        src: &Prepared,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        deadline: Instant,
        tiles: &mut Vec<Tile>,
    ) -> Result<(Vec<String>, Option<String>, Vec<Warning>), Stop> {
        let bucket = cp.bucket;
        let pending: Vec<usize> = (0..items.len()).filter(|i| status.items[*i].state != State::Succeeded).collect();
        let mut result_tiles: Vec<Option<Tile>> = (0..items.len()).map(|_| None).collect();
        let mut garment_tile = None;
        {
            let mut runs = stream::iter(pending)
                .map(|i| {
                    let prefix = format!("{}{}/", paths.outputs, items[i].name);
                    async move { (i, self.run_item(bucket, &items[i], src, &prefix, deadline).await) }
                })
                .buffer_unordered(self.concurrent_variants(items, &src.layout));
            while let Some((i, (run, request_id))) = runs.next().await {
                let run = run.map(|mut r| {
                    result_tiles[i] =
                        r.result_tile.take().map(|t| Tile { label: items[i].name.clone(), image: t.image });
                    if garment_tile.is_none() {
                        garment_tile = r.garment_tile.take();
                    }
                    r
                });
                self.record(status, i, &items[i], run, request_id, src);
                self.checkpoint(status, cp).await?;
            }
        }
        if let Some(g) = garment_tile {
            tiles.push(g);
        }
        // Variants written by an earlier attempt appear on the sheet from their stored result.
        for (i, it) in items.iter().enumerate() {
            let item = &status.items[i];
            match result_tiles[i].take() {
                Some(t) => tiles.push(t),
                None if item.state == State::Succeeded => {
                    if let Some(key) = item.outputs.images.first() {
                        if let Ok(bytes) =
                            self.read_image(bucket, key, "earlier result", self.config.limits.max_image_bytes).await
                        {
                            tiles.push(sheet::tile_from_bytes(&bytes, &it.name)?);
                        }
                    }
                }
                None => {}
            }
        }

        let retrying: Vec<&ItemStatus> = status.items.iter().filter(|i| i.state == State::Processing).collect();
        if let Some(first) = retrying.first() {
            let e = first.error.clone().unwrap_or(StatusError {
                code: "internal".into(),
                message: "unfinished".into(),
                retryable: true,
            });
            let names: Vec<&str> = retrying.iter().map(|i| i.name.as_str()).collect();
            return Err(Stop::Failed(JobError::new(
                code_of(&e.code),
                format!(
                    "variants {} failed transiently (first: {}); the retry calls only those",
                    names.join(", "),
                    e.message
                ),
            )));
        }
        let failed: Vec<&ItemStatus> = status.items.iter().filter(|i| i.state == State::Failed).collect();
        if failed.len() == items.len() {
            let first = failed[0].error.clone().unwrap_or(StatusError {
                code: "internal".into(),
                message: String::new(),
                retryable: false,
            });
            let all: Vec<String> = failed
                .iter()
                .map(|i| format!("{} ({})", i.name, i.error.as_ref().map_or("?", |e| e.code.as_str())))
                .collect();
            return Err(Stop::Failed(JobError::new(
                code_of(&first.code),
                format!("every variant failed: {}; first: {}", all.join(", "), first.message),
            )));
        }
        let mut warnings = Vec::new();
        if !failed.is_empty() {
            let names: Vec<String> = failed
                .iter()
                .map(|i| format!("{} ({})", i.name, i.error.as_ref().map_or("?", |e| e.code.as_str())))
                .collect();
            warnings.push(Warning {
                code: "partial_failure".into(),
                message: format!(
                    "{} of {} variants failed: {}; see items",
                    failed.len(),
                    items.len(),
                    names.join(", ")
                ),
            });
        }
        let images = status.items.iter().flat_map(|i| i.outputs.images.clone()).collect();
        Ok((images, None, warnings))
    }

    /// Runs the outfit steps in order, each on the previous result; the last result is the
    /// job's `result.png`.
    #[allow(clippy::too_many_arguments)]
    async fn run_outfit(
        &self,
        paths: &JobPaths,
        items: &[Item],
        src: Prepared,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        deadline: Instant,
        tiles: &mut Vec<Tile>,
    ) -> Result<(Vec<String>, Option<String>, Vec<Warning>), Stop> {
        let bucket = cp.bucket;
        let limits = self.config.limits;
        let mut current = src;
        let mut result_tiles = Vec::new();
        for (k, it) in items.iter().enumerate() {
            let next_source = if status.items[k].state == State::Succeeded {
                // Written by an earlier attempt: its result is the next step's source.
                let key = status.items[k].outputs.images.first().cloned().unwrap_or_default();
                let bytes = self.read_image(bucket, &key, "an earlier step's result", limits.max_image_bytes).await?;
                result_tiles.push(sheet::tile_from_bytes(&bytes, &format!("Step {}", k + 1))?);
                bytes
            } else {
                let prefix = format!("{}steps/{}/", paths.outputs, k + 1);
                let (run, request_id) = self.run_item(bucket, it, &current, &prefix, deadline).await;
                let run = run.map(|mut r| {
                    if let Some(g) = r.garment_tile.take() {
                        tiles.push(Tile { label: format!("Garment {}", k + 1), image: g.image });
                    }
                    if let Some(t) = r.result_tile.take() {
                        result_tiles.push(Tile { label: format!("Step {}", k + 1), image: t.image });
                    }
                    r
                });
                let first = run.as_ref().ok().and_then(|r| r.first_png.clone());
                let failure = run.as_ref().err().cloned();
                self.record(status, k, it, run, request_id, &current);
                self.checkpoint(status, cp).await?;
                if let Some(e) = failure {
                    return Err(Stop::Failed(JobError::new(
                        e.code,
                        format!(
                            "step {} ({}) failed: {}; the earlier steps' results are kept",
                            k + 1,
                            garment_name(&it.spec),
                            e.message
                        ),
                    )));
                }
                first.unwrap_or_default()
            };
            if k + 1 < items.len() {
                let limits = room(&self.config, next_source.len() as u64, 1);
                current = blocking(move || prepare(&next_source, &limits, "the previous step's result")).await?;
            }
        }
        tiles.extend(result_tiles);
        // The final step's outputs are also the job's.
        let last = status.items.last().cloned().unwrap_or_else(|| status.items[0].clone());
        let mut images = Vec::new();
        for (i, key) in last.outputs.images.iter().enumerate() {
            let bytes = self.read_image(bucket, key, "the final step's result", limits.max_image_bytes).await?;
            let target = paths.result(i);
            self.put_output(bucket, &target, bytes).await?;
            images.push(target);
        }
        let mask = match &last.outputs.mask {
            Some(key) => {
                let bytes = self.read_image(bucket, key, "the final step's mask", limits.max_image_bytes).await?;
                self.put_output(bucket, &paths.mask(), bytes).await?;
                Some(paths.mask())
            }
            None => None,
        };
        Ok((images, mask, vec![]))
    }

    /// `VARIANT_CONCURRENCY`, lowered so the replies of the variants in flight fit in the
    /// memory budget together.
    fn concurrent_variants(&self, items: &[Item], plan: &Layout) -> usize {
        let pixels = plan.canvas_width as u64 * plan.canvas_height as u64;
        let largest = items.iter().map(|it| it.spec.number_of_images()).max().unwrap_or(1);
        let fit = self.config.memory.bytes / crate::budget::reply_cost(largest, pixels).max(1);
        fit.clamp(1, self.config.variant_concurrency.max(1) as u64) as usize
    }

    /// Writes an item's outcome into the status.
    fn record(
        &self,
        status: &mut Status,
        i: usize,
        it: &Item,
        run: Result<ItemRun, JobError>,
        request_id: Option<String>,
        src: &Prepared,
    ) {
        let item = &mut status.items[i];
        item.bedrock_request_id = request_id;
        match run {
            Ok(r) => {
                let price = nova::price_per_image(
                    &self.config.prices,
                    it.spec.quality(),
                    src.layout.canvas_width,
                    src.layout.canvas_height,
                );
                item.state = State::Succeeded;
                item.error = None;
                item.cost_usd = Some(round_cents(price * r.returned as f64));
                item.outputs = Outputs { images: r.images, mask: r.mask, sheet: None };
                if let Some(m) = r.moderation {
                    item.warnings.push(Warning {
                        code: ErrorCode::ContentFiltered.as_str().into(),
                        message: format!("Nova Canvas' content filters blocked some images (\"{m}\")"),
                    });
                }
                info!(item = %it.name, model_ms = r.model_ms, "item succeeded");
            }
            Err(e) => {
                item.state = if e.retryable() { State::Processing } else { State::Failed };
                item.error = Some(StatusError::from(&e));
                warn!(item = %it.name, code = %e.code, message = %e.message, "item failed");
            }
        }
        status.updated_at = status::timestamp(SystemTime::now());
    }

    /// One model call on a prepared source: read and prepare the item's garment (and mask),
    /// call, crop, write the outputs under `prefix`. Returns the Bedrock request id either way.
    async fn run_item(
        &self,
        bucket: &str,
        it: &Item,
        src: &Prepared,
        prefix: &str,
        deadline: Instant,
    ) -> (Result<ItemRun, JobError>, Option<String>) {
        let mut request_id = None;
        let result = self.call_item(bucket, &it.spec, src, prefix, deadline, &mut request_id).await;
        (result, request_id)
    }

    async fn call_item(
        &self,
        bucket: &str,
        spec: &JobSpec,
        src: &Prepared,
        prefix: &str,
        deadline: Instant,
        request_id: &mut Option<String>,
    ) -> Result<ItemRun, JobError> {
        let cfg = &self.config;
        let garment = self.read_image(bucket, &spec.garment_key, "garment image", cfg.limits.max_image_bytes).await?;
        let chroma = Chroma::for_request(cfg.request_encoding);
        // Variants run a few at a time beside the shared source: each gets its share.
        let sharing = cfg.variant_concurrency as u64;
        let limits = room(cfg, src.footprint() + garment.len() as u64, sharing);
        let gar = blocking(move || prepare_with(&garment, &limits, "the garment image", chroma)).await?;
        let mask = match &spec.mask_key {
            Some(k) => {
                let bytes = self.read_image(bucket, k, "mask image", cfg.limits.max_image_bytes).await?;
                let limits = room(cfg, src.footprint() + gar.footprint() + bytes.len() as u64, sharing);
                let (info, plan) = (src.input.clone(), src.layout);
                Some(blocking(move || prepare_mask(&bytes, &limits, &info, &plan)).await?)
            }
            None => None,
        };
        let (body, _) = crate::job::build_body(spec, src, &gar, mask.as_ref(), cfg.request_encoding)?;
        let garment_tile = sheet::tile_of(&gar.canvas, gar.layout.content, "Garment")?;
        drop(gar);
        drop(mask);
        let mut meta = CallMeta::default();
        let written = self.call_and_write(bucket, body, src.layout, prefix, deadline, &mut meta, true).await;
        *request_id = meta.request_id;
        let w = written?;
        Ok(ItemRun {
            returned: w.images.len() as u32,
            images: w.images,
            mask: w.mask,
            moderation: w.moderation,
            first_png: w.first_png,
            garment_tile: Some(garment_tile),
            result_tile: w.result_tiles.into_iter().next(),
            model_ms: meta.model_ms,
        })
    }
}

fn garment_name(spec: &JobSpec) -> &str {
    spec.garment_key.rsplit('/').next().unwrap_or(&spec.garment_key)
}

/// The error code for a recorded code string.
fn code_of(code: &str) -> ErrorCode {
    ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code).unwrap_or(ErrorCode::Internal)
}
