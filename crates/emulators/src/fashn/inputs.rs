//! Strict reading of a `/v1/run` body `{"model_name": …, "inputs": {…}}` against the
//! reference's tables (§3 `tryon-v1.6`, §4 `tryon-max`, §3 notes for the legacy
//! `tryon-v1.5`), each model's inputs with their types, enums, ranges and defaults.
//!
//! Choices where the reference says NOT FOUND ("Not documented, so the emulator must pick",
//! §12): every schema problem (a missing or empty required input, a wrong type, a value out
//! of its enum or range, an input the model does not take) is a 400 `BadRequest` at `/v1/run`
//! naming the field (`inputs.category`), never a runtime `InputValidationError`; unknown
//! input keys are refused, not ignored; `null` is not "omitted". Image *contents* are
//! checked later: a string that is no loadable image fails the prediction with
//! `ImageLoadError`, as FASHN does for a bad URL or a missing data-URI prefix (§7.2).

use serde_json::{Map, Value};

use super::wire::FashnError;

/// The try-on models the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Model {
    V16,
    Max,
    /// Legacy (status NOT FOUND; served until retired, e.g. `EMULATOR_RETIRED_MODELS=tryon-v1.5`).
    V15,
}

impl Model {
    pub(super) fn name(self) -> &'static str {
        match self {
            Model::V16 => "tryon-v1.6",
            Model::Max => "tryon-max",
            Model::V15 => "tryon-v1.5",
        }
    }
}

/// FASHN models that exist but are not try-on: the emulator does not serve them (§2).
const OTHER_MODELS: &[&str] = &[
    "product-to-model",
    "face-to-model",
    "model-create",
    "model-swap",
    "edit",
    "reframe",
    "image-to-video",
    "background-remove",
    "background-change",
    "packshot",
];

/// The pre-`model_name` parameters (F12), refused by name on the current models.
const LEGACY: &[&str] = &[
    "nsfw_filter",
    "cover_feet",
    "adjust_hands",
    "restore_background",
    "restore_clothes",
    "flat_lay",
    "remove_garment_background",
    "long_top",
    "guidance_scale",
    "timesteps",
];

#[derive(Clone, Copy)]
enum Kind {
    Image,
    Text,
    Bool,
    Enum(&'static [&'static str]),
    Int(u64, u64),
    Number(f64, f64),
}

/// One input: name, kind, required.
type Field = (&'static str, Kind, bool);

const CATEGORY: Kind = Kind::Enum(&["auto", "tops", "bottoms", "one-pieces"]);
const SEED: Kind = Kind::Int(0, 4_294_967_295);
const COUNT: Kind = Kind::Int(1, 4);
const FORMAT: Kind = Kind::Enum(&["png", "jpeg"]);
/// The v1.6 options the legacy model is assumed to share (its own schema is NOT FOUND).
const SHARED: &[Field] = &[
    ("garment_photo_type", Kind::Enum(&["auto", "flat-lay", "model"]), false),
    ("mode", Kind::Enum(&["performance", "balanced", "quality"]), false),
    ("moderation_level", Kind::Enum(&["conservative", "permissive", "none"]), false),
    ("segmentation_free", Kind::Bool, false),
    ("seed", SEED, false),
    ("num_samples", COUNT, false),
    ("output_format", FORMAT, false),
    ("return_base64", Kind::Bool, false),
];
const V16: &[Field] =
    &[("model_image", Kind::Image, true), ("garment_image", Kind::Image, true), ("category", CATEGORY, false)];
/// `aspect_ratio`: the OpenAPI list is truncated ("21:9, 1:1, 4:3, 3:2, 2:3, …", NOT FOUND
/// in full); the emulator takes those five and their usual companions.
const MAX: &[Field] = &[
    ("product_image", Kind::Image, true),
    ("model_image", Kind::Image, true),
    ("prompt", Kind::Text, false),
    ("resolution", Kind::Enum(&["1k", "2k", "4k"]), false),
    // The OpenAPI prose mentions `fast`; the enum lists balanced and quality only (§4).
    ("generation_mode", Kind::Enum(&["balanced", "quality"]), false),
    ("seed", SEED, false),
    ("num_images", COUNT, false),
    ("output_format", FORMAT, false),
    ("return_base64", Kind::Bool, false),
    ("aspect_ratio", Kind::Enum(&["21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"]), false),
];
/// v1.5: the legacy parameters with `category` required (no `auto`), F12.
const V15: &[Field] = &[
    ("model_image", Kind::Image, true),
    ("garment_image", Kind::Image, true),
    ("category", Kind::Enum(&["tops", "bottoms", "one-pieces"]), true),
    ("nsfw_filter", Kind::Bool, false),
    ("cover_feet", Kind::Bool, false),
    ("adjust_hands", Kind::Bool, false),
    ("restore_background", Kind::Bool, false),
    ("restore_clothes", Kind::Bool, false),
    ("flat_lay", Kind::Bool, false),
    ("remove_garment_background", Kind::Bool, false),
    ("long_top", Kind::Bool, false),
    ("guidance_scale", Kind::Number(1.5, 5.0), false),
    ("timesteps", Kind::Int(10, 50), false),
];

fn fields(model: Model) -> Vec<Field> {
    match model {
        Model::V16 => V16.iter().chain(SHARED).copied().collect(),
        Model::Max => MAX.to_vec(),
        Model::V15 => V15.iter().chain(SHARED).copied().collect(),
    }
}

/// A body that passed validation: what producing the prediction needs.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) model: Model,
    /// The person image string, then the garment (`garment_image` or `product_image`).
    pub(super) person: String,
    pub(super) garment: String,
    pub(super) seed: u64,
    pub(super) samples: u32,
    pub(super) jpeg: bool,
    pub(super) return_base64: bool,
    /// `tryon-max`: the resolution and aspect ratio asked (defaults `1k`, the person's).
    pub(super) resolution: &'static str,
    pub(super) aspect_ratio: Option<String>,
    /// Credits a completed prediction costs (§10).
    pub(super) credits: u64,
}

