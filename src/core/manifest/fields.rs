//! The manifest's fields as they arrive in `job.json` (camelCase on the wire), their enums
//! and ranges from the Nova Canvas reference, and [`JobSpec`], one validated call. The checks
//! that read them are in the parent module and in [`super::ownership`].

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::core::backend::Backend;

/// The manifest file name that starts a job.
pub const MANIFEST_NAME: &str = "job.json";

/// `RESULT_CACHE` and the manifest's `resultCache`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Cache the calls whose answer is reproducible ([`crate::core::result_cache::reproducible`]).
    #[default]
    Auto,
    /// Never read or write the cache.
    Off,
}

impl CacheMode {
    pub fn parse(s: &str) -> Option<CacheMode> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(CacheMode::Auto),
            "off" => Some(CacheMode::Off),
            _ => None,
        }
    }
}

/// `job.json` as uploaded.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Manifest {
    /// The person or scene photo, relative to the job folder.
    pub source: String,
    /// The garment photo, relative to the job folder.
    pub garment: String,
    #[serde(default)]
    pub virtual_try_on_params: TryOnParams,
    #[serde(default)]
    pub image_generation_config: GenerationConfig,
    /// The backend to call, or a chain tried in order; the deployment's `TRYON_BACKEND`
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendChoice>,
    /// Options of `vertex-vto` (checked by that backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_try_on_params: Option<serde_json::Value>,
    /// Options of `gemini-image` (checked by that backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemini_params: Option<serde_json::Value>,
    /// Options of `bedrock-converse` (checked by that backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_params: Option<serde_json::Value>,
    /// What prompt-based backends are told (`gemini-image`, `bedrock-converse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<Instruction>,
    /// `"off"` keeps this job (or variant) out of the result cache; `"auto"` (the default)
    /// uses it where the answer is reproducible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_cache: Option<CacheMode>,
}

/// `"backend"`: one name, or a list tried in order (each once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BackendChoice(pub Vec<Backend>);

impl<'de> Deserialize<'de> for BackendChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let names = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => vec![s],
            serde_json::Value::Array(list) => list
                .into_iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| D::Error::custom("expected backend names")))
                .collect::<Result<_, _>>()?,
            _ => return Err(D::Error::custom("expected a backend name, or a list of them tried in order")),
        };
        if names.is_empty() {
            return Err(D::Error::custom("an empty list; name at least one backend"));
        }
        let mut chain = Vec::new();
        for name in names {
            let b = Backend::parse(&name).map_err(D::Error::custom)?;
            if chain.contains(&b) {
                return Err(D::Error::custom(format!("{b} is named twice; a chain tries each backend once")));
            }
            chain.push(b);
        }
        Ok(BackendChoice(chain))
    }
}

/// `virtualTryOnParams` without the images (those come from keys).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TryOnParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_type: Option<MaskType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_based_mask: Option<ImageBasedMask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_based_mask: Option<GarmentBasedMask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_based_mask: Option<PromptBasedMask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_exclusions: Option<MaskExclusions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_style: Option<MergeStyle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_mask: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageBasedMask {
    /// A key relative to the job folder (in the manifest); never sent as such.
    pub mask_image: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GarmentBasedMask {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_class: Option<GarmentClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_shape: Option<MaskShape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_styling: Option<GarmentStyling>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GarmentStyling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_sleeve_style: Option<LongSleeveStyle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tucking_style: Option<TuckingStyle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outer_layer_style: Option<OuterLayerStyle>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PromptBasedMask {
    #[serde(default)]
    pub mask_prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_shape: Option<MaskShape>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MaskExclusions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preserve_body_pose: Option<Preserve>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preserve_hands: Option<Preserve>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preserve_face: Option<Preserve>,
}

/// `imageGenerationConfig`. `width`/`height` are parsed only to reject them with a clear
/// message: for try-on the output always takes the source image's size.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_images: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing)]
    pub(super) width: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    pub(super) height: Option<IgnoredAny>,
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident, $case:literal { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
        #[serde(rename_all = $case)]
        pub enum $name { $($variant),+ }
        impl $name {
            /// Every value, in the reference's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire name.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $wire),+ } }
        }
    };
}

