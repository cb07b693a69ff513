//! `geminiParams`: the options a manifest may give the Gemini image model, with the values
//! the reference lists for the default model, `gemini-3.1-flash-image` (§2, §4).

use serde::{Deserialize, Serialize};

use crate::backends::google_common::typed_block;
use crate::core::manifest::JobSpec;

pub(super) const BLOCK: &str = "geminiParams";
const TEMPERATURE: std::ops::RangeInclusive<f64> = 0.0..=2.0;

/// `geminiParams` as the manifest may give it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Options {
    pub image_size: Option<ImageSize>,
    pub aspect_ratio: Option<AspectRatio>,
    pub temperature: Option<f64>,
    pub person_generation: Option<PersonGeneration>,
    pub safety_threshold: Option<Threshold>,
    pub thinking_level: Option<ThinkingLevel>,
}

/// `imageConfig.imageSize`. Read from a string so a wrong one is told that 4K is Preview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(super) enum ImageSize {
    Px512,
    #[default]
    K1,
    K2,
    K4,
}

impl ImageSize {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSize::Px512 => "512",
            ImageSize::K1 => "1K",
            ImageSize::K2 => "2K",
            ImageSize::K4 => "4K",
        }
    }

    /// Output image tokens of one picture at this size (reference §4 and §5, 3.1 Flash).
    pub fn output_tokens(self) -> u64 {
        match self {
            ImageSize::Px512 => 747,
            ImageSize::K1 => 1120,
            ImageSize::K2 => 1680,
            ImageSize::K4 => 2520,
        }
    }
}

impl TryFrom<String> for ImageSize {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        [ImageSize::Px512, ImageSize::K1, ImageSize::K2, ImageSize::K4]
            .into_iter()
            .find(|z| z.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a size; use \"512\", \"1K\" (the default), \"2K\" or \"4K\" (4K is still Preview)"
                )
            })
    }
}

/// Every ratio the reference lists for `gemini-3.1-flash-image`: Pro's ten and the five
/// 3.1 Flash adds, as (name, width, height).
pub(super) const ASPECT_RATIOS: [(&str, u32, u32); 15] = [
    ("1:1", 1, 1),
    ("3:2", 3, 2),
    ("2:3", 2, 3),
    ("3:4", 3, 4),
    ("4:3", 4, 3),
    ("4:5", 4, 5),
    ("5:4", 5, 4),
    ("9:16", 9, 16),
    ("16:9", 16, 9),
    ("21:9", 21, 9),
    ("1:4", 1, 4),
    ("4:1", 4, 1),
    ("1:8", 1, 8),
    ("8:1", 8, 1),
    ("9:21", 9, 21),
];

/// `imageConfig.aspectRatio`: the index of one of [`ASPECT_RATIOS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(super) struct AspectRatio(usize);

impl TryFrom<String> for AspectRatio {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        ASPECT_RATIOS.iter().position(|r| r.0 == s).map(AspectRatio).ok_or_else(|| {
            let all: Vec<&str> = ASPECT_RATIOS.iter().map(|r| r.0).collect();
            format!(
                "{s:?} is not a ratio the model offers; use one of {} (or leave it out to keep the source's)",
                all.join(", ")
            )
        })
    }
}

impl AspectRatio {
    pub fn name(self) -> &'static str {
        ASPECT_RATIOS[self.0].0
    }

    /// The offered ratio closest to `width`×`height`, compared in log space so that 2:1
    /// and 1:2 are equally far from 1:1.
    pub fn closest(width: u32, height: u32) -> AspectRatio {
        let want = (f64::from(width.max(1)) / f64::from(height.max(1))).ln();
        let distance = |r: &(&str, u32, u32)| (want - (f64::from(r.1) / f64::from(r.2)).ln()).abs();
        let best = (0..ASPECT_RATIOS.len())
            .min_by(|a, b| distance(&ASPECT_RATIOS[*a]).total_cmp(&distance(&ASPECT_RATIOS[*b])));
        AspectRatio(best.unwrap_or(0))
    }
}

