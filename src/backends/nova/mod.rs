//! Nova Canvas `VIRTUAL_TRY_ON` through Bedrock `InvokeModel`: the rules on its parameters
//! ([`options`]), the request body exactly per the reference, reply parsing, the mapping of
//! model failures to job errors, and the price table. Pure.

pub mod options;

use serde::{Deserialize, Serialize};

use super::body::push_base64;
use super::try_on::{Reply, Request, RequestImages, TryOn};
use crate::adapters::model::{ModelCallError, ModelFailureKind};
use crate::core::backend::Backend;
use crate::core::catalog::Price;
use crate::core::error::{ErrorCode, JobError};
use crate::core::manifest::{GarmentBasedMask, JobSpec, MaskExclusions, MaskType, MergeStyle, PromptBasedMask};

/// Bedrock's cap on the `InvokeModel` body.
pub use crate::core::limits::MAX_BODY_BYTES;

/// Amazon Nova Canvas, the default backend.
pub struct NovaCanvas;

impl TryOn for NovaCanvas {
    fn backend(&self) -> Backend {
        Backend::NovaCanvas
    }

    fn check_options(&self, spec: &JobSpec) -> Vec<String> {
        options::check(spec)
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }

    fn request(&self, spec: &JobSpec, images: RequestImages<'_>) -> Result<Request, JobError> {
        Ok(Request { body: request_body(spec, images), instruction: None })
    }

    fn parse_reply(&self, body: &[u8]) -> Result<Reply, JobError> {
        parse_reply(body)
    }

    fn classify(&self, e: &ModelCallError, model: &str) -> JobError {
        classify(e, model)
    }

    fn price(&self, spec: &JobSpec, width: u32, height: u32, _reply: Option<&Reply>, price: &Price) -> f64 {
        price_per_image(price, spec.quality(), width, height) * spec.number_of_images() as f64
    }
}

/// The non-image part of `virtualTryOnParams`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Params<'a> {
    mask_type: MaskType,
    #[serde(skip_serializing_if = "Option::is_none")]
    garment_based_mask: Option<&'a GarmentBasedMask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_based_mask: Option<&'a PromptBasedMask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mask_exclusions: Option<&'a MaskExclusions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merge_style: Option<MergeStyle>,
    return_mask: bool,
}