wire_enum!(MaskType, "SCREAMING_SNAKE_CASE" { Image => "IMAGE", Garment => "GARMENT", Prompt => "PROMPT" });
wire_enum!(
    /// The 18 garment classes of the reference.
    GarmentClass, "SCREAMING_SNAKE_CASE" {
    UpperBody => "UPPER_BODY", LowerBody => "LOWER_BODY", FullBody => "FULL_BODY", Footwear => "FOOTWEAR",
    LongSleeveShirt => "LONG_SLEEVE_SHIRT", ShortSleeveShirt => "SHORT_SLEEVE_SHIRT",
    NoSleeveShirt => "NO_SLEEVE_SHIRT", OtherUpperBody => "OTHER_UPPER_BODY",
    LongPants => "LONG_PANTS", ShortPants => "SHORT_PANTS", OtherLowerBody => "OTHER_LOWER_BODY",
    LongDress => "LONG_DRESS", ShortDress => "SHORT_DRESS", FullBodyOutfit => "FULL_BODY_OUTFIT",
    OtherFullBody => "OTHER_FULL_BODY",
    Shoes => "SHOES", Boots => "BOOTS", OtherFootwear => "OTHER_FOOTWEAR",
});
wire_enum!(MaskShape, "SCREAMING_SNAKE_CASE" { Contour => "CONTOUR", BoundingBox => "BOUNDING_BOX", Default => "DEFAULT" });
wire_enum!(LongSleeveStyle, "SCREAMING_SNAKE_CASE" { SleeveDown => "SLEEVE_DOWN", SleeveUp => "SLEEVE_UP" });
wire_enum!(TuckingStyle, "SCREAMING_SNAKE_CASE" { Untucked => "UNTUCKED", Tucked => "TUCKED" });
wire_enum!(OuterLayerStyle, "SCREAMING_SNAKE_CASE" { Closed => "CLOSED", Open => "OPEN" });
wire_enum!(Preserve, "SCREAMING_SNAKE_CASE" { On => "ON", Off => "OFF", Default => "DEFAULT" });
wire_enum!(MergeStyle, "SCREAMING_SNAKE_CASE" { Balanced => "BALANCED", Seamless => "SEAMLESS", Detailed => "DETAILED" });
wire_enum!(Quality, "lowercase" { Standard => "standard", Premium => "premium" });

/// The body region a garment class belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRegion {
    Upper,
    Lower,
    Full,
    Feet,
}

impl GarmentClass {
    pub fn region(self) -> BodyRegion {
        use GarmentClass::*;
        match self {
            UpperBody | LongSleeveShirt | ShortSleeveShirt | NoSleeveShirt | OtherUpperBody => BodyRegion::Upper,
            LowerBody | LongPants | ShortPants | OtherLowerBody => BodyRegion::Lower,
            FullBody | LongDress | ShortDress | FullBodyOutfit | OtherFullBody => BodyRegion::Full,
            Footwear | Shoes | Boots | OtherFootwear => BodyRegion::Feet,
        }
    }
}

/// Range limits of `imageGenerationConfig` (reference §2.5).
pub const NUMBER_OF_IMAGES: std::ops::RangeInclusive<u32> = 1..=5;
pub const CFG_SCALE: std::ops::RangeInclusive<f64> = 1.1..=10.0;
pub const SEED: std::ops::RangeInclusive<i64> = 0..=2_147_483_646;
/// Longest image reference accepted (S3 keys are at most 1024 bytes in all).
pub const MAX_REFERENCE_BYTES: usize = 512;

/// A manifest that passed every check: keys resolved inside the job folder, defaults filled.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub source_key: String,
    pub garment_key: String,
    /// The `imageBasedMask` image, for `maskType: IMAGE`.
    pub mask_key: Option<String>,
    /// The parameters to send; `mask_type` and `return_mask` are always set, and
    /// `garment_based_mask.garment_class` whenever the mask type is GARMENT.
    pub params: TryOnParams,
    pub generation: GenerationConfig,
    /// The backend the call goes to: the chain's first, until the pipeline moves on
    /// ([`JobSpec::on`]).
    pub backend: Backend,
    /// The backends tried in order (`backend` is one of them).
    pub chain: Vec<Backend>,
    /// The selected backend's own options block, as given (the backend checks it).
    pub options: Option<serde_json::Value>,
    /// Every chain member's options block, as given.
    pub blocks: std::collections::BTreeMap<Backend, serde_json::Value>,
    /// For prompt-based backends: what the manifest says about the garment or the prompt.
    pub instruction: Option<Instruction>,
    /// Whether the manifest lets this call use the result cache (`resultCache`).
    pub result_cache: CacheMode,
}

impl JobSpec {
    /// The same call on `backend`, a member of the chain, with that backend's options.
    pub fn on(&self, backend: Backend) -> JobSpec {
        JobSpec { backend, options: self.blocks.get(&backend).cloned(), ..self.clone() }
    }

    pub fn mask_type(&self) -> MaskType {
        self.params.mask_type.unwrap_or(MaskType::Garment)
    }

    pub fn number_of_images(&self) -> u32 {
        self.generation.number_of_images.unwrap_or(1)
    }

    pub fn quality(&self) -> Quality {
        self.generation.quality.unwrap_or(Quality::Standard)
    }

    pub fn return_mask(&self) -> bool {
        self.params.return_mask.unwrap_or(true)
    }
}

/// `instruction`: what prompt-based backends are told. Without `prompt`, the function
/// writes the instruction from the garment class, styling and description.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Instruction {
    /// The whole instruction, sent as given (the images come first: person, then garment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What the garment is, in Nova Canvas' classes (`UPPER_BODY`, `LONG_DRESS`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_class: Option<GarmentClass>,
    /// How an upper-body garment is worn, in Nova Canvas' terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_styling: Option<GarmentStyling>,
    /// A few words on the garment ("a red wool hoodie").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_description: Option<String>,
}
