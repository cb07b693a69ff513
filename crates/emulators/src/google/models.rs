//! What each Gemini image model accepts and bills (Gemini reference §2, §4, §5): image
//! sizes, aspect ratios, thinking levels, token counts, and the output pixels of each
//! (ratio, size).

/// One Gemini image model's limits.
pub(super) struct Model {
    pub(super) sizes: &'static [&'static str],
    pub(super) ratios: &'static [&'static str],
    pub(super) thinking_levels: &'static [&'static str],
    /// Tokens billed per input image (§4; NOT FOUND for Lite and 2.1, which get 3.1 Flash's).
    pub(super) input_image_tokens: u32,
    pub(super) max_output_tokens: i64,
    /// Output image tokens per size, in the order of `sizes` (§5).
    pub(super) image_tokens: &'static [u32],
}

/// Nano Banana Pro's ten ratios (§2).
const PRO_RATIOS: &[&str] = &["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
/// 3.1 Flash adds five (§2).
const FLASH_RATIOS: &[&str] =
    &["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1", "1:8", "8:1", "9:21"];
/// Lite and 2.1 have "14 ratios" whose list is NOT FOUND: taken as 3.1 Flash's without 9:21.
const FOURTEEN_RATIOS: &[&str] =
    &["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1", "1:8", "8:1"];

/// The model's limits, for the ids the route accepts.
pub(super) fn model(id: &str) -> Option<Model> {
    Some(match id {
        "gemini-3-pro-image" => Model {
            sizes: &["1K", "2K", "4K"],
            ratios: PRO_RATIOS,
            // Thinking levels are documented for 3.1 Flash and Lite only (§2).
            thinking_levels: &[],
            input_image_tokens: 560,
            max_output_tokens: 32_768,
            image_tokens: &[1120, 1120, 2000],
        },
        "gemini-3.1-flash-image" => Model {
            sizes: &["512", "1K", "2K", "4K"],
            ratios: FLASH_RATIOS,
            thinking_levels: &["MINIMAL", "HIGH"],
            input_image_tokens: 1120,
            max_output_tokens: 32_768,
            image_tokens: &[747, 1120, 1680, 2520],
        },
        "gemini-3.1-flash-lite-image" => Model {
            sizes: &["1K"],
            ratios: FOURTEEN_RATIOS,
            thinking_levels: &["MINIMAL", "HIGH"],
            input_image_tokens: 1120,
            max_output_tokens: 4_096,
            image_tokens: &[1120],
        },
        // Google's card is NOT FOUND; third parties give 1K/2K/4K, `512` refused, thinking
        // MINIMAL/MEDIUM/HIGH. Tokens as 3.1 Flash.
        "gemini-nano-banana-2.1" => Model {
            sizes: &["1K", "2K", "4K"],
            ratios: FOURTEEN_RATIOS,
            thinking_levels: &["MINIMAL", "MEDIUM", "HIGH"],
            input_image_tokens: 1120,
            max_output_tokens: 32_768,
            image_tokens: &[1120, 1680, 2520],
        },
        _ => return None,
    })
}

impl Model {
    /// Output image tokens for `size` (one of `sizes`).
    pub(super) fn tokens_for(&self, size: &str) -> u32 {
        let i = self.sizes.iter().position(|s| *s == size).unwrap_or(0);
        self.image_tokens.get(i).copied().unwrap_or(1120)
    }

    /// The ratio in `ratios` nearest (in log scale) to a `w`×`h` picture.
    pub(super) fn nearest_ratio(&self, w: u32, h: u32) -> &'static str {
        let want = (w.max(1) as f64 / h.max(1) as f64).ln();
        let distance = |r: &str| (ratio_value(r).ln() - want).abs();
        self.ratios.iter().copied().min_by(|a, b| distance(a).total_cmp(&distance(b))).unwrap_or("1:1")
    }
}

fn ratio_value(r: &str) -> f64 {
    let (w, h) = r.split_once(':').unwrap_or(("1", "1"));
    w.parse::<f64>().unwrap_or(1.0) / h.parse::<f64>().unwrap_or(1.0)
}

/// Output pixels at 1K. 1:1, 3:4, 2:3, 9:16 and 4:5 are the reference's table (§4, D1);
/// their transposes follow; 21:9 is the Gemini API guide's 1584×672; 1:4, 4:1, 1:8, 8:1
/// are derived (about 1024² pixels, sides multiples of 16) as the reference has no pixels
/// for them.
fn one_k(ratio: &str) -> (u32, u32) {
    match ratio {
        "3:4" => (896, 1200),
        "4:3" => (1200, 896),
        "2:3" => (848, 1264),
        "3:2" => (1264, 848),
        "9:16" => (768, 1376),
        "16:9" => (1376, 768),
        "4:5" => (928, 1152),
        "5:4" => (1152, 928),
        "21:9" => (1584, 672),
        "9:21" => (672, 1584),
        "1:4" => (512, 2048),
        "4:1" => (2048, 512),
        "1:8" => (368, 2944),
        "8:1" => (2944, 368),
        _ => (1024, 1024),
    }
}

/// Output pixels for (ratio, size): 2K and 4K double and quadruple 1K, `512` halves it
/// (§4: 1:1 512², 3:4 448×600).
pub(super) fn pixels(ratio: &str, size: &str) -> (u32, u32) {
    let (w, h) = one_k(ratio);
    match size {
        "512" => (w / 2, h / 2),
        "2K" => (w * 2, h * 2),
        "4K" => (w * 4, h * 4),
        _ => (w, h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_follow_the_reference_table() {
        assert_eq!(pixels("3:4", "1K"), (896, 1200));
        assert_eq!(pixels("3:4", "2K"), (1792, 2400));
        assert_eq!(pixels("2:3", "4K"), (3392, 5056));
        assert_eq!(pixels("9:16", "4K"), (3072, 5504));
        assert_eq!(pixels("4:5", "2K"), (1856, 2304));
        assert_eq!(pixels("1:1", "512"), (512, 512));
        assert_eq!(pixels("3:4", "512"), (448, 600));
    }

    #[test]
    fn output_tokens_follow_the_reference_per_model_and_size() {
        let pro = model("gemini-3-pro-image").unwrap();
        assert_eq!([pro.tokens_for("1K"), pro.tokens_for("2K"), pro.tokens_for("4K")], [1120, 1120, 2000]);
        let flash = model("gemini-3.1-flash-image").unwrap();
        let sizes = ["512", "1K", "2K", "4K"].map(|s| flash.tokens_for(s));
        assert_eq!(sizes, [747, 1120, 1680, 2520]);
        assert_eq!(model("gemini-3.1-flash-lite-image").unwrap().sizes, ["1K"]);
    }

    #[test]
    fn nearest_ratio_picks_the_closest_listed() {
        let m = model("gemini-3-pro-image").unwrap();
        assert_eq!(m.nearest_ratio(420, 560), "3:4");
        assert_eq!(m.nearest_ratio(1000, 1010), "1:1");
        assert_eq!(m.nearest_ratio(100, 800), "9:16");
        assert_eq!(model("gemini-3.1-flash-image").unwrap().nearest_ratio(100, 800), "1:8");
    }
}
