//! Virtual Try-On `:predict`: strict validation of the body against the VTO reference
//! (§2 request, §4 limits) and the deterministic answer (§3): one prediction per sample,
//! each the person picture at its own size with the garment over the torso.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::{json, Value};

use super::faults::Fault;
use super::fields::{labels, Naming, Node};
use super::inline;
use super::paint::{self, Encoding};
use super::wire::{parse_json, GoogleError};

/// A request that passed validation.
struct Request {
    person: RgbImage,
    garment: DynamicImage,
    samples: u32,
    seed: Option<u64>,
    encoding: Encoding,
}

/// `productImageConfig.maskMode` values (reference §2.1).
const MASK_MODES: &[&str] = &[
    "MASK_MODE_DEFAULT",
    "MASK_MODE_USER_PROVIDED",
    "MASK_MODE_DETECTION_BOX",
    "MASK_MODE_CLOTHING_AREA",
    "MASK_MODE_PARSED_PERSON",
];

/// `safetySetting` (reference §2.2): the underscore spelling and the newer page's hyphens.
/// genkit's `block_most/some/few/fewest` are unverified and refused.
const SAFETY: &[&str] = &[
    "block_low_and_above",
    "block_medium_and_above",
    "block_only_high",
    "block_none",
    "block-low-and-above",
    "block-medium-and-above",
    "block-only-high",
    "block-none",
];

/// What a filtered sample carries instead of an image (the VTO text is NOT FOUND; this is
/// the Imagen family's wording).
const FILTERED: &str = "Your current safety filter threshold filtered out the generated image. Please try rephrasing your request or using a different image. Support codes: 39322892";

/// Validates `body` and answers it, shaped by `fault`.
pub(super) fn answer(body: &[u8], fault: Option<&Fault>) -> Result<Value, GoogleError> {
    let v = parse_json(body)?;
    let req = validate(&v)?;
    render(&req, fault)
}

fn validate(v: &Value) -> Result<Request, GoogleError> {
    let root = Node::root(v, Naming::Json)?;
    root.only(&["instances", "parameters", "labels"])?;
    labels(&root)?;
    let instances = root.objects("instances")?.ok_or_else(|| root.missing("instances"))?;
    if instances.len() != 1 {
        let n = instances.len();
        return Err(root.invalid("instances", format!("exactly one instance is allowed, got {n}.")));
    }
    let (person, garment) = instance(&instances[0])?;
    let (samples, seed, encoding) = parameters(root.child("parameters")?)?;
    Ok(Request { person, garment, samples, seed, encoding })
}

/// The person and the one garment (reference §2.1, Key fact 3).
fn instance(node: &Node) -> Result<(RgbImage, DynamicImage), GoogleError> {
    node.only(&["personImage", "productImages", "prompt"])?;
    if node.obj.contains_key("prompt") {
        // "not supported for Virtual Try-On" and "behind an allowlist" (§2.1): a precondition.
        let field = node.field("prompt");
        return Err(GoogleError {
            field: Some(field.clone()),
            ..GoogleError::new(400, "FAILED_PRECONDITION", format!("'{field}' is not supported for Virtual Try-On: prompts are behind an allowlist this project is not on."))
        });
    }
    let person_node = node.need_child("personImage")?;
    person_node.only(&["image"])?;
    let person = image_field(&person_node.need_child("image")?)?.to_rgb8();
    let products = node.objects("productImages")?.ok_or_else(|| node.missing("productImages"))?;
    if products.len() != 1 {
        let n = products.len();
        return Err(node.invalid("productImages", format!("exactly one product image is allowed per call, got {n}.")));
    }
    let product = &products[0];
    product.only(&["image", "maskImage", "productImageConfig"])?;
    let garment = image_field(&product.need_child("image")?)?;
    if let Some(mask) = product.child("maskImage")? {
        image_field(&mask)?;
    }
    if let Some(config) = product.child("productImageConfig")? {
        config.only(&["maskMode", "dilation", "productDescription"])?;
        config.one_of("maskMode", MASK_MODES)?;
        config.number("dilation", f64::MIN, f64::MAX)?;
        config.string("productDescription")?;
    }
    Ok((person, garment))
}

