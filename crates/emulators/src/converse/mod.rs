//! An offline Bedrock `Converse` for `bedrock-converse` (Nova 2 Omni image editing) with the
//! real wire protocol: `POST /model/{modelId}/converse` (percent-encoded id), JSON bodies,
//! `x-amzn-RequestId`, `x-amzn-ErrorType` and JSON `message` on errors, Bedrock's status
//! codes. Validation is as strict as the reference (see [`validate`]); the answer is one
//! deterministic PNG at the person's size with the garment pasted over the torso.
//!
//! Faults are queued as JSON objects under the backend name `bedrock-converse`
//! (`POST /_emulator/faults/bedrock-converse`), each used by one call (one SDK attempt):
//! `{"type": "throttling" | "unavailable" | "modelTimeout" | "modelError" | "validation"
//! (optional "message") | "accessDenied" | "contentFiltered" | "textOnly" | "imageError" |
//! "badBase64" | "delay" (with "ms")}`. Calls are logged (images summarised, never base64)
//! in `GET /_emulator/calls`.

mod render;
mod validate;

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::bedrock::{hv, Rejection};
use super::log::auth_kind;
use super::state::Emulator;

/// The backend name faults and the call log use.
const BACKEND: &str = "bedrock-converse";
/// What a missing preview access answers, as a README quotes it (reference §1, [C4]).
pub(super) const ACCESS_DENIED: &str = "Access denied to model";
/// Tokens billed per input image (Nova 2's flat rate, reference §6) and per 256 output pixels.
const IMAGE_INPUT_TOKENS: u64 = 230;
const OUTPUT_PIXELS_PER_TOKEN: u64 = 256;

pub(super) fn routes() -> Router<Emulator> {
    Router::new().route("/model/{model_id}/converse", post(converse))
}

/// A fault for the next `Converse` call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum ConverseFault {
    /// 429 ThrottlingException (the SDK retries it).
    Throttling,
    /// 503 ServiceUnavailableException (the SDK retries it).
    Unavailable,
    /// 408 ModelTimeoutException.
    ModelTimeout,
    /// 424 ModelErrorException.
    ModelError,
    /// 400 ValidationException, with this message (input moderation, say).
    Validation {
        #[serde(default)]
        message: Option<String>,
    },
    /// 403 AccessDeniedException: no preview access.
    AccessDenied,
    /// 200, `stopReason: content_filtered`, no image.
    ContentFiltered,
    /// 200, a text answer without an image.
    TextOnly,
    /// 200, an image block carrying `error`.
    ImageError,
    /// 200, an image block whose bytes are not base64.
    BadBase64,
    /// Wait this long, then answer normally.
    Delay { ms: u64 },
}

impl ConverseFault {
    /// The error answered instead of a model call, for faults that are one.
    fn rejection(&self) -> Option<Rejection> {
        Some(match self {
            ConverseFault::Throttling => {
                Rejection::new(429, "ThrottlingException", "Too many requests, please wait before trying again.")
            }
            ConverseFault::Unavailable => {
                Rejection::new(503, "ServiceUnavailableException", "Service is temporarily unavailable.")
            }
            ConverseFault::ModelTimeout => Rejection::new(
                408,
                "ModelTimeoutException",
                "Model has timed out in processing the request. Try your request again.",
            ),
            ConverseFault::ModelError => {
                Rejection::new(424, "ModelErrorException", "The model failed to process the request.")
            }
            ConverseFault::Validation { message } => Rejection::new(
                400,
                "ValidationException",
                message.clone().unwrap_or_else(|| "The model returned the following errors: Invalid input.".into()),
            ),
            ConverseFault::AccessDenied => Rejection::new(403, "AccessDeniedException", ACCESS_DENIED),
            _ => return None,
        })
    }
}

/// The answer of one call: a 200 reply or an error.
type Outcome = Result<Value, Rejection>;

/// What the emulator makes of the path's model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Availability {
    Served,
    /// Not an id this emulator serves: "The provided model identifier is invalid."
    Unknown,
    /// Configured as retired: the end-of-life answer.
    Retired,
}

impl Availability {
    fn of(emu: &Emulator, model_id: &str) -> Self {
        if emu.is_retired(model_id) {
            Availability::Retired
        } else if emu.serves(model_id) {
            Availability::Served
        } else {
            Availability::Unknown
        }
    }

