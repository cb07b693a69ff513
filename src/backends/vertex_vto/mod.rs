//! Vertex AI Virtual Try-On (`virtual-try-on-001`) through `:predict`: the checks on
//! `vertexTryOnParams`, the request body exactly per the reference
//! (`shared/reference/vertex-virtual-try-on.md` §2), reply parsing (§3), the mapping of
//! Google's failures onto our codes (§6) and the price. Pure. What both Google backends
//! share is in [`super::google_common`].

use serde::{Deserialize, Serialize};

use super::body::{body_with_images, image_placeholder};
use super::google_common::{self, checked_block, max_body_bytes, not_json, reply_image, typed_block};
use super::try_on::{Reply, Request, RequestImages, TryOn};
use crate::adapters::model::ModelCallError;
use crate::core::backend::Backend;
use crate::core::catalog::Price;
use crate::core::error::{ErrorCode, JobError};
use crate::core::manifest::JobSpec;

const TITLE: &str = "Vertex AI Virtual Try-On";
const BLOCK: &str = "vertexTryOnParams";
/// Longest `productDescription`. Google documents no limit; this keeps a manifest's text a
/// description, not a document.
pub const MAX_PRODUCT_DESCRIPTION_CHARS: usize = 1000;
/// genkit's range for `baseSteps`; Google documents none (reference §2.2).
const BASE_STEPS: std::ops::RangeInclusive<i64> = 1..=100;

/// Vertex AI Virtual Try-On.
pub struct VertexVto;

impl TryOn for VertexVto {
    fn backend(&self) -> Backend {
        Backend::VertexVto
    }

    fn check_options(&self, spec: &JobSpec) -> Vec<String> {
        let mut problems = Vec::new();
        let o: Options = typed_block(BLOCK, spec.options.as_ref(), &mut problems);
        check(&o, spec, &mut problems);
        problems
    }

    fn max_body_bytes(&self) -> usize {
        max_body_bytes(Backend::VertexVto)
    }

    fn request(&self, spec: &JobSpec, images: RequestImages<'_>) -> Result<Request, JobError> {
        Ok(Request { body: request_body(spec, images)?, instruction: None })
    }

    fn parse_reply(&self, body: &[u8]) -> Result<Reply, JobError> {
        parse_reply(body)
    }

    fn classify(&self, e: &ModelCallError, model: &str) -> JobError {
        classify(e, model)
    }

    /// Per generated image (Google's rate is not in the references: the catalog's `price`,
    /// set with `MODEL_CATALOG_JSON`): the images asked for before the call, the images
    /// returned after it, taking filtered samples as unbilled, which Google does not document
    /// either.
    fn price(&self, spec: &JobSpec, _width: u32, _height: u32, reply: Option<&Reply>, price: &Price) -> f64 {
        let images = reply.map_or(spec.number_of_images() as usize, |r| r.images.len());
        price.per_image * images as f64
    }
}

/// `vertexTryOnParams` as the manifest may give it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Options {
    /// Signed, so a negative number gets the range message rather than a type error.
    base_steps: Option<i64>,
    person_generation: Option<PersonGeneration>,
    safety_setting: Option<SafetySetting>,
    add_watermark: Option<bool>,
    product_description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum PersonGeneration {
    DontAllow,
    AllowAdult,
    AllowAll,
}

/// The reference's underscore spelling (§2.2); `block_none` needs access Google grants.
/// The variants spell Google's wire values.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum SafetySetting {
    BlockLowAndAbove,
    BlockMediumAndAbove,
    BlockOnlyHigh,
    BlockNone,
}

