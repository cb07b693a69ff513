//! What differs between Vertex AI's `:generateContent` and the Gemini Developer API's (API
//! key) on the same Gemini image models, in one place. Everything else (parts, inline
//! images and their checks, sizes, ratios, thinking levels, the pictures, token counts) is
//! the one validation and rendering in `gemini`.
//!
//! The Gemini API's differences (`gemini-api-key.md`):
//!
//! - request fields (§2, §6 item 6): no `labels`, `imageConfig.personGeneration`,
//!   `prominentPeople`, `imageOutputOptions` (nor `outputMimeType`,
//!   `outputCompressionQuality`), `safetySettings[].method`, `routingConfig`,
//!   `modelSelectionConfig`, `audioTimestamp`, `modelArmorConfig`: the SDK raises before
//!   sending them; the server's reply is NOT FOUND, the emulator answers its proto parser's
//!   400 "Unknown name" and says the field is Vertex AI only (§10.3). It takes `serviceTier`
//!   (`flex`|`standard`|`priority`) and `store` (a boolean at the top level: the REST
//!   placement is NOT FOUND, the SDK's `config.store` is taken as a top-level field);
//! - `generationConfig` may be omitted: the documented default modalities are TEXT + IMAGE
//!   (VG §2); Vertex's default is not documented, so the Vertex emulator requires them;
//! - no 7 MB cap per inline image (a Vertex card limit, §5); the whole body is capped at
//!   100 MB by the route instead (§5, §10.4);
//! - `fileData`: Files API URIs and external URLs, which the offline emulator cannot fetch;
//! - the output is always JPEG (§6 item 6, X12 (3p)): quality 75, the Vertex default, as the
//!   Gemini API's is NOT FOUND;
//! - `gemini-3.1-flash-image` has 14 ratios there, without Vertex's `9:21` (§6);
//! - `gemini-nano-banana-2.1` at 4K bills about 3780 output tokens (§6, derived from third
//!   party prices; 1K 1120 as on Vertex, 2K NOT FOUND: Vertex's 1680 kept);
//! - the reply: `candidates[].index`, `usageMetadata.thoughtsTokenCount` (§3), no
//!   `trafficType` and no `createTime` (Vertex fields); `modelStatus` is added by the route.

use super::paint::Encoding;

/// One API's side of the differences.
pub(super) struct Dialect {
    /// Top-level request fields.
    pub(super) root: &'static [&'static str],
    pub(super) generation: &'static [&'static str],
    pub(super) image_config: &'static [&'static str],
    pub(super) safety: &'static [&'static str],
    /// Fields of the other API, named as such when refused.
    pub(super) foreign: &'static [&'static str],
    pub(super) foreign_note: &'static str,
    /// `generationConfig` may be omitted (TEXT + IMAGE then).
    pub(super) default_modalities: bool,
    /// Decoded bytes per inline image.
    pub(super) inline_cap: Option<usize>,
    /// The output encoding when the request cannot choose it.
    pub(super) output: Option<Encoding>,
    /// Why `fileData` is refused.
    pub(super) file_data: &'static str,
    /// (model, ratio) pairs the model's table lists but this API refuses.
    pub(super) ratio_exclusions: &'static [(&'static str, &'static str)],
    /// (model, size, tokens) output-token counts that differ from the model's table.
    pub(super) image_tokens: &'static [(&'static str, &'static str, u32)],
    /// Reply envelope.
    pub(super) traffic_type: bool,
    pub(super) create_time: bool,
    pub(super) thoughts_count: bool,
    pub(super) candidate_index: bool,
}

const GENERATION: &[&str] = &[
    "responseModalities",
    "candidateCount",
    "imageConfig",
    "temperature",
    "topP",
    "topK",
    "seed",
    "maxOutputTokens",
    "thinkingConfig",
];

pub(super) const VERTEX: Dialect = Dialect {
    root: &["contents", "systemInstruction", "generationConfig", "safetySettings", "labels"],
    generation: GENERATION,
    image_config: &["aspectRatio", "imageSize", "personGeneration", "prominentPeople", "imageOutputOptions"],
    safety: &["category", "threshold", "method"],
    foreign: &[],
    foreign_note: "",
    default_modalities: false,
    inline_cap: Some(super::inline::MAX_INLINE_BYTES),
    output: None,
    file_data: "the emulator cannot read Cloud Storage; send the image as inlineData.",
    ratio_exclusions: &[],
    image_tokens: &[],
    traffic_type: true,
    create_time: true,
    thoughts_count: false,
    candidate_index: false,
};

pub(super) const GEMINI_API: Dialect = Dialect {
    root: &["contents", "systemInstruction", "generationConfig", "safetySettings", "serviceTier", "store"],
    generation: GENERATION,
    image_config: &["aspectRatio", "imageSize"],
    safety: &["category", "threshold"],
    foreign: &[
        "labels",
        "personGeneration",
        "prominentPeople",
        "imageOutputOptions",
        "outputMimeType",
        "outputCompressionQuality",
        "method",
        "routingConfig",
        "modelSelectionConfig",
        "audioTimestamp",
        "modelArmorConfig",
        "displayName",
    ],
    foreign_note: "It is a Vertex AI field; the Gemini API does not take it.",
    default_modalities: true,
    inline_cap: None,
    output: Some(Encoding::Jpeg { quality: 75 }),
    file_data: "the offline emulator cannot fetch Files API URIs or external URLs; send the image as inlineData.",
    ratio_exclusions: &[("gemini-3.1-flash-image", "9:21")],
    image_tokens: &[("gemini-nano-banana-2.1", "4K", 3780)],
    traffic_type: false,
    create_time: false,
    thoughts_count: true,
    candidate_index: true,
};

impl Dialect {
    /// Output tokens of one image of `model` at `size`, where this API differs.
    pub(super) fn image_tokens_for(&self, model: &str, size: &str) -> Option<u32> {
        self.image_tokens.iter().find(|(m, s, _)| *m == model && *s == size).map(|(_, _, t)| *t)
    }

    pub(super) fn refuses_ratio(&self, model: &str, ratio: &str) -> bool {
        self.ratio_exclusions.contains(&(model, ratio))
    }
}
