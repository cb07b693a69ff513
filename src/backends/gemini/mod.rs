//! A Gemini image model on Vertex AI (`gemini-3.1-flash-image` by default) through
//! `:generateContent`, told what to do in words: the checks on `geminiParams`, the mapping
//! of Google's failures onto our codes and the price by token
//! (`shared/reference/vertex-gemini-image-editing.md`). The body is built in [`request`],
//! the reply read in [`reply`]. Pure.

mod options;
mod reply;
mod request;

pub use reply::parse_reply;
pub use request::request_body;

use super::google_common::{self, typed_block};
use super::instruction;
use super::try_on::{Reply, Request, RequestImages, TryOn};
use crate::adapters::model::ModelCallError;
use crate::core::backend::Backend;
use crate::core::catalog::Price;
use crate::core::error::JobError;
use crate::core::manifest::JobSpec;
use options::{Options, BLOCK};

/// Tokens Gemini 3.1 Flash Image bills per input image, whatever its size (reference §4).
const INPUT_IMAGE_TOKENS: u64 = 1120;

/// A Gemini image model on Vertex AI.
pub struct GeminiImage;

impl TryOn for GeminiImage {
    fn backend(&self) -> Backend {
        Backend::GeminiImage
    }

    fn check_options(&self, spec: &JobSpec) -> Vec<String> {
        options::problems(spec)
    }

    /// Two inline images of at most 7 MB each (reference §4, "7 MB per inline file") in
    /// base64, plus room for the instruction. Google states no whole-request limit for
    /// Vertex (20 MB is the Gemini Developer API's prompt limit; this cap stays under it).
    fn max_body_bytes(&self) -> usize {
        super::google_common::max_body_bytes(Backend::GeminiImage)
    }

    fn request(&self, spec: &JobSpec, images: RequestImages<'_>) -> Result<Request, JobError> {
        let text = instruction::instruction(spec);
        Ok(Request { body: request_body(spec, images, &text)?, instruction: Some(text) })
    }

    fn parse_reply(&self, body: &[u8]) -> Result<Reply, JobError> {
        parse_reply(body)
    }

    fn classify(&self, e: &ModelCallError, model: &str) -> JobError {
        classify(e, model)
    }

    /// Billed by token: before the call, the output image's tokens at the size asked for
    /// (1K when absent) and two input images (the instruction's hundred-odd text tokens
    /// are left out); after it, the tokens the reply reports (thinking counts as output),
    /// each falling back to the estimate if missing.
    fn price(&self, spec: &JobSpec, _width: u32, _height: u32, reply: Option<&Reply>, price: &Price) -> f64 {
        let o: Options = typed_block(BLOCK, spec.options.as_ref(), &mut Vec::new());
        let output = o.image_size.unwrap_or_default().output_tokens() * u64::from(spec.number_of_images());
        let input = 2 * INPUT_IMAGE_TOKENS;
        let (input, output) = match reply {
            Some(r) => (r.input_tokens.unwrap_or(input), r.output_tokens.unwrap_or(output)),
            None => (input, output),
        };
        (input as f64 * price.input_per_million_tokens + output as f64 * price.output_per_million_tokens) / 1e6
    }
}

/// Maps a failed `:generateContent` call to the job error users see.
pub fn classify(e: &ModelCallError, model: &str) -> JobError {
    google_common::classify(e, model, &HINTS)
}

