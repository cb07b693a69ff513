//! What a job's calls add up to, by shape: the job's outputs, warnings and error, and the
//! comparison sheet.

use std::time::Instant;

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::core::error::ErrorCode;
use crate::core::error::JobError;
use crate::core::sheet::{self, Tile};
use crate::core::status::{ItemStatus, State, Status, StatusError, Warning};

use super::call::CallResult;
use super::measure::ms;
use super::objects::blocking;
use super::service::Service;

/// The jobs' view of its calls.
pub(crate) struct Calls<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) names: Vec<String>,
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// A one-call job: the call's outputs, warnings and figures are the job's.
    pub(crate) async fn conclude_single(
        &self,
        bucket: &str,
        fresh: Option<CallResult>,
        status: &mut Status,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), JobError> {
        let item = status.items[0].clone();
        let d = &mut status.diagnostics;
        d.bedrock_request_id = item.bedrock_request_id.clone();
        d.backend = item.backend.clone();
        d.instruction = item.instruction.clone();
        if let Some(m) = &item.model_id {
            d.model_id = m.clone();
        }
        if item.state != State::Succeeded {
            if item.state == State::Failed {
                status.items.clear();
            }
            return Err(item_error(&item));
        }
        status.outputs.images = item.outputs.images.clone();
        status.outputs.mask = item.outputs.mask.clone();
        status.warnings.extend(item.warnings.iter().cloned());
        match fresh {
            Some(r) => {
                let d = &mut status.diagnostics;
                d.timings_ms.insert("model".into(), r.model_ms);
                d.timings_ms.insert("writeOutputs".into(), r.write_ms);
                tiles.push(r.garment_tile);
                tiles.extend(r.mask_tile);
                tiles.extend(r.result_tiles);
            }
            None => {
                // Written by an earlier attempt: the sheet shows the stored results.
                let n = item.outputs.images.len();
                for (i, key) in item.outputs.images.iter().enumerate() {
                    let label = if n == 1 { "Result".to_owned() } else { format!("Result {}", i + 1) };
                    tiles.push(tile_of_png(self.read_output(bucket, key).await?, label).await?);
                }
            }
        }
        Ok(())
    }

    /// Variants: the job succeeds if any variant did; failed ones become a warning, and
    /// transient failures a transient job error naming the variants the retry will call.
    pub(crate) async fn conclude_variants(
        &self,
        calls: Calls<'_>,
        fresh: Vec<Option<CallResult>>,
        status: &mut Status,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), JobError> {
        let mut garment = None;
        let mut results = Vec::new();
        for (i, run) in fresh.into_iter().enumerate() {
            let name = &calls.names[i];
            match run {
                Some(r) => {
                    garment.get_or_insert(r.garment_tile);
                    results.extend(
                        r.result_tiles.into_iter().next().map(|t| Tile { label: name.clone(), image: t.image }),
                    );
                }
                None if status.items[i].state == State::Succeeded => {
                    if let Some(key) = status.items[i].outputs.images.first() {
                        let bytes = self.read_output(calls.bucket, key).await?;
                        results.push(tile_of_png(bytes, name.clone()).await?);
                    }
                }
                None => {}
            }
        }
        tiles.extend(garment);
        tiles.extend(results);
        status.outputs.images = status.items.iter().flat_map(|i| i.outputs.images.clone()).collect();
        variants_outcome(&status.items).map(|w| status.warnings.extend(w))
    }

    /// An outfit's last step's outputs are also the job's (`result.png`, `mask.png`).
    pub(crate) async fn copy_last_step(
        &self,
        bucket: &str,
        root: &super::keys::JobPaths,
        status: &mut Status,
    ) -> Result<(), JobError> {
        let Some(last) = status.items.last().cloned() else { return Ok(()) };
        for (i, key) in last.outputs.images.iter().enumerate() {
            let bytes = self.read_output(bucket, key).await?;
            let target = root.result(i);
            self.put_file(bucket, &target, bytes, "image/png").await?;
            status.outputs.images.push(target);
        }
        if let Some(key) = &last.outputs.mask {
            let bytes = self.read_output(bucket, key).await?;
            self.put_file(bucket, &root.mask(), bytes, "image/png").await?;
            status.outputs.mask = Some(root.mask());
        }
        Ok(())
    }

    /// `sheet.jpg`: at most [`sheet::MAX_TILES`] tiles; a warning says when some were left out.
    pub(crate) async fn write_sheet(
        &self,
        bucket: &str,
        key: String,
        tiles: Vec<Tile>,
        status: &mut Status,
    ) -> Result<(), JobError> {
        let t = Instant::now();
        if tiles.len() > sheet::MAX_TILES {
            status.warnings.push(Warning {
                code: "sheet_truncated".into(),
                message: format!(
                    "the comparison sheet shows the first {} of {} pictures; every result is in its own file",
                    sheet::MAX_TILES,
                    tiles.len()
                ),
            });
        }
        let jpeg = blocking(move || sheet::encode(&tiles)).await?;
        self.put_file(bucket, &key, jpeg, "image/jpeg").await?;
        status.outputs.sheet = Some(key);
        *status.diagnostics.timings_ms.entry("writeOutputs".into()).or_default() += ms(t);
        Ok(())
    }
}

/// The job-level result of a set of variants: warnings on partial failure, an error when
/// some must be retried or all failed.
fn variants_outcome(items: &[ItemStatus]) -> Result<Vec<Warning>, JobError> {
    let named = |list: &[&ItemStatus]| {
        list.iter()
            .map(|i| format!("{} ({})", i.name, i.error.as_ref().map_or("?", |e| e.code.as_str())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let retrying: Vec<&ItemStatus> = items.iter().filter(|i| i.state == State::Processing).collect();
    if let Some(first) = retrying.first() {
        let e = item_error(first);
        let names: Vec<&str> = retrying.iter().map(|i| i.name.as_str()).collect();
        return Err(JobError::new(
            e.code,
            format!(
                "variants {} failed transiently (first: {}); the retry calls only those",
                names.join(", "),
                e.message
            ),
        ));
    }
    let failed: Vec<&ItemStatus> = items.iter().filter(|i| i.state == State::Failed).collect();
    if failed.len() == items.len() {
        let e = item_error(failed[0]);
        return Err(JobError::new(e.code, format!("every variant failed: {}; first: {}", named(&failed), e.message)));
    }
    if failed.is_empty() {
        return Ok(vec![]);
    }
    Ok(vec![Warning {
        code: "partial_failure".into(),
        message: format!("{} of {} variants failed: {}; see items", failed.len(), items.len(), named(&failed)),
    }])
}

/// The error of a recorded item.
pub(crate) fn item_error(item: &ItemStatus) -> JobError {
    let e = item.error.clone().unwrap_or(StatusError {
        code: "internal".into(),
        message: "unfinished".into(),
        retryable: false,
    });
    let code = ErrorCode::ALL.iter().copied().find(|c| c.as_str() == e.code).unwrap_or(ErrorCode::Internal);
    JobError::new(code, e.message)
}

/// A stored result as a sheet tile, decoded on the blocking pool.
pub(crate) async fn tile_of_png(png: Vec<u8>, label: String) -> Result<Tile, JobError> {
    blocking(move || sheet::tile_from_bytes(&png, &label)).await
}
