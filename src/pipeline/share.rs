//! How a job shares the memory budget ([`crate::core::budget`]) between what it holds and what it
//! is about to allocate.

use crate::config::Config;
use crate::core::backend::Canvas;
use crate::core::error::{ErrorCode, JobError};
use crate::core::image as images;
use crate::core::input_limits::Limits;
use crate::core::manifest::JobSpec;

/// The limits for preparing one more image for a backend accepting `canvas` while `held`
/// bytes are in use, with the rest of the budget shared by `sharing` images prepared at the
/// same time.
pub(crate) fn room(cfg: &Config, held: u64, sharing: u64, canvas: Canvas) -> Limits {
    let left = cfg.memory.bytes.saturating_sub(held) / sharing.max(1);
    Limits { max_decode_alloc: cfg.limits.max_decode_alloc.min(left), canvas, ..cfg.limits }
}

/// Refuses, before the paid call, a request whose reply could not be held: its pictures at
/// the size the backend answers, base64 in the body and decoded.
pub(crate) fn check_reply_fits(cfg: &Config, spec: &JobSpec, plan: &images::Layout) -> Result<(), JobError> {
    let images = spec.number_of_images();
    let needs = crate::core::budget::reply_cost(images, reply_pixels(spec, plan));
    if needs > cfg.memory.bytes {
        let what = format!("the reply of {images} images at {}x{}", plan.canvas_width, plan.canvas_height);
        return Err(JobError::new(ErrorCode::ImageTooLarge, cfg.memory.explain(&what, needs, cfg.memory.bytes)));
    }
    Ok(())
}

/// How many calls may be in flight at once (`VARIANT_CONCURRENCY`), lowered so the largest
/// of their replies fit the budget together.
pub(crate) fn concurrent_calls(cfg: &Config, specs: &[&JobSpec], plan: &images::Layout) -> usize {
    let largest =
        specs.iter().map(|s| crate::core::budget::reply_cost(s.number_of_images(), reply_pixels(s, plan))).max();
    let fit = cfg.memory.bytes / largest.unwrap_or(1).max(1);
    fit.clamp(1, cfg.variant_concurrency.max(1) as u64) as usize
}

fn reply_pixels(spec: &JobSpec, plan: &images::Layout) -> u64 {
    crate::backends::of(spec.backend).reply_pixels(spec, plan.canvas_width, plan.canvas_height)
}
