//! Figures recorded in `status.json`: elapsed milliseconds, rounded prices, and what was
//! prepared from each input.

use std::time::Instant;

use crate::core::image::{Encoding, Prepared};
use crate::core::status::{ImageDiagnostics, PreparedInfo};

pub(crate) fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// USD to a hundredth of a cent.
pub(crate) fn round_cents(usd: f64) -> f64 {
    (usd * 10_000.0).round() / 10_000.0
}

/// An input as uploaded and as prepared; `encoded` when it was encoded for a request.
pub(crate) fn image_diag(p: &Prepared, encoded: Option<(Encoding, u64)>) -> ImageDiagnostics {
    ImageDiagnostics {
        input: Some(p.input.clone()),
        prepared: PreparedInfo {
            width: p.layout.canvas_width,
            height: p.layout.canvas_height,
            encoding: encoded.map(|e| e.0),
            bytes: encoded.map_or(0, |e| e.1),
            content: p.layout.padded().then_some(p.layout.content),
        },
    }
}