/// An `Image`: exactly one of inline bytes and a Cloud Storage URI, PNG or JPEG (§2.1, §4).
fn image_field(node: &Node) -> Result<DynamicImage, GoogleError> {
    node.only(&["bytesBase64Encoded", "gcsUri", "mimeType"])?;
    let declared = node.one_of("mimeType", &["image/png", "image/jpeg"])?;
    match (node.string("bytesBase64Encoded")?, node.string("gcsUri")?) {
        (Some(b64), None) => {
            inline::decode(b64, declared, &[ImageFormat::Png, ImageFormat::Jpeg], &node.field("bytesBase64Encoded"))
        }
        (None, Some(uri)) => Err(node.invalid(
            "gcsUri",
            format!("the emulator cannot read Cloud Storage ({uri}); send the image inline in bytesBase64Encoded."),
        )),
        (Some(_), Some(_)) => {
            Err(node.invalid("gcsUri", "set exactly one of bytesBase64Encoded and gcsUri, not both."))
        }
        (None, None) => Err(node.invalid("bytesBase64Encoded", "set exactly one of bytesBase64Encoded and gcsUri.")),
    }
}

/// `parameters` (§2.2): sample count, steps, seed and watermark, enums, output options.
fn parameters(p: Option<Node>) -> Result<(u32, Option<u64>, Encoding), GoogleError> {
    let Some(p) = p else { return Ok((1, None, Encoding::Png)) };
    p.only(&[
        "sampleCount",
        "baseSteps",
        "seed",
        "addWatermark",
        "personGeneration",
        "safetySetting",
        "storageUri",
        "outputOptions",
        "enhancePrompt",
    ])?;
    let samples = p.int("sampleCount", 1, 4)?.unwrap_or(1) as u32;
    // The official range is NOT FOUND; genkit validates 1-100 (§2.2).
    p.int("baseSteps", 1, 100)?;
    // The range is NOT FOUND; a seed is non-negative and the emulator accepts any uint32.
    let seed = p.int("seed", 0, u32::MAX as i64)?.map(|s| s as u64);
    // The watermark defaults to on, and a seed needs it off (§2.2).
    if seed.is_some() && p.boolean("addWatermark")?.unwrap_or(true) {
        return Err(
            p.invalid("addWatermark", "a seed is only honoured without the watermark; set addWatermark to false.")
        );
    }
    p.boolean("enhancePrompt")?;
    person_generation(&p)?;
    p.one_of("safetySetting", SAFETY)?;
    if p.obj.contains_key("storageUri") {
        return Err(p.invalid(
            "storageUri",
            "the emulator cannot write to Cloud Storage; leave storageUri out to get inline bytes.",
        ));
    }
    let encoding = paint::encoding(p.child("outputOptions")?)?;
    Ok((samples, seed, encoding))
}

/// `dont_allow`, `allow_adult`, `allow_all`, case-insensitive, and the older `allowAll`
/// spelling (§2.2: the SDK sends `ALLOW_ALL`, an older page `allowAll`).
fn person_generation(p: &Node) -> Result<(), GoogleError> {
    let Some(s) = p.string("personGeneration")? else { return Ok(()) };
    let folded: String = s.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect();
    if ["dontallow", "allowadult", "allowall"].contains(&folded.as_str()) {
        return Ok(());
    }
    Err(p.invalid(
        "personGeneration",
        format!("\"{s}\" is not one of dont_allow, allow_adult, allow_all (any case; allowAll also accepted)."),
    ))
}

/// One prediction per sample; `fault` filters some, empties the list or corrupts the images.
fn render(req: &Request, fault: Option<&Fault>) -> Result<Value, GoogleError> {
    let keep = match fault {
        // Proto JSON omits an empty repeated field, so "no predictions" is `{}`.
        Some(Fault::EmptyPredictions) => return Ok(json!({})),
        Some(Fault::Filtered { keep }) => (*keep).min(req.samples),
        _ => req.samples,
    };
    let mut predictions = Vec::with_capacity(req.samples as usize);
    for n in 0..req.samples {
        if n >= keep {
            predictions.push(json!({ "raiFilteredReason": FILTERED }));
            continue;
        }
        let picture = paint::dress(&req.person, Some(&req.garment), paint::tint(req.seed.unwrap_or(0), n));
        let bytes = paint::encode(&picture, req.encoding)?;
        predictions.push(prediction(bytes, req.encoding, fault));
    }
    Ok(json!({ "predictions": predictions }))
}

/// An image prediction, malformed as a fault asks.
fn prediction(bytes: Vec<u8>, encoding: Encoding, fault: Option<&Fault>) -> Value {
    match fault {
        Some(Fault::BadBase64) => {
            json!({ "mimeType": encoding.mime(), "bytesBase64Encoded": "iVBORw0K%%not*base64%%" })
        }
        Some(Fault::WrongMime) => json!({ "mimeType": "text/plain", "bytesBase64Encoded": B64.encode(bytes) }),
        Some(Fault::OversizedImage) => {
            json!({ "mimeType": "image/png", "bytesBase64Encoded": B64.encode(paint::claimed_png(20_000, 20_000)) })
        }
        _ => json!({ "mimeType": encoding.mime(), "bytesBase64Encoded": B64.encode(bytes) }),
    }
}