/// What Gemini's failures tell the user to do.
const HINTS: google_common::Hints = google_common::Hints {
    title: reply::TITLE,
    refused: "Vertex AI",
    filters: "safety filters",
    filtered: "use other photos or another instruction, or a geminiParams.safetyThreshold or personGeneration that allows them",
    rejected: "check geminiParams against GEMINI_MODEL: imageSize 512 is gemini-3.1-flash-image's alone, gemini-3-pro-image lacks the ratios 1:4, 4:1, 1:8, 8:1 and 9:21, 4K is Preview",
    not_found: "set GEMINI_MODEL (gemini-3.1-flash-image) and GEMINI_LOCATION to a location that offers it (global; 3.1 Flash Image is offered only there)",
    throttled: "Gemini on Vertex uses Dynamic Shared Quota, so a 429 means the shared capacity was busy, not that a quota of yours ran out; the job will be retried; GEMINI_LOCATION global has the most capacity, Provisioned Throughput reserves it",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::model::ModelFailureKind;
    use crate::core::error::ErrorCode;
    use serde_json::json;

    pub(super) fn spec(v: serde_json::Value) -> JobSpec {
        crate::core::manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[Backend::GeminiImage]).unwrap()
    }

    /// A failure as the transport makes it: Google's status is the message's first word.
    fn failure(kind: ModelFailureKind, message: &str) -> ModelCallError {
        let status = message.split(' ').next().unwrap_or_default();
        ModelCallError::new(kind, message).answered(400, status)
    }

    #[test]
    fn every_failure_kind_maps_to_a_code_that_says_what_to_fix() {
        use ModelFailureKind::*;
        let cases = [
            (
                Validation,
                "INVALID_ARGUMENT (HTTP 400): The request was blocked by safety filters.",
                ErrorCode::ModelRejected,
                "safetyThreshold",
            ),
            (
                Validation,
                "FAILED_PRECONDITION (HTTP 400): Organization policy constraint blocks this model.",
                ErrorCode::ModelRejected,
                "organisation policy",
            ),
            (
                Validation,
                "INVALID_ARGUMENT (HTTP 400): Unsupported image size.",
                ErrorCode::ModelRejected,
                "GEMINI_MODEL",
            ),
            (
                NotFound,
                "NOT_FOUND (HTTP 404): Publisher Model was not found.",
                ErrorCode::ModelUnavailable,
                "GEMINI_LOCATION",
            ),
            (
                AccessDenied,
                "PERMISSION_DENIED (HTTP 403): denied.",
                ErrorCode::ModelUnavailable,
                "roles/aiplatform.user",
            ),
            (
                Unauthenticated,
                "UNAUTHENTICATED (HTTP 401): Request had invalid authentication credentials.",
                ErrorCode::AuthFailed,
                "credentials",
            ),
            (
                Throttled,
                "RESOURCE_EXHAUSTED (HTTP 429): Resource exhausted, please try again later.",
                ErrorCode::Throttled,
                "Dynamic Shared Quota",
            ),
            (Timeout, "DEADLINE_EXCEEDED (HTTP 504): Deadline exceeded.", ErrorCode::ModelTimeout, "in time"),
            (ModelError, "INTERNAL (HTTP 500): Internal error.", ErrorCode::ModelError, "retried"),
            (
                Unavailable,
                "UNAVAILABLE (HTTP 503): This model is currently experiencing high demand.",
                ErrorCode::ModelError,
                "retried",
            ),
        ];
        for (kind, message, code, hint) in cases {
            let j = classify(&failure(kind, message), "gemini-3.1-flash-image");
            assert_eq!(j.code, code, "{message}");
            assert!(j.message.contains(message) && j.message.contains(hint), "{j}");
        }
        assert!(classify(&failure(Throttled, "x"), "m").message.contains("global"));
        assert!(classify(&failure(NotFound, "x"), "m").message.contains("GEMINI_MODEL"));
    }

    #[test]
    fn the_estimate_is_the_size_tiers_output_tokens_and_two_input_images() {
        let p = Price { input_per_million_tokens: 0.5, output_per_million_tokens: 60.0, ..Price::default() };
        let input = 2.0 * 1120.0 * 0.5 / 1e6;
        for (size, tokens) in
            [(None, 1120.0), (Some("512"), 747.0), (Some("1K"), 1120.0), (Some("2K"), 1680.0), (Some("4K"), 2520.0)]
        {
            let params = size.map_or(json!({}), |s| json!({"imageSize": s}));
            let s = spec(json!({"source": "p.jpg", "garment": "g.png", "geminiParams": params}));
            let got = GeminiImage.price(&s, 640, 480, None, &p);
            assert!((got - (tokens * 60.0 / 1e6 + input)).abs() < 1e-12, "{size:?}: {got}");
        }
    }

    #[test]
    fn the_actual_price_is_the_replys_tokens() {
        let p = Price { input_per_million_tokens: 2.0, output_per_million_tokens: 100.0, ..Price::default() };
        let s = spec(json!({"source": "p.jpg", "garment": "g.png"}));
        let r = Reply { input_tokens: Some(3000), output_tokens: Some(1500), ..Reply::default() };
        assert!((GeminiImage.price(&s, 640, 480, Some(&r), &p) - (3000.0 * 2.0 + 1500.0 * 100.0) / 1e6).abs() < 1e-12);
        // A reply without usage is priced as estimated.
        let r = Reply::default();
        let estimate = GeminiImage.price(&s, 640, 480, None, &p);
        assert!((GeminiImage.price(&s, 640, 480, Some(&r), &p) - estimate).abs() < 1e-12);
    }

    #[test]
    fn the_body_cap_holds_two_7_mb_images_in_base64() {
        let cap = GeminiImage.max_body_bytes();
        assert!((2 * 9_333_336..20_000_000).contains(&cap), "{cap}");
    }
}
