//! `bedrock-converse`: an image-editing model (Nova 2 Omni, preview) through Bedrock
//! `Converse`, told what to do in words. The request is the Converse wire JSON of the
//! reference (one `user` message: the person's image, the garment's image, the instruction);
//! the transport ([`crate::adapters::model::converse`]) turns it into the SDK's typed call and the
//! typed answer back into the wire JSON read here. Pure.

mod options;
mod reply;
mod request;

use super::body::base64_len;
use super::instruction;
use super::try_on::{Reply, Request, RequestImages, TryOn};
use crate::adapters::model::{ModelCallError, ModelFailureKind};
use crate::core::backend::Backend;
use crate::core::catalog::Price;
use crate::core::error::{ErrorCode, JobError};
use crate::core::manifest::JobSpec;

use options::{params, read_params};
pub use options::{
    ConverseParams, ReasoningEffort, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, MAX_SYSTEM_PROMPT_CHARS, MAX_TOKENS,
    SYSTEM_TEXT, TEMPERATURE,
};
pub use reply::parse_reply;
pub use request::request_body;

/// Converse's cap on one image (reference §2.1); the catalog's canvas keeps ours under it.
pub const MAX_IMAGE_BYTES: usize = 3_750_000;
/// Tokens one input image is billed at: Nova 2's documented flat rate for image input
/// (reference §6, [B4], documented for Nova 2 Lite; Omni's was not found and is assumed equal).
pub const IMAGE_INPUT_TOKENS: u64 = 230;

/// Bedrock Converse with an image-editing model.
pub struct BedrockConverse;

impl TryOn for BedrockConverse {
    fn backend(&self) -> Backend {
        Backend::BedrockConverse
    }

    fn check_options(&self, spec: &JobSpec) -> Vec<String> {
        read_params(spec.options.as_ref()).1
    }

    /// Converse caps each image (3.75 MB, at most 20 per message), not the body; we send two
    /// images, so the body is at most their base64 and the text (instruction and system text
    /// are at most 2000 characters each, 4 bytes a character in JSON at worst).
    fn max_body_bytes(&self) -> usize {
        2 * base64_len(MAX_IMAGE_BYTES) + 64 * 1024
    }

    fn request(&self, spec: &JobSpec, images: RequestImages<'_>) -> Result<Request, JobError> {
        let text = instruction::instruction(spec);
        let body = request_body(spec, images, &text)?;
        Ok(Request { body, instruction: Some(text) })
    }

    fn parse_reply(&self, body: &[u8]) -> Result<Reply, JobError> {
        parse_reply(body)
    }

    fn classify(&self, e: &ModelCallError, model: &str) -> JobError {
        classify(e, model)
    }

    fn price(&self, spec: &JobSpec, _width: u32, _height: u32, reply: Option<&Reply>, price: &Price) -> f64 {
        let (input, output) = match reply {
            Some(Reply { input_tokens: Some(i), output_tokens: Some(o), .. }) => (*i, *o),
            _ => estimated_tokens(spec),
        };
        tokens_price(input, output, price)
    }
}

/// USD for these tokens.
pub fn tokens_price(input: u64, output: u64, price: &Price) -> f64 {
    (input as f64 * price.input_per_million_tokens + output as f64 * price.output_per_million_tokens) / 1e6
}

/// (input, output) tokens expected for one call, before it. No per-image price or image
/// token count is published for Omni (reference §6), so this is an upper-leaning estimate:
/// input: two images at Nova 2's flat [`IMAGE_INPUT_TOKENS`] plus the text at one token per
/// 4 characters; output: the whole `maxTokens` budget, which one ~1 MP image has to fit in
/// (the editing lab's 10,000 does) and which bounds what the call can bill.
pub fn estimated_tokens(spec: &JobSpec) -> (u64, u64) {
    let p = params(spec);
    let system = p.system_prompt.as_deref().unwrap_or(SYSTEM_TEXT).chars().count();
    let text = instruction::instruction(spec).chars().count();
    let input = 2 * IMAGE_INPUT_TOKENS + (system + text).div_ceil(4) as u64;
    let output = p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS) as u64;
    (input, output)
}

