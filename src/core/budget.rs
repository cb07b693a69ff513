//! The memory budget: what the function's memory leaves for images once the process itself
//! is paid for, and what each large allocation of a job will cost, computed from headers
//! before it happens. An input that would not fit is refused (`image_too_large`) before
//! any model call, instead of the process being killed and the job left `processing`.

use crate::core::limits::{MAX_PIXELS, MEMORY_RESERVE_BYTES};

const MIB: u64 = 1024 * 1024;

/// Bytes available for a job's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// The function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), in MB as Lambda counts
    /// them (MiB).
    pub function_mb: u64,
    /// What is left for images: the function's memory less [`MEMORY_RESERVE_BYTES`].
    pub bytes: u64,
}

impl MemoryBudget {
    /// The budget of a function with `function_mb` of memory; `None` when that leaves
    /// nothing for images.
    pub fn for_function(function_mb: u64) -> Option<MemoryBudget> {
        let total = function_mb.checked_mul(MIB)?;
        let bytes = total.checked_sub(MEMORY_RESERVE_BYTES).filter(|b| *b >= 32 * MIB)?;
        Some(MemoryBudget { function_mb, bytes })
    }

    /// The smallest function memory this budget model accepts.
    pub fn minimum_mb() -> u64 {
        (MEMORY_RESERVE_BYTES + 32 * MIB) / MIB
    }

    /// Says what does not fit, for error messages.
    pub fn explain(&self, what: &str, needs: u64, available: u64) -> String {
        format!(
            "{what} needs about {} MiB of memory, and only {} MiB are left for it ({} MiB budget for images of a {} MB function); raise the function's MemorySize or upload a smaller image",
            mib(needs),
            mib(available),
            mib(self.bytes),
            self.function_mb
        )
    }
}

/// Bytes as whole MiB, rounded up (so "needs 0 MiB" is never said).
pub fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(MIB)
}

/// A decoder's view of an image, from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decode {
    pub width: u32,
    pub height: u32,
    /// Bytes the decoder's output buffer takes (`width × height × bytes per pixel`).
    pub decoded_bytes: u64,
    /// Whether the decoded buffer is already 8-bit RGB (no conversion buffer needed).
    pub rgb8: bool,
    /// Colour profiles and copies of the file the decoder keeps beside the pixels.
    pub metadata_bytes: u64,
}

/// Peak bytes of preparing one image: the decoded buffer, the 8-bit RGB copy a conversion
/// makes while the decoded buffer still lives (alpha is flattened in that copy), the colour
/// profile, the prepared canvas (at most Nova's pixel limit) and the resizer's bands.
pub fn prepare_cost(d: &Decode) -> u64 {
    let px = d.width as u64 * d.height as u64;
    let conversion = if d.rgb8 { 0 } else { px * 4 };
    d.decoded_bytes + conversion + d.metadata_bytes + canvas_bytes() + 8 * MIB
}

/// One prepared canvas at Nova's largest size, as RGB.
pub fn canvas_bytes() -> u64 {
    MAX_PIXELS * 3
}

/// Peak bytes of a model reply of `images` pictures of `pixels` each, before it arrives:
/// the reply body (base64 of PNGs, which can be a little larger than raw RGB), every image
/// decoded from base64, and one picture decoded to be cropped or checked.
pub fn reply_cost(images: u32, pixels: u64) -> u64 {
    let png = pixels * 3 + pixels / 64 + 4096;
    let body = png.div_ceil(3) * 4;
    images as u64 * (body + png) + pixels * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_function_memory_less_the_reserve() {
        let b = MemoryBudget::for_function(256).unwrap();
        assert_eq!(b.bytes, 192 * MIB);
        assert_eq!(MemoryBudget::for_function(10_240).unwrap().bytes, (10_240 - 64) * MIB);
        assert_eq!(MemoryBudget::for_function(64), None, "nothing would be left for images");
        assert_eq!(MemoryBudget::minimum_mb(), 96);
        assert!(MemoryBudget::for_function(96).is_some());
    }

    #[test]
    fn preparation_costs_grow_with_depth_and_alpha() {
        let rgb8 = Decode { width: 4000, height: 3000, decoded_bytes: 36_000_000, rgb8: true, metadata_bytes: 0 };
        let rgba16 = Decode { decoded_bytes: 96_000_000, rgb8: false, ..rgb8 };
        assert!(prepare_cost(&rgb8) < 64 * MIB);
        assert_eq!(prepare_cost(&rgba16) - prepare_cost(&rgb8), 60_000_000 + 48_000_000);
        let icc = Decode { metadata_bytes: 50 * MIB, ..rgb8 };
        assert_eq!(prepare_cost(&icc) - prepare_cost(&rgb8), 50 * MIB);
    }

    #[test]
    fn five_large_replies_fit_a_256_mb_function_but_not_a_128_mb_one() {
        let cost = reply_cost(5, MAX_PIXELS);
        assert!(cost < MemoryBudget::for_function(256).unwrap().bytes, "{}", mib(cost));
        assert!(cost > MemoryBudget::for_function(128).unwrap().bytes);
        assert!(reply_cost(1, MAX_PIXELS) < MemoryBudget::for_function(128).unwrap().bytes);
    }
}