    /// Bedrock's 404 for an id it does not serve.
    fn check(self) -> Result<(), Rejection> {
        match self {
            Availability::Served => Ok(()),
            Availability::Retired => Err(Rejection::end_of_life()),
            Availability::Unknown => {
                Err(Rejection::new(404, "ResourceNotFoundException", "The provided model identifier is invalid."))
            }
        }
    }
}

async fn converse(
    State(emu): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let request_id = {
        let mut s = emu.lock();
        s.counter += 1;
        format!("{:08x}-c0e5-4a7e-8000-{:012x}", s.counter, std::process::id())
    };
    let model = Availability::of(&emu, &model_id);
    // A retired model is refused before anything counts: its call uses no fault.
    let raw_fault = if model == Availability::Retired { None } else { emu.next_backend_fault(BACKEND) };
    let fault = raw_fault.clone().map(serde_json::from_value::<ConverseFault>).transpose();
    if let Ok(Some(ConverseFault::Delay { ms })) = &fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header("content-type").unwrap_or_default();
    let body_bytes = body.len();
    let (outcome, summary) = tokio::task::spawn_blocking(move || {
        let summary = validate::summarise(&body);
        (answer(model, fault, &content_type, &body), summary)
    })
    .await
    .unwrap_or_else(|e| {
        (Err(Rejection::new(500, "InternalServerException", format!("emulator crashed: {e}"))), Value::Null)
    });
    let (status, error) = match &outcome {
        Ok(_) => (200, None),
        Err(r) => (r.status, Some(format!("{}: {}", r.kind, r.message))),
    };
    emu.log_backend_call(json!({
        "backend": BACKEND,
        "path": format!("/model/{model_id}/converse"),
        "modelId": model_id,
        "requestId": request_id,
        "auth": auth_kind(header("authorization").as_deref()),
        "sdkRequest": header("amz-sdk-request"),
        "bodyBytes": body_bytes,
        "body": summary,
        "fault": raw_fault,
        "status": status,
        "error": error,
    }));
    let mut resp = match outcome {
        Ok(mut reply) => {
            reply["metrics"] = json!({ "latencyMs": started.elapsed().as_millis() as u64 });
            (StatusCode::OK, Json(reply)).into_response()
        }
        Err(r) => return r.response(&request_id),
    };
    resp.headers_mut().insert("x-amzn-RequestId", hv(&request_id));
    resp
}

/// The answer to a queued fault this emulator does not know.
fn unknown_fault(e: serde_json::Error) -> Rejection {
    let message = format!("the bedrock-converse emulator does not know this fault: {e}");
    Rejection::new(400, "UnknownEmulatorFaultException", message)
}