/// The body as JSON with exactly `model_name` and `inputs`; returns the model name.
pub(super) fn envelope(v: &Value) -> Result<(&str, &Map<String, Value>), FashnError> {
    let obj = v.as_object().ok_or_else(|| FashnError::bad_request("the body must be a JSON object"))?;
    if obj.contains_key("model_image") && !obj.contains_key("model_name") {
        return Err(FashnError::bad_request(
            "model_name is required; the pre-model_name body (served by tryon-v1.5 for a transition period) is not accepted",
        ));
    }
    if let Some(k) = obj.keys().find(|k| !["model_name", "inputs"].contains(&k.as_str())) {
        return Err(FashnError::bad_request(format!("{k} is not a field of the run body (model_name, inputs)")));
    }
    let name = match obj.get("model_name") {
        None => return Err(FashnError::bad_request("model_name is required")),
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(other) => {
            return Err(FashnError::bad_request(format!("model_name must be a non-empty string, got {other}")))
        }
    };
    let inputs = match obj.get("inputs") {
        None => return Err(FashnError::bad_request("inputs is required")),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(FashnError::bad_request(format!("inputs must be an object, got {}", glimpse(other))))
        }
    };
    Ok((name, inputs))
}

/// The served model `name` names; FASHN's 400 otherwise.
pub(super) fn model(name: &str) -> Result<Model, FashnError> {
    match name {
        "tryon-v1.6" => Ok(Model::V16),
        "tryon-max" => Ok(Model::Max),
        "tryon-v1.5" => Ok(Model::V15),
        other if OTHER_MODELS.contains(&other) => Err(FashnError::bad_request(format!(
            "model_name '{other}' is a FASHN model the emulator does not serve; it emulates tryon-v1.6, tryon-max and tryon-v1.5"
        ))),
        other => Err(FashnError::bad_request(format!(
            "model_name '{other}' is not a known model; expected one of tryon-v1.6, tryon-max, tryon-v1.5"
        ))),
    }
}

/// The 400 a model configured as retired answers. The reference documents no answer for a
/// gone model (NOT FOUND; the lifecycle page's retired list was not stored): the emulator
/// answers 400 `BadRequest`, as `model_name` is a body field and FASHN's documented 404 is
/// for URLs and prediction ids.
pub(super) fn retired(name: &str) -> FashnError {
    FashnError::bad_request(format!(
        "model_name '{name}' has been retired and is no longer available; migrate to tryon-v1.6 or tryon-max"
    ))
}