/// The ranges and combinations serde cannot check.
fn check(o: &Options, spec: &JobSpec, problems: &mut Vec<String>) {
    if let Some(n) = o.base_steps.filter(|n| !BASE_STEPS.contains(n)) {
        problems.push(format!(
            "{BLOCK}.baseSteps: {n} is out of range; use 1 to 100 (32 when absent; more is slower and finer)"
        ));
    }
    if let Some(d) = &o.product_description {
        if d.trim().is_empty() || d.chars().count() > MAX_PRODUCT_DESCRIPTION_CHARS {
            problems.push(format!(
                "{BLOCK}.productDescription: 1 to {MAX_PRODUCT_DESCRIPTION_CHARS} characters describing the garment, or leave it out"
            ));
        }
    }
    // Reference §2.2: a seed makes the output repeatable only without the watermark.
    if spec.generation.seed.is_some() && o.add_watermark == Some(true) {
        problems.push(format!(
            "{BLOCK}.addWatermark: Virtual Try-On takes a seed only without the watermark; set addWatermark to false (or leave it out) or remove imageGenerationConfig.seed"
        ));
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    instances: [Instance<'a>; 1],
    parameters: Parameters,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Instance<'a> {
    person_image: Slot,
    product_images: [Product<'a>; 1],
}

#[derive(Serialize)]
struct Slot {
    image: Image,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    /// An image placeholder of [`body_with_images`].
    bytes_base64_encoded: String,
    mime_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Product<'a> {
    image: Image,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_image_config: Option<ProductConfig<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductConfig<'a> {
    product_description: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    sample_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_steps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_watermark: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    person_generation: Option<PersonGeneration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safety_setting: Option<SafetySetting>,
    output_options: OutputOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputOptions {
    mime_type: &'static str,
}

/// The `:predict` body: one instance (person, one garment), and only the parameters the
/// manifest gave plus those we need (`sampleCount`, PNG output so nothing is lost twice;
/// `addWatermark: false` when a seed is set, which Google requires). The images precede
/// the product description, as [`body_with_images`] requires.
pub fn request_body(spec: &JobSpec, images: RequestImages<'_>) -> Result<Vec<u8>, JobError> {
    let o: Options = checked_block(BLOCK, spec.options.as_ref())?;
    let image = |i: usize, mime| Image { bytes_base64_encoded: image_placeholder(i), mime_type: mime };
    let seed = spec.generation.seed;
    let body = Body {
        instances: [Instance {
            person_image: Slot { image: image(0, images.source.mime) },
            product_images: [Product {
                image: image(1, images.reference.mime),
                product_image_config: o
                    .product_description
                    .as_deref()
                    .map(|d| ProductConfig { product_description: d.trim() }),
            }],
        }],
        parameters: Parameters {
            sample_count: spec.number_of_images(),
            seed,
            base_steps: o.base_steps,
            add_watermark: o.add_watermark.or(seed.map(|_| false)),
            person_generation: o.person_generation,
            safety_setting: o.safety_setting,
            output_options: OutputOptions { mime_type: "image/png" },
        },
    };
    body_with_images(&body, &[images.source.bytes, images.reference.bytes])
}

#[derive(Deserialize)]
struct RawReply {
    #[serde(default)]
    predictions: Vec<Prediction>,
}

/// One sample: an image, a Cloud Storage location, or the reason it was filtered (§3).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Prediction {
    mime_type: Option<String>,
    bytes_base64_encoded: Option<String>,
    gcs_uri: Option<String>,
    rai_filtered_reason: Option<String>,
}

/// Parses a 200 reply. Some samples filtered: the others, with a moderation note. All
/// filtered, or no predictions at all (what genkit reads as blocked; Google does not say):
/// `content_filtered`.
pub fn parse_reply(body: &[u8]) -> Result<Reply, JobError> {
    let raw: RawReply =
        serde_json::from_slice(body).map_err(|e| JobError::new(ErrorCode::Internal, not_json(TITLE, &e)))?;
    let total = raw.predictions.len();
    let mut images = Vec::new();
    let mut reasons = Vec::new();
    for (i, p) in raw.predictions.into_iter().enumerate() {
        let what = format!("prediction {}", i + 1);
        match (p.bytes_base64_encoded, p.gcs_uri, p.rai_filtered_reason) {
            (Some(b64), None, None) => images.push(reply_image(&b64, p.mime_type.as_deref(), &what, TITLE)?),
            (None, Some(_), None) => {
                return Err(JobError::new(
                    ErrorCode::Internal,
                    format!("the {TITLE} reply's {what} points at Cloud Storage (gcsUri) instead of carrying the image; this function never sets storageUri"),
                ))
            }
            (None, None, Some(reason)) => reasons.push(reason),
            _ => {
                return Err(JobError::new(
                    ErrorCode::Internal,
                    format!("the {TITLE} reply's {what} has not exactly one of bytesBase64Encoded, gcsUri and raiFilteredReason"),
                ))
            }
        }
    }
    let why = quoted_reasons(&reasons);
    if images.is_empty() {
        let what = match total {
            0 => format!("{TITLE} returned no predictions: its responsible-AI filters blocked every sample"),
            n => format!("{TITLE}'s responsible-AI filters blocked all {n} generated images{why}"),
        };
        return Err(JobError::new(
            ErrorCode::ContentFiltered,
            format!("{what}; try other photos, or a personGeneration or safetySetting that allows them"),
        ));
    }
    let moderation = (!reasons.is_empty()).then(|| {
        format!("{} of {total} generated images were filtered by {TITLE}'s responsible-AI filters{why}", reasons.len())
    });
    Ok(Reply { images, moderation, ..Reply::default() })
}

/// `: "a"; "b"` with each distinct reason once, or nothing when there are none.
fn quoted_reasons(reasons: &[String]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for r in reasons.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        if !distinct.contains(&r) {
            distinct.push(r);
        }
    }
    if distinct.is_empty() {
        return String::new();
    }
    format!(": {}", distinct.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join("; "))
}

/// Maps a failed `:predict` call to the job error users see.
pub fn classify(e: &ModelCallError, model: &str) -> JobError {
    google_common::classify(e, model, &HINTS)
}

/// What Virtual Try-On's failures tell the user to do.
const HINTS: google_common::Hints = google_common::Hints {
    title: TITLE,
    refused: TITLE,
    filters: "responsible-AI filters",
    filtered: "use other photos, or a personGeneration or safetySetting that allows them",
    rejected: "check vertexTryOnParams and the images",
    not_found:
        "set VERTEX_MODEL (virtual-try-on-001) and VERTEX_LOCATION to a region that offers it (e.g. us-central1)",
    throttled: "it allows 50 requests per minute per region and model; the job will be retried",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::model::ModelFailureKind;
    use crate::backends::EncodedImage;
    use crate::core::manifest;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> JobSpec {
        manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[Backend::VertexVto]).unwrap()
    }

    fn with_options(options: serde_json::Value) -> JobSpec {
        spec(json!({"source": "p.jpg", "garment": "g.png", "vertexTryOnParams": options}))
    }

    fn images() -> RequestImages<'static> {
        RequestImages {
            source: EncodedImage { bytes: b"SOURCE", mime: "image/jpeg", width: 640, height: 480 },
            reference: EncodedImage { bytes: b"GARMENT", mime: "image/png", width: 640, height: 480 },
            mask: None,
        }
    }

    #[test]
    fn body_matches_golden_files() {
        let cases = crate::backends::golden_cases("vertex-vto");
        assert!(cases.len() >= 3, "expected golden cases, found {}", cases.len());
        for (name, manifest, want) in cases {
            let s = spec(manifest);
            assert_eq!(VertexVto.check_options(&s), Vec::<String>::new(), "golden {name}");
            let req = VertexVto.request(&s, images()).unwrap();
            assert_eq!(req.instruction, None);
            let got: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(got, want, "golden {name}");
            let text = String::from_utf8(req.body).unwrap();
            assert!(
                text.starts_with(r#"{"instances":[{"personImage":{"image":{"bytesBase64Encoded":"U09VUkNF""#),
                "{name}"
            );
        }
    }

    #[test]
    fn a_description_that_looks_like_a_placeholder_is_sent_as_text() {
        let s = with_options(json!({"productDescription": "@IMAGE0@ @IMAGE1@"}));
        let v: serde_json::Value = serde_json::from_slice(&VertexVto.request(&s, images()).unwrap().body).unwrap();
        let product = &v["instances"][0]["productImages"][0];
        assert_eq!(product["productImageConfig"]["productDescription"], "@IMAGE0@ @IMAGE1@");
        assert_eq!(product["image"]["bytesBase64Encoded"], "R0FSTUVOVA==");
    }

    #[test]
    fn valid_options_pass() {
        let s = with_options(json!({"baseSteps": 1, "personGeneration": "allow_all", "safetySetting": "block_none",
            "addWatermark": false, "productDescription": "x".repeat(1000)}));
        assert_eq!(VertexVto.check_options(&s), Vec::<String>::new());
        let s = spec(
            json!({"source": "p.jpg", "garment": "g.png", "vertexTryOnParams": {"baseSteps": 100, "addWatermark": false},
            "imageGenerationConfig": {"seed": 1}}),
        );
        assert_eq!(VertexVto.check_options(&s), Vec::<String>::new());
    }

    #[test]
    fn every_option_problem_is_reported_at_once() {
        let s = with_options(json!({"baseSteps": 0, "personGeneration": "ALLOW_ALL", "safetySetting": "block_most",
            "addWatermark": "no", "productDescription": " ", "negativePrompt": "x"}));
        let p = VertexVto.check_options(&s);
        for field in ["personGeneration", "safetySetting", "addWatermark", "negativePrompt"] {
            assert!(p.iter().any(|p| p.starts_with(&format!("vertexTryOnParams.{field}: "))), "{field}: {p:?}");
        }
        for field in ["baseSteps", "productDescription"] {
            assert!(p.iter().any(|p| p.starts_with(&format!("vertexTryOnParams.{field}: "))), "{field}: {p:?}");
        }
        assert_eq!(p.len(), 6, "{p:?}");
        assert!(p.iter().any(|p| p.contains("`allow_adult`")), "the choices are named: {p:?}");
        let p = VertexVto.check_options(&with_options(json!({"baseSteps": 101, "productDescription": " "})));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("vertexTryOnParams.baseSteps: 101 is out of range; use 1 to 100"), "{p:?}");
        assert!(p[1].starts_with("vertexTryOnParams.productDescription: 1 to 1000"), "{p:?}");
        for bad in [json!({"baseSteps": -3}), json!({"productDescription": "x".repeat(1001)})] {
            assert_eq!(VertexVto.check_options(&with_options(bad.clone())).len(), 1, "{bad}");
        }
        let p = VertexVto.check_options(&with_options(json!([1])));
        assert_eq!(p, ["vertexTryOnParams: must be a JSON object of options, e.g. {}"]);
    }

    #[test]
    fn a_seed_refuses_the_watermark_and_turns_it_off_when_unset() {
        let s = spec(json!({"source": "p.jpg", "garment": "g.png", "vertexTryOnParams": {"addWatermark": true},
            "imageGenerationConfig": {"seed": 5}}));
        let p = VertexVto.check_options(&s);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("vertexTryOnParams.addWatermark: ") && p[0].contains("seed"), "{p:?}");
        let s = spec(json!({"source": "p.jpg", "garment": "g.png", "imageGenerationConfig": {"seed": 5}}));
        let v: serde_json::Value = serde_json::from_slice(&VertexVto.request(&s, images()).unwrap().body).unwrap();
        assert_eq!(v["parameters"]["addWatermark"], false);
        // Without a seed, the watermark is Google's default: not sent.
        let v: serde_json::Value =
            serde_json::from_slice(&VertexVto.request(&with_options(json!({})), images()).unwrap().body).unwrap();
        assert!(v["parameters"].get("addWatermark").is_none(), "{v}");
    }

    pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    pub(crate) const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF";

    pub(crate) fn b64(bytes: &[u8]) -> String {
        base64_simd::STANDARD.encode_to_string(bytes)
    }

    fn reply(predictions: serde_json::Value) -> Result<Reply, JobError> {
        parse_reply(&serde_json::to_vec(&json!({ "predictions": predictions })).unwrap())
    }

    #[test]
    fn every_image_is_returned() {
        let r = reply(json!([{"mimeType": "image/png", "bytesBase64Encoded": b64(PNG)},
            {"mimeType": "image/jpeg", "bytesBase64Encoded": b64(JPEG), "safetyAttributes": {}},
            {"bytesBase64Encoded": b64(PNG)}]))
        .unwrap();
        assert_eq!(r.images, vec![PNG.to_vec(), JPEG.to_vec(), PNG.to_vec()]);
        assert_eq!((r.moderation, r.mask, r.output_tokens), (None, None, None));
    }

    #[test]
    fn some_filtered_samples_are_a_moderation_note() {
        let r = reply(json!([{"mimeType": "image/png", "bytesBase64Encoded": b64(PNG)},
            {"raiFilteredReason": "person/face 39322892"}, {"raiFilteredReason": "person/face 39322892"}]))
        .unwrap();
        assert_eq!(r.images.len(), 1);
        let m = r.moderation.unwrap();
        assert!(m.starts_with("2 of 3 generated images were filtered"), "{m}");
        assert_eq!(m.matches("39322892").count(), 1, "reasons once each: {m}");
    }

    #[test]
    fn all_filtered_or_no_predictions_is_content_filtered() {
        let e = reply(json!([{"raiFilteredReason": "sexual 90789179"}, {"raiFilteredReason": "child 58061214"}]))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ContentFiltered);
        assert!(e.message.contains("all 2") && e.message.contains("90789179") && e.message.contains("58061214"), "{e}");
        for body in [&br#"{"predictions":[]}"#[..], b"{}"] {
            let e = parse_reply(body).unwrap_err();
            assert_eq!(e.code, ErrorCode::ContentFiltered, "{e}");
            assert!(e.message.contains("no predictions") && e.message.contains("blocked every sample"), "{e}");
        }
    }

    #[test]
    fn malformed_replies_are_internal_and_never_quote_bytes() {
        let cases = [
            (json!([{"gcsUri": "gs://b/o.png", "mimeType": "image/png"}]), "gcsUri"),
            (json!([{"mimeType": "image/webp", "bytesBase64Encoded": b64(PNG)}]), "image/webp"),
            (json!([{"mimeType": "image/png", "bytesBase64Encoded": "***"}]), "base64"),
            (json!([{"mimeType": "image/png", "bytesBase64Encoded": b64(b"GIF89a-not-png")}]), "not a PNG or JPEG"),
            (json!([{"mimeType": "image/png"}]), "exactly one"),
            (json!([{"bytesBase64Encoded": b64(PNG), "raiFilteredReason": "x"}]), "exactly one"),
        ];
        for (predictions, says) in cases {
            let e = reply(predictions.clone()).unwrap_err();
            assert_eq!(e.code, ErrorCode::Internal, "{predictions}");
            assert!(e.message.contains(says), "{e}");
            assert!(!e.message.contains(&b64(PNG)), "{e}");
        }
        assert_eq!(parse_reply(b"<html>").unwrap_err().code, ErrorCode::Internal);
        let e = parse_reply(format!(r#"{{"predictions":"{}"}}"#, b64(PNG)).as_bytes()).unwrap_err();
        assert!(e.message.contains("invalid type: string \"…\", expected") && !e.message.contains(&b64(PNG)), "{e}");
        let e = parse_reply(br#"{"predictions":"a\"b\\ SECRET"}"#).unwrap_err();
        assert!(e.message.contains("\"…\", expected a sequence") && !e.message.contains("SECRET"), "{e}");
        assert_eq!(parse_reply(br#"{"predictions":{}}"#).unwrap_err().code, ErrorCode::Internal);
    }

    /// A failure as the transport makes it: Google's status is the message's first word.
    fn failure(kind: ModelFailureKind, message: &str) -> ModelCallError {
        let status = message.split(' ').next().filter(|s| s.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        match status {
            Some(s) if !s.is_empty() => ModelCallError::new(kind, message).answered(400, s),
            _ => ModelCallError::new(kind, message),
        }
    }

    #[test]
    fn every_failure_kind_maps_to_a_code_that_says_what_to_fix() {
        use ModelFailureKind::*;
        let cases = [
            (Validation, "INVALID_ARGUMENT (HTTP 400): Image generation failed with the following error: The input image contains content that violates Google's Responsible AI practices. Support codes: 17301594", ErrorCode::ModelRejected, "other photos"),
            (Validation, "INVALID_ARGUMENT (HTTP 400): The input image was blocked by your current safety settings for person generation.", ErrorCode::ModelRejected, "personGeneration"),
            (Validation, "FAILED_PRECONDITION (HTTP 400): Project is not allowlisted for this model.", ErrorCode::ModelRejected, "allowlisting"),
            (Validation, "FAILED_PRECONDITION (HTTP 400): Safety setting block_none is blocked by an organization policy.", ErrorCode::ModelRejected, "organisation policy"),
            (Validation, "INVALID_ARGUMENT (HTTP 400): safetySetting block_none needs restricted access.", ErrorCode::ModelRejected, "vertexTryOnParams"),
            (Validation, "INVALID_ARGUMENT (HTTP 400): Request contains an invalid argument.", ErrorCode::ModelRejected, "vertexTryOnParams"),
            (NotFound, "NOT_FOUND (HTTP 404): Publisher Model was not found.", ErrorCode::ModelUnavailable, "VERTEX_LOCATION"),
            (AccessDenied, "PERMISSION_DENIED (HTTP 403): Permission 'aiplatform.endpoints.predict' denied.", ErrorCode::ModelUnavailable, "roles/aiplatform.user"),
            (Unauthenticated, "UNAUTHENTICATED (HTTP 401): Request had invalid authentication credentials.", ErrorCode::AuthFailed, "credentials"),
            (Throttled, "RESOURCE_EXHAUSTED (HTTP 429): Quota exceeded.", ErrorCode::Throttled, "50 requests per minute"),
            (Timeout, "DEADLINE_EXCEEDED (HTTP 504): Deadline exceeded.", ErrorCode::ModelTimeout, "in time"),
            (ModelError, "INTERNAL (HTTP 500): Internal error.", ErrorCode::ModelError, "retried"),
            (Unavailable, "UNAVAILABLE (HTTP 503): The service is currently unavailable.", ErrorCode::ModelError, "retried"),
        ];
        for (kind, message, code, hint) in cases {
            let j = classify(&failure(kind, message), "virtual-try-on-001");
            assert_eq!(j.code, code, "{message}");
            assert!(j.message.contains(message) && j.message.contains(hint), "{j}");
        }
        assert!(classify(&failure(NotFound, "x"), "virtual-try-on-001").message.contains("VERTEX_MODEL"));
        assert!(classify(&failure(AccessDenied, "x"), "m").message.contains("VERTEX_PROJECT"));
    }

    #[test]
    fn googles_status_field_decides_not_the_message() {
        // The same words under another status, and another status under the same words.
        let refused = ModelCallError::new(ModelFailureKind::Validation, "INVALID_ARGUMENT: allowlisting")
            .answered(400, "FAILED_PRECONDITION");
        assert!(classify(&refused, "m").message.contains("allowlisting for project"), "by the field");
        let plain = ModelCallError::new(ModelFailureKind::Validation, "FAILED_PRECONDITION (HTTP 400): no")
            .answered(400, "INVALID_ARGUMENT");
        assert!(!classify(&plain, "m").message.contains("allowlisting for project"), "not by the message");
    }

    #[test]
    fn price_is_per_image_asked_then_per_image_returned() {
        let p = Price { per_image: 0.05, ..Price::default() };
        let s = spec(json!({"source": "p.jpg", "garment": "g.png", "imageGenerationConfig": {"numberOfImages": 3}}));
        assert!((VertexVto.price(&s, 640, 480, None, &p) - 0.15).abs() < 1e-12);
        let r = Reply { images: vec![vec![], vec![]], ..Reply::default() };
        assert!((VertexVto.price(&s, 640, 480, Some(&r), &p) - 0.10).abs() < 1e-12);
    }

    #[test]
    fn the_body_cap_holds_two_7_mb_images_in_base64() {
        let cap = VertexVto.max_body_bytes();
        assert!((2 * 9_333_336..19_000_000).contains(&cap), "{cap}");
    }
}