/// What the service answers: the model id (retired, unknown), then the fault's error, then
/// the body's checks, then the model's reply (or the fault's 200 reply).
fn answer(
    model: Availability,
    fault: Result<Option<ConverseFault>, serde_json::Error>,
    content_type: &str,
    body: &[u8],
) -> Outcome {
    let fault = fault.map_err(unknown_fault)?;
    model.check()?;
    if let Some(r) = fault.as_ref().and_then(ConverseFault::rejection) {
        return Err(r);
    }
    if content_type.split(';').next().map(str::trim) != Some("application/json") {
        return Err(Rejection::new(
            400,
            "ValidationException",
            format!("Malformed input request: the content type must be application/json, not {content_type:?}."),
        ));
    }
    let valid = validate::validate(body).map_err(|m| Rejection::new(400, "ValidationException", m))?;
    let input_tokens = IMAGE_INPUT_TOKENS * valid.image_sizes.len() as u64 + (valid.text_chars as u64).div_ceil(4);
    let reply = |content: Value, stop: &str, output_tokens: u64| {
        json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": input_tokens + output_tokens},
        })
    };
    match fault {
        Some(ConverseFault::ContentFiltered) => return Ok(reply(json!([]), "content_filtered", 0)),
        Some(ConverseFault::TextOnly) => {
            let text = "I can describe the garment, but I can't produce an edited image for this request.";
            return Ok(reply(json!([{ "text": text }]), "end_turn", 20));
        }
        Some(ConverseFault::ImageError) => {
            let image = json!({"format": "png", "error": {"message": "The generated image could not be processed."}});
            return Ok(reply(json!([{ "image": image }]), "end_turn", 10));
        }
        Some(ConverseFault::BadBase64) => {
            let image = json!({"format": "png", "source": {"bytes": "not base64!"}});
            return Ok(reply(json!([{ "image": image }]), "end_turn", 10));
        }
        _ => {}
    }
    let Some(person) = &valid.person else {
        let text = "Please send the picture to edit with your instruction.";
        return Ok(reply(json!([{ "text": text }]), "end_turn", 12));
    };
    let text = "Here is the person from the first image wearing the garment from the second image.";
    let image_tokens = (person.width() as u64 * person.height() as u64).div_ceil(OUTPUT_PIXELS_PER_TOKEN);
    let output_tokens = image_tokens + 20;
    if let Some(budget) = valid.max_tokens.filter(|b| *b < output_tokens) {
        return Ok(reply(json!([{ "text": "Here is the person from" }]), "max_tokens", budget));
    }
    let png = render::render(person, valid.garment.as_ref());
    let image = json!({"format": "png", "source": {"bytes": B64.encode(png)}});
    Ok(reply(json!([{ "text": text }, { "image": image }]), "end_turn", output_tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(person: &[u8], garment: &[u8], max_tokens: u64) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "messages": [{"role": "user", "content": [
                {"image": {"format": "png", "source": {"bytes": B64.encode(person)}}},
                {"image": {"format": "png", "source": {"bytes": B64.encode(garment)}}},
                {"text": "Dress the person."}
            ]}],
            "inferenceConfig": {"maxTokens": max_tokens}
        }))
        .unwrap()
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        crate::reference::png(&image::RgbImage::from_pixel(w, h, image::Rgb([1, 2, 3])))
    }

    #[test]
    fn the_answer_is_one_png_at_the_persons_size_with_usage() {
        let r = answer(Availability::Served, Ok(None), "application/json", &body(&png(64, 96), &png(20, 20), 10_000))
            .ok()
            .unwrap();
        assert_eq!(r["stopReason"], "end_turn");
        let content = r["output"]["message"]["content"].as_array().unwrap();
        let png = B64.decode(content[1]["image"]["source"]["bytes"].as_str().unwrap()).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (64, 96));
        assert_eq!(r["usage"]["inputTokens"], 2 * 230 + 5);
        assert_eq!(r["usage"]["outputTokens"], 64 * 96 / 256 + 20);
    }

    #[test]
    fn a_budget_too_small_for_the_image_stops_at_max_tokens() {
        let r = answer(Availability::Served, Ok(None), "application/json", &body(&png(64, 96), &png(20, 20), 10))
            .ok()
            .unwrap();
        assert_eq!(r["stopReason"], "max_tokens");
        assert!(r["output"]["message"]["content"][0]["image"].is_null());
    }

    #[test]
    fn the_model_id_then_the_fault_then_the_body_decide() {
        let b = body(&png(8, 8), &png(8, 8), 100);
        let status = |o: Outcome| o.err().map(|r| (r.status, r.kind));
        assert_eq!(
            status(answer(Availability::Unknown, Ok(Some(ConverseFault::Throttling)), "application/json", &b)),
            Some((404, "ResourceNotFoundException"))
        );
        assert_eq!(
            status(answer(Availability::Served, Ok(Some(ConverseFault::AccessDenied)), "application/json", b"{")),
            Some((403, "AccessDeniedException"))
        );
        assert_eq!(
            status(answer(Availability::Served, Ok(Some(ConverseFault::ContentFiltered)), "application/json", b"{")),
            Some((400, "ValidationException"))
        );
        assert_eq!(
            status(answer(Availability::Served, Ok(None), "text/plain", &b)),
            Some((400, "ValidationException"))
        );
        let unknown = serde_json::from_value::<ConverseFault>(json!({"type": "meteorStrike"})).map(Some);
        assert_eq!(status(answer(Availability::Served, unknown, "application/json", &b)).map(|s| s.0), Some(400));
        for (fault, stop) in
            [(ConverseFault::ContentFiltered, "content_filtered"), (ConverseFault::TextOnly, "end_turn")]
        {
            let r = answer(Availability::Served, Ok(Some(fault)), "application/json", &b).ok().unwrap();
            assert_eq!(r["stopReason"], stop);
            assert!(r["output"]["message"]["content"].as_array().unwrap().iter().all(|c| c["image"].is_null()));
        }
    }
}