/// Maps a failed Converse call to the job error users see, by the failure kind the transport
/// derived from Bedrock's exception name (never by the message).
pub fn classify(e: &ModelCallError, model_id: &str) -> JobError {
    use ModelFailureKind as K;
    let msg = e.message.trim();
    match e.kind {
        // Moderation comes back as a 200 with `stopReason: content_filtered` (parse_reply);
        // a ValidationException is a refused request, whatever its wording.
        K::Validation => JobError::new(ErrorCode::ModelRejected, format!("Bedrock Converse rejected the request: {msg}")),
        K::AccessDenied => JobError::new(
            ErrorCode::ModelUnavailable,
            format!(
                "access to model {model_id} was denied (\"{msg}\"); Nova 2 Omni is in preview: preview access must be enabled for the AWS account (Bedrock console or AWS Support), and the function's role needs bedrock:InvokeModel on the model"
            ),
        ),
        K::NotFound => JobError::new(
            ErrorCode::ModelUnavailable,
            format!(
                "model {model_id} is not available (\"{msg}\"); check CONVERSE_MODEL_ID and BEDROCK_REGION (the ids seen, like us.amazon.nova-2-omni-v1:0, are US cross-region inference profiles used from us-west-2)"
            ),
        ),
        K::Unauthenticated => {
            JobError::new(ErrorCode::AuthFailed, format!("Bedrock refused the function's AWS credentials (\"{msg}\")"))
        }
        K::Throttled => JobError::new(
            ErrorCode::Throttled,
            format!("Bedrock throttled the call after retries (\"{msg}\"); the job will be retried"),
        ),
        K::Timeout => JobError::new(ErrorCode::ModelTimeout, format!("the model did not answer in time ({msg})")),
        K::ModelError => {
            JobError::new(ErrorCode::ModelError, format!("the model failed while processing the request (\"{msg}\")"))
        }
        K::Unavailable => JobError::new(ErrorCode::ModelError, format!("Bedrock is unavailable (\"{msg}\")")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::try_on::EncodedImage;
    use super::*;
    use crate::core::manifest;
    use serde_json::Value;

    fn spec(v: Value) -> JobSpec {
        manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[Backend::BedrockConverse]).unwrap()
    }

    fn with_params(p: Value) -> JobSpec {
        spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "converseParams": p}))
    }

    fn images() -> RequestImages<'static> {
        RequestImages {
            source: EncodedImage { bytes: b"SOURCE", mime: "image/jpeg", width: 640, height: 480 },
            reference: EncodedImage { bytes: b"GARMENT", mime: "image/png", width: 300, height: 400 },
            mask: None,
        }
    }

    #[test]
    fn body_matches_golden_files() {
        let cases = crate::backends::golden_cases("bedrock-converse");
        assert!(cases.len() >= 3, "expected golden cases, found {}", cases.len());
        for (name, manifest, want) in cases {
            let s = spec(manifest);
            assert_eq!(BedrockConverse.check_options(&s), Vec::<String>::new(), "golden {name}");
            let req = BedrockConverse.request(&s, images()).unwrap();
            let got: Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(got, want, "golden {name}");
            assert_eq!(req.instruction.as_deref(), want["messages"][0]["content"][2]["text"].as_str(), "{name}");
            let text = String::from_utf8(req.body).unwrap();
            assert!(text.starts_with("{\"messages\":[{\"role\":\"user\",\"content\":[{\"image\":"), "{name}");
        }
    }

    #[test]
    fn a_system_prompt_that_looks_like_a_placeholder_is_left_alone() {
        let s = with_params(serde_json::json!({"systemPrompt": "@IMAGE0@ @IMAGE1@"}));
        let body: Value = serde_json::from_slice(&BedrockConverse.request(&s, images()).unwrap().body).unwrap();
        assert_eq!(body["system"][0]["text"], "@IMAGE0@ @IMAGE1@");
        assert_eq!(body["messages"][0]["content"][0]["image"]["source"]["bytes"], "U09VUkNF");
    }

    #[test]
    fn options_report_every_problem_at_once() {
        assert!(BedrockConverse
            .check_options(&spec(serde_json::json!({"source": "p.jpg", "garment": "g.png"})))
            .is_empty());
        let ok = with_params(
            serde_json::json!({"temperature": 1.0, "maxTokens": 10000, "reasoningEffort": "medium", "systemPrompt": "x"}),
        );
        assert!(BedrockConverse.check_options(&ok).is_empty());
        let bad = with_params(serde_json::json!({
            "temperature": 1.5, "maxTokens": 0, "reasoningEffort": "max", "systemPrompt": "  ", "topK": 3
        }));
        let p = BedrockConverse.check_options(&bad);
        assert_eq!(p.len(), 5, "{p:?}");
        for want in [
            "converseParams.temperature: 1.5 is out of range",
            "converseParams.maxTokens: 0 is out of range",
            "converseParams.reasoningEffort: unknown variant `max`",
            "converseParams.systemPrompt: empty",
            "converseParams.topK: unknown field `topK`",
        ] {
            assert!(p.iter().any(|m| m.starts_with(want)), "{want} in {p:?}");
        }
        let p = BedrockConverse.check_options(&with_params(serde_json::json!({
            "maxTokens": 10001, "temperature": "hot", "systemPrompt": "x".repeat(2001)
        })));
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("converseParams.maxTokens: 10001 is out of range")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("converseParams.temperature: invalid type")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("converseParams.systemPrompt: at most 2000")), "{p:?}");
        assert_eq!(
            BedrockConverse.check_options(&with_params(serde_json::json!([1]))),
            ["converseParams: must be an object"]
        );
    }

    fn png_b64() -> String {
        base64_simd::STANDARD.encode_to_string(b"\x89PNG\r\n\x1a\nrest")
    }

    #[test]
    fn the_first_image_block_is_the_result_with_its_tokens() {
        let body = serde_json::json!({
            "output": {"message": {"role": "assistant", "content": [
                {"text": "Here is the edited image."},
                {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}},
                {"image": {"format": "png", "source": {"bytes": png_b64()}}},
                {"image": {"format": "png", "source": {"bytes": "AAAA"}}}
            ]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1234, "outputTokens": 5678, "totalTokens": 6912},
            "metrics": {"latencyMs": 25000}
        });
        let r = parse_reply(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(r.images, vec![b"\x89PNG\r\n\x1a\nrest".to_vec()]);
        assert_eq!((r.input_tokens, r.output_tokens), (Some(1234), Some(5678)));
        assert_eq!((r.mask, r.moderation), (None, None));
    }

    fn reply(content: Value, stop: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}
        }))
        .unwrap()
    }

    #[test]
    fn replies_without_a_usable_image_are_errors() {
        let long = "I cannot edit this image. ".repeat(40);
        let e = parse_reply(&reply(serde_json::json!([{"text": long}]), "end_turn")).unwrap_err();
        assert_eq!(e.code, ErrorCode::NoImage);
        assert!(e.message.contains("I cannot edit this image."), "{e}");
        assert!(e.message.chars().count() < 300 + 200 && e.message.contains('…'), "{e}");
        let e = parse_reply(&reply(serde_json::json!([{"text": "Thinking"}]), "max_tokens")).unwrap_err();
        assert_eq!(e.code, ErrorCode::NoImage);
        assert!(e.message.contains("\"Thinking\"") && e.message.contains("maxTokens"), "{e}");
        let e = parse_reply(&reply(serde_json::json!([]), "end_turn")).unwrap_err();
        assert_eq!(e.code, ErrorCode::NoImage);
        assert!(e.message.contains("stopReason end_turn"), "{e}");

        for stop in ["content_filtered", "guardrail_intervened"] {
            let e = parse_reply(&reply(serde_json::json!([{"text": "no"}]), stop)).unwrap_err();
            assert_eq!(e.code, ErrorCode::ContentFiltered, "{stop}");
            assert!(e.message.contains(stop), "{e}");
        }
        let e = parse_reply(&reply(
            serde_json::json!([{"image": {"format": "png", "error": {"message": "The image could not be generated."}}}]),
            "end_turn",
        ))
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::ModelError);
        assert!(e.message.contains("The image could not be generated."), "{e}");

        let internal = |b: &[u8]| parse_reply(b).unwrap_err().code;
        assert_eq!(internal(b"not json"), ErrorCode::Internal);
        assert_eq!(internal(br#"{"stopReason":"end_turn"}"#), ErrorCode::Internal);
        assert_eq!(internal(br#"{"output":{"message":{"content":"x"}}}"#), ErrorCode::Internal);
        let bad = reply(serde_json::json!([{"image": {"format": "png", "source": {"bytes": "***"}}}]), "end_turn");
        assert_eq!(internal(&bad), ErrorCode::Internal);
        let s3 = reply(
            serde_json::json!([{"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}}]),
            "end_turn",
        );
        assert_eq!(internal(&s3), ErrorCode::Internal);
        let jpeg = base64_simd::STANDARD.encode_to_string(b"\xff\xd8\xff\xe0JFIF");
        let not_png = reply(serde_json::json!([{"image": {"format": "png", "source": {"bytes": jpeg}}}]), "end_turn");
        assert_eq!(internal(&not_png), ErrorCode::Internal);
    }

    #[test]
    fn model_failures_map_to_stable_codes() {
        let e = |kind, message: &str| ModelCallError::new(kind, message);
        use ModelFailureKind as K;
        let cases = [
            (
                e(
                    K::Validation,
                    "ValidationException (HTTP 400): This request has been blocked by our content filters.",
                ),
                ErrorCode::ModelRejected,
            ),
            (
                e(K::Validation, "ValidationException (HTTP 400): The model returned the following errors: bad image"),
                ErrorCode::ModelRejected,
            ),
            (
                e(K::AccessDenied, "AccessDeniedException (HTTP 403): Access denied to model"),
                ErrorCode::ModelUnavailable,
            ),
            (
                e(K::NotFound, "ResourceNotFoundException (HTTP 404): The provided model identifier is invalid."),
                ErrorCode::ModelUnavailable,
            ),
            (e(K::Unauthenticated, "no credentials"), ErrorCode::AuthFailed),
            (e(K::Throttled, "ThrottlingException (HTTP 429): slow down"), ErrorCode::Throttled),
            (e(K::Timeout, "no reply within 300 s"), ErrorCode::ModelTimeout),
            (e(K::ModelError, "ModelErrorException (HTTP 424): failed"), ErrorCode::ModelError),
            (e(K::Unavailable, "ServiceUnavailableException (HTTP 503): down"), ErrorCode::ModelError),
        ];
        for (err, code) in cases {
            let j = classify(&err, "us.amazon.nova-2-omni-v1:0");
            assert_eq!(j.code, code, "{err}");
            assert!(j.message.contains(err.message.trim()), "{j}");
        }
        let j = classify(&e(K::AccessDenied, "x"), "m");
        assert!(j.message.contains("preview access") && j.message.contains("bedrock:InvokeModel"), "{j}");
        let j = classify(&e(K::NotFound, "x"), "m");
        assert!(j.message.contains("CONVERSE_MODEL_ID") && j.message.contains("BEDROCK_REGION"), "{j}");
        assert!(j.message.contains("us-west-2"), "{j}");
    }

    #[test]
    fn price_is_estimated_from_the_token_budget_and_billed_from_usage() {
        let p = Price { input_per_million_tokens: 0.3, output_per_million_tokens: 2.5, ..Price::default() };
        let s = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "instruction": {"prompt": "abcd"}}));
        let (input, output) = estimated_tokens(&s);
        assert_eq!(input, 2 * 230 + (SYSTEM_TEXT.chars().count() as u64 + 4).div_ceil(4));
        assert_eq!(output, 10_000);
        let want = (input as f64 * 0.3 + 10_000.0 * 2.5) / 1e6;
        assert!((BedrockConverse.price(&s, 640, 480, None, &p) - want).abs() < 1e-12);
        let smaller = with_params(serde_json::json!({"maxTokens": 2000}));
        assert_eq!(estimated_tokens(&smaller).1, 2000);
        let billed = Reply { input_tokens: Some(1_000_000), output_tokens: Some(2_000_000), ..Reply::default() };
        assert!((BedrockConverse.price(&s, 640, 480, Some(&billed), &p) - 5.3).abs() < 1e-9);
        // A reply without usage falls back to the estimate.
        let bare = Reply { images: vec![vec![1]], ..Reply::default() };
        assert!((BedrockConverse.price(&s, 640, 480, Some(&bare), &p) - want).abs() < 1e-12);
    }

    #[test]
    fn the_body_cap_holds_two_images_at_converses_limit() {
        assert_eq!(BedrockConverse.max_body_bytes(), 2 * 5_000_000 + 65_536);
        assert!(Backend::BedrockConverse.canvas().max_image_bytes <= MAX_IMAGE_BYTES);
    }
}