fn glimpse(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Checks one present input against its kind.
fn check(name: &str, kind: Kind, v: &Value) -> Result<(), FashnError> {
    let field = format!("inputs.{name}");
    let bad = |what: String| Err(FashnError::bad_request(format!("{field} {what}, got {}", glimpse(v))));
    match kind {
        Kind::Image => match v.as_str() {
            Some("") => Err(FashnError::bad_request(format!("{field} is required and must not be empty"))),
            Some(_) => Ok(()),
            None => bad("must be a string (an image URL or a data:image/<format>;base64, URI)".into()),
        },
        Kind::Text if v.is_string() => Ok(()),
        Kind::Text => bad("must be a string".into()),
        Kind::Bool if v.is_boolean() => Ok(()),
        Kind::Bool => bad("must be a boolean".into()),
        Kind::Enum(allowed) if v.as_str().is_some_and(|s| allowed.contains(&s)) => Ok(()),
        Kind::Enum(allowed) => bad(format!("must be one of {}", allowed.join(", "))),
        Kind::Int(min, max) if v.as_u64().is_some_and(|n| (min..=max).contains(&n)) => Ok(()),
        Kind::Int(min, max) => bad(format!("must be an integer from {min} to {max}")),
        Kind::Number(min, max) if v.as_f64().is_some_and(|n| (min..=max).contains(&n)) => Ok(()),
        Kind::Number(min, max) => bad(format!("must be a number from {min} to {max}")),
    }
}

/// Every input of `model`: unknown keys refused (legacy ones by name), required ones present,
/// each value of its kind. Returns the job with the defaults applied.
pub(super) fn validate(model: Model, inputs: &Map<String, Value>) -> Result<Job, FashnError> {
    let fields = fields(model);
    if let Some(k) = inputs.keys().find(|k| !fields.iter().any(|(n, _, _)| n == k)) {
        let why = if LEGACY.contains(&k.as_str()) {
            "belongs to the pre-model_name API (tryon-v1.5) and ".to_owned()
        } else if model == Model::Max && k == "garment_image" {
            "is not a tryon-max input (it takes product_image) and ".to_owned()
        } else {
            String::new()
        };
        return Err(FashnError::bad_request(format!("inputs.{k} {why}is not a parameter of {}", model.name())));
    }
    for (name, kind, required) in &fields {
        match inputs.get(*name) {
            Some(v) => check(name, *kind, v)?,
            None if *required => return Err(FashnError::bad_request(format!("inputs.{name} is required"))),
            None => {}
        }
    }
    Ok(job(model, inputs))
}

/// The job of validated inputs, defaults applied (§3, §4).
fn job(model: Model, inputs: &Map<String, Value>) -> Job {
    let text = |k: &str| inputs.get(k).and_then(Value::as_str).map(str::to_owned);
    let int = |k: &str, d: u64| inputs.get(k).and_then(Value::as_u64).unwrap_or(d);
    let samples = if model == Model::Max { int("num_images", 1) } else { int("num_samples", 1) } as u32;
    let resolution = match text("resolution").as_deref() {
        Some("2k") => "2k",
        Some("4k") => "4k",
        _ => "1k",
    };
    let per_image = match model {
        // Omitted generation_mode is "chosen automatically, billed as balanced" (§4).
        Model::Max => {
            let quality = text("generation_mode").as_deref() == Some("quality");
            let base = match resolution {
                "2k" => 3,
                "4k" => 4,
                _ => 2,
            };
            base + u64::from(quality)
        }
        // v1.6: 1 per image (§10); v1.5's price is NOT FOUND, taken as v1.6's.
        Model::V16 | Model::V15 => 1,
    };
    let garment_key = if model == Model::Max { "product_image" } else { "garment_image" };
    Job {
        model,
        person: text("model_image").unwrap_or_default(),
        garment: text(garment_key).unwrap_or_default(),
        seed: int("seed", 42),
        samples,
        jpeg: text("output_format").as_deref() == Some("jpeg"),
        return_base64: inputs.get("return_base64").and_then(Value::as_bool).unwrap_or(false),
        resolution,
        aspect_ratio: text("aspect_ratio"),
        credits: per_image * samples as u64,
    }
}
