//! The caps a deployment configures on untrusted input (`MAX_IMAGE_BYTES`,
//! `MAX_INPUT_PIXELS`, ...) and how request images are encoded (`REQUEST_ENCODING`): read
//! by `crate::config`, taken by the image rooms as they are given. The fixed limits are in
//! [`super::limits`].

use super::backend::{Backend, Canvas};
use super::budget::MemoryBudget;
use super::limits::DEFAULT_MEMORY_MB;

/// `REQUEST_ENCODING`: how images are encoded in the model request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEncoding {
    /// JPEG q95 for JPEG uploads (4:2:0 when they were), fast PNG for PNG and WebP uploads.
    Auto,
    /// Every image as JPEG q95 4:2:0: size and speed first.
    Jpeg,
    /// Every image as PNG: nothing lost beyond the resize.
    Png,
}

/// Caps on untrusted input, all configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_manifest_bytes: u64,
    pub max_image_bytes: u64,
    /// Decoded pixels (width × height) of one input image.
    pub max_input_pixels: u64,
    /// Decoded width or height of one input image.
    pub max_input_side: u32,
    /// Bytes the image decoder may allocate for one image; at most the memory budget (its
    /// default), and lowered per image to what the job leaves available.
    pub max_decode_alloc: u64,
    /// The pictures the called backend accepts: what request images are laid out in.
    pub canvas: Canvas,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 64 * 1024,
            max_image_bytes: 40 * 1024 * 1024,
            max_input_pixels: 50_000_000,
            max_input_side: 16_384,
            max_decode_alloc: default_budget().bytes,
            canvas: Backend::NovaCanvas.canvas(),
        }
    }
}

pub fn default_budget() -> MemoryBudget {
    MemoryBudget::for_function(DEFAULT_MEMORY_MB).unwrap_or(MemoryBudget { function_mb: DEFAULT_MEMORY_MB, bytes: 0 })
}