/// Builds the `InvokeModel` body. Only the fields the manifest gave (plus the documented
/// defaults) are sent; `width`/`height` never are. The images are base64-encoded straight
/// into the body (no intermediate strings): the body is the largest buffer of a job.
pub fn request_body(spec: &JobSpec, images: RequestImages<'_>) -> Vec<u8> {
    let p = &spec.params;
    let g = &spec.generation;
    let params = Params {
        mask_type: spec.mask_type(),
        garment_based_mask: p.garment_based_mask.as_ref().filter(|_| spec.mask_type() == MaskType::Garment),
        prompt_based_mask: p.prompt_based_mask.as_ref().filter(|_| spec.mask_type() == MaskType::Prompt),
        mask_exclusions: p.mask_exclusions.as_ref(),
        merge_style: p.merge_style,
        return_mask: spec.return_mask(),
    };
    // Serialising enums, strings and numbers cannot fail.
    let params = serde_json::to_vec(&params).unwrap_or_else(|_| b"{}".to_vec());
    let any_config = g.number_of_images.is_some() || g.quality.is_some() || g.cfg_scale.is_some() || g.seed.is_some();
    let config = any_config.then(|| serde_json::to_vec(g).unwrap_or_default());
    let image_bytes = [images.source.bytes.len(), images.reference.bytes.len(), images.mask.map_or(0, <[u8]>::len)];
    let mut out = Vec::with_capacity(body_size(&image_bytes) + params.len() + config.as_ref().map_or(0, Vec::len));
    out.extend_from_slice(br#"{"taskType":"VIRTUAL_TRY_ON","virtualTryOnParams":{"sourceImage":""#);
    push_base64(&mut out, images.source.bytes);
    out.extend_from_slice(br#"","referenceImage":""#);
    push_base64(&mut out, images.reference.bytes);
    out.extend_from_slice(br#"","#);
    if let Some(mask) = images.mask {
        out.extend_from_slice(br#""imageBasedMask":{"maskImage":""#);
        push_base64(&mut out, mask);
        out.extend_from_slice(br#""},"#);
    }
    out.extend_from_slice(&params[1..]);
    if let Some(c) = config {
        out.extend_from_slice(br#","imageGenerationConfig":"#);
        out.extend_from_slice(&c);
    }
    out.push(b'}');
    out
}

/// The body size for encoded images of these sizes, within the few hundred bytes of parameters.
pub fn body_size(image_bytes: &[usize]) -> usize {
    image_bytes.iter().map(|n| super::body::base64_len(*n)).sum::<usize>() + 1024
}

#[derive(Deserialize)]
struct RawReply {
    #[serde(default)]
    images: Vec<String>,
    #[serde(default, rename = "maskImage")]
    mask_image: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Parses a 200 reply. Output moderation that blocked every image is `content_filtered`.
pub fn parse_reply(body: &[u8]) -> Result<Reply, JobError> {
    let raw: RawReply = serde_json::from_slice(body)
        .map_err(|e| JobError::new(ErrorCode::Internal, format!("the model reply is not the expected JSON ({e})")))?;
    let decode = |s: &str, what: &str| {
        base64_simd::STANDARD.decode_to_vec(s.as_bytes()).map_err(|e| {
            JobError::new(ErrorCode::Internal, format!("the model reply's {what} is not valid base64 ({e})"))
        })
    };
    let moderation = raw.error.filter(|e| !e.trim().is_empty());
    if raw.images.is_empty() {
        return Err(match moderation {
            Some(m) => JobError::new(
                ErrorCode::ContentFiltered,
                format!("Nova Canvas' content filters blocked every generated image (\"{m}\"); try other photos or parameters"),
            ),
            None => JobError::new(ErrorCode::Internal, "the model reply has no images and no error"),
        });
    }
    let images = raw
        .images
        .iter()
        .enumerate()
        .map(|(i, s)| decode(s, &format!("image {}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let mask = raw.mask_image.as_deref().map(|m| decode(m, "maskImage")).transpose()?;
    Ok(Reply { images, mask, moderation, ..Reply::default() })
}

/// What every "Nova Canvas cannot be used" answer tells the user.
pub const END_OF_LIFE: &str = "Amazon Nova Canvas reached end of life on 2026-09-30 and was removed from us-east-1, eu-west-1 and ap-northeast-1; only accounts with a private arrangement can still call it. Switch to a backend that answers today: set TRYON_BACKEND (or \"backend\" in job.json) to vertex-vto (Vertex AI Virtual Try-On), gemini-image (Gemini image models on Vertex AI) or bedrock-converse (Nova 2 Omni, preview); see README, Backends";

/// Maps a failed model call to the job error users see, by the failure kind the transport
/// derived from Bedrock's exception (never by the message: Bedrock rewords, its exception
/// names are the contract). Input moderation is a `ValidationException` like any refused
/// request (reference §7), so it is `model_rejected` with both remedies named.
pub fn classify(e: &ModelCallError, model_id: &str) -> JobError {
    let msg = e.message.trim();
    match e.kind {
        ModelFailureKind::Validation => JobError::new(
            ErrorCode::ModelRejected,
            format!("Nova Canvas rejected the request: {msg}. If its content filters blocked the input, use other photos or a different mask prompt; otherwise fix what the message names"),
        ),
        ModelFailureKind::NotFound => JobError::new(
            ErrorCode::ModelUnavailable,
            format!(
                "model {model_id} is not available (\"{msg}\"); it is not offered in this region or under this id (set MODEL_ID and BEDROCK_REGION). {END_OF_LIFE}"
            ),
        ),
        ModelFailureKind::AccessDenied => JobError::new(
            ErrorCode::ModelUnavailable,
            format!("access to model {model_id} was denied (\"{msg}\"); if your account keeps Nova Canvas access, allow bedrock:InvokeModel on the model in the function's role. {END_OF_LIFE}"),
        ),
        ModelFailureKind::Unauthenticated => JobError::new(ErrorCode::AuthFailed, format!("Bedrock refused the function's AWS credentials (\"{msg}\")")),
        ModelFailureKind::Throttled => JobError::new(ErrorCode::Throttled, format!("Bedrock throttled the call after retries (\"{msg}\"); the job will be retried")),
        ModelFailureKind::Timeout => JobError::new(ErrorCode::ModelTimeout, format!("the model did not answer in time ({msg})")),
        ModelFailureKind::ModelError => JobError::new(ErrorCode::ModelError, format!("the model failed while processing the request (\"{msg}\")")),
        ModelFailureKind::Unavailable => JobError::new(ErrorCode::ModelError, format!("Bedrock is unavailable (\"{msg}\")")),
    }
}

/// Price per image in USD from the model's catalog price: by quality and by the output's size band
/// (up to 1024×1024, or larger).
pub fn price_per_image(price: &Price, quality: crate::core::manifest::Quality, width: u32, height: u32) -> f64 {
    let band = usize::from(width as u64 * height as u64 > 1024 * 1024);
    match quality {
        crate::core::manifest::Quality::Standard => [price.per_image, price.per_large_image][band],
        crate::core::manifest::Quality::Premium => [price.premium_per_image, price.premium_per_large_image][band],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::manifest;

    fn spec(v: serde_json::Value) -> JobSpec {
        manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[Backend::NovaCanvas]).unwrap()
    }

    #[test]
    fn body_matches_golden_files() {
        let cases = super::super::golden_cases("");
        assert!(cases.len() >= 4, "expected golden cases, found {}", cases.len());
        for (name, manifest, want) in cases {
            let s = spec(manifest);
            let mask = s.mask_key.as_ref().map(|_| b"MASK".as_slice());
            let img = |bytes: &'static [u8]| super::super::try_on::EncodedImage {
                bytes,
                mime: "image/png",
                width: 640,
                height: 480,
            };
            let body = request_body(&s, RequestImages { source: img(b"SOURCE"), reference: img(b"GARMENT"), mask });
            let got: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(got, want, "golden {name}");
            // Field order on the wire follows the reference.
            let text = String::from_utf8(body).unwrap();
            assert!(
                text.starts_with("{\"taskType\":\"VIRTUAL_TRY_ON\",\"virtualTryOnParams\":{\"sourceImage\":"),
                "{name}"
            );
            assert!(!text.contains("width") && !text.contains("height"));
        }
    }

    #[test]
    fn reply_parsing() {
        let r = parse_reply(br#"{"images":["aGk=","aGk="],"maskImage":"bWFzaw=="}"#).unwrap();
        assert_eq!(r.images, vec![b"hi".to_vec(), b"hi".to_vec()]);
        assert_eq!(r.mask.as_deref(), Some(&b"mask"[..]));
        assert_eq!(r.moderation, None);

        let r = parse_reply(
            br#"{"images":["aGk="],"error":"Some of the generated images have been blocked by our content filters."}"#,
        )
        .unwrap();
        assert_eq!(r.images.len(), 1);
        assert!(r.moderation.unwrap().contains("Some"));

        let e = parse_reply(
            br#"{"images":[],"error":"All of the generated images have been blocked by our content filters."}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::ContentFiltered);
        let e = parse_reply(br#"{"error":"All of the generated images have been blocked by our content filters."}"#)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ContentFiltered);
        assert_eq!(parse_reply(b"not json").unwrap_err().code, ErrorCode::Internal);
        assert_eq!(parse_reply(br#"{"images":["***"]}"#).unwrap_err().code, ErrorCode::Internal);
        assert_eq!(parse_reply(br#"{"images":[]}"#).unwrap_err().code, ErrorCode::Internal);
    }

    #[test]
    fn model_failures_map_to_stable_codes() {
        let e = |kind, message: &str| ModelCallError::new(kind, message);
        let cases = [
            (e(ModelFailureKind::Validation, "This request has been blocked by our content filters. Please adjust your input image to submit a new request."), ErrorCode::ModelRejected),
            (e(ModelFailureKind::Validation, "Malformed input request: 1 schema violations found"), ErrorCode::ModelRejected),
            (e(ModelFailureKind::NotFound, "This model version has reached the end of its life."), ErrorCode::ModelUnavailable),
            (e(ModelFailureKind::AccessDenied, "no"), ErrorCode::ModelUnavailable),
            (e(ModelFailureKind::Throttled, "slow down"), ErrorCode::Throttled),
            (e(ModelFailureKind::Timeout, "408"), ErrorCode::ModelTimeout),
            (e(ModelFailureKind::ModelError, "424"), ErrorCode::ModelError),
            (e(ModelFailureKind::Unavailable, "503"), ErrorCode::ModelError),
        ];
        for (err, code) in cases {
            let j = classify(&err, "amazon.nova-canvas-v1:0");
            assert_eq!(j.code, code, "{err}");
            assert!(j.message.contains(err.message.trim()), "{j}");
        }
        for kind in [ModelFailureKind::NotFound, ModelFailureKind::AccessDenied] {
            let j = classify(&e(kind, "This model version has reached the end of its life."), "m");
            assert_eq!(j.code, ErrorCode::ModelUnavailable);
            assert!(j.message.contains("2026-09-30") && j.message.contains("vertex-vto"), "{j}");
            assert!(j.message.contains("gemini-image") && j.message.contains("bedrock-converse"), "{j}");
        }
        let moderated = classify(&e(ModelFailureKind::Validation, "blocked by our content filters"), "m");
        assert!(moderated.message.contains("other photos"), "the remedy is named: {moderated}");
    }

    #[test]
    fn the_message_never_decides_the_code() {
        // Bedrock rewording a message must not move a failure to another code or class.
        let said = ["end of life", "content filters", "legacy", "throttled", "", "ResourceNotFoundException"];
        for kind in [ModelFailureKind::Validation, ModelFailureKind::NotFound, ModelFailureKind::Throttled] {
            let codes: std::collections::BTreeSet<_> = said
                .iter()
                .map(|m| {
                    classify(&ModelCallError::new(kind, *m).answered(400, "ValidationException"), "m").code.as_str()
                })
                .collect();
            assert_eq!(codes.len(), 1, "{kind:?}: {codes:?}");
        }
    }

    #[test]
    fn prices_follow_quality_and_size_band() {
        use crate::core::manifest::Quality::*;
        let p = crate::core::catalog::Catalog::compiled().price(
            Backend::NovaCanvas,
            "amazon.nova-canvas-v1:0",
            crate::core::catalog::Platform::Bedrock,
        );
        assert_eq!(price_per_image(&p, Standard, 1024, 1024), 0.04);
        assert_eq!(price_per_image(&p, Standard, 1773, 2365), 0.06);
        assert_eq!(price_per_image(&p, Premium, 320, 480), 0.06);
        assert_eq!(price_per_image(&p, Premium, 2047, 2047), 0.08);
    }
}