// The variants spell Google's wire values.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum PersonGeneration {
    AllowAll,
    AllowAdult,
    AllowNone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum Threshold {
    BlockLowAndAbove,
    BlockMediumAndAbove,
    BlockOnlyHigh,
    BlockNone,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum ThinkingLevel {
    Minimal,
    High,
}

/// Every problem with `geminiParams`, each as `geminiParams.<field>: what to fix`.
pub(super) fn problems(spec: &JobSpec) -> Vec<String> {
    let mut problems = Vec::new();
    let o: Options = typed_block(BLOCK, spec.options.as_ref(), &mut problems);
    if let Some(t) = o.temperature.filter(|t| !TEMPERATURE.contains(t)) {
        problems.push(format!("{BLOCK}.temperature: {t} is out of range; use 0.0 to 2.0 (1.0 when absent)"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::gemini::tests::spec;
    use serde_json::json;

    fn problems_of(params: serde_json::Value) -> Vec<String> {
        problems(&spec(json!({"source": "p.jpg", "garment": "g.png", "geminiParams": params})))
    }

    #[test]
    fn valid_options_pass() {
        for size in ["512", "1K", "2K", "4K"] {
            assert_eq!(problems_of(json!({"imageSize": size})), Vec::<String>::new(), "{size}");
        }
        for (ratio, _, _) in ASPECT_RATIOS {
            assert_eq!(problems_of(json!({"aspectRatio": ratio})), Vec::<String>::new(), "{ratio}");
        }
        let all = json!({"temperature": 2.0, "personGeneration": "ALLOW_NONE", "safetyThreshold": "OFF",
            "thinkingLevel": "MINIMAL", "imageSize": "2K", "aspectRatio": "3:4"});
        assert_eq!(problems_of(all), Vec::<String>::new());
        assert_eq!(problems_of(json!({"temperature": 0})), Vec::<String>::new());
    }

    #[test]
    fn every_option_problem_is_reported_at_once() {
        let p = problems_of(json!({"imageSize": "8K", "aspectRatio": "2:1", "temperature": 2.5,
            "personGeneration": "allow_all", "safetyThreshold": "BLOCK_MOST", "thinkingLevel": "MEDIUM", "seed": 3}));
        for field in
            ["imageSize", "aspectRatio", "temperature", "personGeneration", "safetyThreshold", "thinkingLevel", "seed"]
        {
            assert!(p.iter().any(|p| p.starts_with(&format!("geminiParams.{field}: "))), "{field}: {p:?}");
        }
        assert_eq!(p.len(), 7, "{p:?}");
        let size = p.iter().find(|p| p.starts_with("geminiParams.imageSize")).unwrap();
        assert!(size.contains("4K is still Preview") && size.contains("\"8K\""), "{size}");
        let ratio = p.iter().find(|p| p.starts_with("geminiParams.aspectRatio")).unwrap();
        assert!(ratio.contains("9:21") && ratio.contains("1:8"), "{ratio}");
        let t = problems_of(json!({"temperature": -0.1}));
        assert_eq!(t, ["geminiParams.temperature: -0.1 is out of range; use 0.0 to 2.0 (1.0 when absent)"]);
        assert_eq!(problems_of(json!("2K")), ["geminiParams: must be a JSON object of options, e.g. {}"]);
    }

    #[test]
    fn the_closest_ratio_is_chosen_in_log_space() {
        for ((w, h), want) in [
            ((640, 480), "4:3"),
            ((480, 640), "3:4"),
            ((1000, 1000), "1:1"),
            ((1920, 1080), "16:9"),
            ((1080, 1350), "4:5"),
            ((500, 2000), "1:4"),
            ((2000, 250), "8:1"),
            ((1000, 1440), "2:3"),
            ((0, 0), "1:1"),
        ] {
            assert_eq!(AspectRatio::closest(w, h).name(), want, "{w}x{h}");
        }
        // 2:1 lies between 16:9 (1.78) and 21:9 (2.33); in log space 16:9 is nearer.
        assert_eq!(AspectRatio::closest(2000, 1000).name(), "16:9");
    }
}
