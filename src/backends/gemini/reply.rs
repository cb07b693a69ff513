//! Reading a `:generateContent` reply (reference §3, §6). "No image" comes back as a 200:
//! a blocked prompt, a filtered output, a refusal in words, or nothing at all. Each is a
//! specific failure here, never a success without a picture.

use serde::Deserialize;

use crate::backends::google_common::{not_json, reply_image};
use crate::backends::try_on::Reply;
use crate::core::error::{ErrorCode, JobError};

/// The model family, in messages.
pub(super) const TITLE: &str = "Gemini";

/// Finish reasons that mean a filter stopped the answer (reference §3): the v1 proto's and
/// the image ones of the SDK and docs.
const FILTERED: [&str; 8] = [
    "SAFETY",
    "IMAGE_SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_RECITATION",
];
/// The most of the model's own words quoted in a message.
const MAX_QUOTED_CHARS: usize = 300;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReply {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<Usage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    inline_data: Option<InlineData>,
    /// Reasoning, which may hold draft images: never the answer.
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineData {
    mime_type: String,
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
    block_reason_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Usage {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
}

/// Parses a 200 reply: the first PNG or JPEG of the first candidate's answer (thoughts
/// skipped, as Google's samples do), and the tokens billed (thinking is output).
pub fn parse_reply(body: &[u8]) -> Result<Reply, JobError> {
    let raw: RawReply =
        serde_json::from_slice(body).map_err(|e| JobError::new(ErrorCode::Internal, not_json(TITLE, &e)))?;
    if let Some(f) = raw.prompt_feedback.filter(|f| f.block_reason.is_some()) {
        let reason = f.block_reason.unwrap_or_default();
        return Err(filtered(&format!("the request (blockReason {reason}{})", detail(f.block_reason_message))));
    }
    let Some(c) = raw.candidates.into_iter().next() else {
        return Err(JobError::new(
            ErrorCode::NoImage,
            format!("{TITLE} answered with no candidate and no reason; try again"),
        ));
    };
    let reason = c.finish_reason.unwrap_or_else(|| "unset".to_owned());
    if FILTERED.contains(&reason.as_str()) {
        return Err(filtered(&format!("the answer (finishReason {reason}{})", detail(c.finish_message))));
    }
    let parts: Vec<Part> = c.content.map(|c| c.parts).unwrap_or_default().into_iter().filter(|p| !p.thought).collect();
    let Some(image) = parts.iter().find_map(|p| p.inline_data.as_ref()) else {
        return Err(no_image(&reason, c.finish_message, &parts));
    };
    let image = reply_image(&image.data, Some(&image.mime_type), "image", TITLE)?;
    let usage = raw.usage_metadata;
    let output = usage.as_ref().and_then(|u| match (u.candidates_token_count, u.thoughts_token_count) {
        (None, None) => None,
        (c, t) => Some(c.unwrap_or(0) + t.unwrap_or(0)),
    });
    Ok(Reply {
        images: vec![image],
        input_tokens: usage.and_then(|u| u.prompt_token_count),
        output_tokens: output,
        ..Reply::default()
    })
}

/// `: "message"` when Google gave one.
fn detail(message: Option<String>) -> String {
    message.map(|m| format!(": \"{}\"", m.trim())).unwrap_or_default()
}

fn filtered(what: &str) -> JobError {
    JobError::new(
        ErrorCode::ContentFiltered,
        format!("{TITLE}'s safety filters blocked {what}; use other photos or another instruction, or a geminiParams.safetyThreshold or personGeneration that allows them"),
    )
}

/// The answer had no image: says what the model did instead and what may help.
fn no_image(reason: &str, finish_message: Option<String>, parts: &[Part]) -> JobError {
    let said = quoted_text(parts);
    let hint = match reason {
        "MAX_TOKENS" => "it ran out of output tokens first; ask for a smaller geminiParams.imageSize or thinkingLevel MINIMAL",
        "STOP" if !said.is_empty() => "it answers in words when it refuses or finds the instruction unclear; describe the garment (instruction.garmentDescription) or write instruction.prompt asking for one image",
        "NO_IMAGE" | "IMAGE_OTHER" => "the model could not make this picture; try again, or other photos or another instruction",
        _ => "try again, or other photos or another instruction",
    };
    JobError::new(
        ErrorCode::NoImage,
        format!("{TITLE} answered without an image (finishReason {reason}{}){said}; {hint}", detail(finish_message)),
    )
}

/// `, saying "…"` with the model's words, at most [`MAX_QUOTED_CHARS`] of them.
fn quoted_text(parts: &[Part]) -> String {
    let text = parts.iter().filter_map(|p| p.text.as_deref()).collect::<Vec<_>>().join(" ");
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut quoted: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    format!(", saying \"{quoted}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF";

    fn b64(bytes: &[u8]) -> String {
        base64_simd::STANDARD.encode_to_string(bytes)
    }

    fn image(mime: &str, bytes: &[u8]) -> serde_json::Value {
        json!({"inlineData": {"mimeType": mime, "data": b64(bytes)}})
    }

    fn answer(parts: serde_json::Value, finish: &str) -> Result<Reply, JobError> {
        let body = json!({"candidates": [{"index": 0, "finishReason": finish, "content": {"role": "model", "parts": parts}}],
            "usageMetadata": {"promptTokenCount": 2300, "candidatesTokenCount": 1200, "thoughtsTokenCount": 80, "totalTokenCount": 3580}});
        parse_reply(&serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn the_first_image_of_the_answer_is_taken_with_its_tokens() {
        let r = answer(json!([{"text": "Here it is."}, image("image/png", PNG), image("image/jpeg", JPEG)]), "STOP")
            .unwrap();
        assert_eq!(r.images, vec![PNG.to_vec()]);
        assert_eq!((r.input_tokens, r.output_tokens), (Some(2300), Some(1280)));
        assert_eq!((r.moderation, r.mask), (None, None));
        let r = answer(json!([image("image/jpeg", JPEG)]), "STOP").unwrap();
        assert_eq!(r.images, vec![JPEG.to_vec()]);
    }

    #[test]
    fn thought_parts_are_skipped_even_when_they_hold_an_image() {
        let parts = json!([{"text": "planning", "thought": true},
            {"inlineData": {"mimeType": "image/png", "data": b64(JPEG)}, "thought": true}, image("image/png", PNG)]);
        assert_eq!(answer(parts, "STOP").unwrap().images, vec![PNG.to_vec()]);
        let only_thoughts = json!([{"inlineData": {"mimeType": "image/png", "data": b64(PNG)}, "thought": true}]);
        assert_eq!(answer(only_thoughts, "STOP").unwrap_err().code, ErrorCode::NoImage);
    }

    #[test]
    fn usage_without_thoughts_or_at_all_is_read_as_given() {
        let body = json!({"candidates": [{"content": {"parts": [image("image/png", PNG)]}}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1120}});
        let r = parse_reply(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!((r.input_tokens, r.output_tokens), (Some(10), Some(1120)));
        let body = json!({"candidates": [{"content": {"parts": [image("image/png", PNG)]}}]});
        let r = parse_reply(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!((r.input_tokens, r.output_tokens), (None, None));
    }

    #[test]
    fn a_blocked_prompt_is_content_filtered_quoting_google() {
        let body = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "The prompt was blocked."},
            "usageMetadata": {"promptTokenCount": 2300}});
        let e = parse_reply(&serde_json::to_vec(&body).unwrap()).unwrap_err();
        assert_eq!(e.code, ErrorCode::ContentFiltered);
        assert!(e.message.contains("blockReason PROHIBITED_CONTENT: \"The prompt was blocked.\""), "{e}");
    }

    #[test]
    fn every_filter_finish_reason_is_content_filtered_even_with_an_image() {
        for reason in FILTERED {
            let body = json!({"candidates": [{"finishReason": reason, "finishMessage": "Unable to show the generated image."}]});
            let e = parse_reply(&serde_json::to_vec(&body).unwrap()).unwrap_err();
            assert_eq!(e.code, ErrorCode::ContentFiltered, "{reason}");
            assert!(e.message.contains(&format!("finishReason {reason}: \"Unable to show")), "{e}");
            let e = answer(json!([image("image/png", PNG)]), reason).unwrap_err();
            assert_eq!(e.code, ErrorCode::ContentFiltered, "{reason}");
        }
    }

    #[test]
    fn every_answer_without_an_image_is_no_image_with_its_reason() {
        for (reason, parts, says) in [
            ("NO_IMAGE", json!([]), "try again"),
            ("IMAGE_OTHER", json!([{"text": "Something went wrong."}]), "Something went wrong."),
            ("MAX_TOKENS", json!([{"text": "Let me"}]), "imageSize"),
            ("STOP", json!([{"text": "I can't help with that."}]), "instruction.prompt"),
            ("STOP", json!([]), "try again"),
            ("OTHER", json!([{"text": "hm"}]), "finishReason OTHER"),
            ("MODEL_ARMOR", json!([]), "finishReason MODEL_ARMOR"),
        ] {
            let e = answer(parts.clone(), reason).unwrap_err();
            assert_eq!(e.code, ErrorCode::NoImage, "{reason} {parts}");
            assert!(e.message.contains(&format!("finishReason {reason}")) && e.message.contains(says), "{e}");
        }
        let e = parse_reply(br#"{"candidates":[]}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::NoImage, "{e}");
        let e = parse_reply(br#"{"candidates":[{"content":{"role":"model"}}]}"#).unwrap_err();
        assert!(e.code == ErrorCode::NoImage && e.message.contains("finishReason unset"), "{e}");
    }

    #[test]
    fn the_models_words_are_quoted_at_most_300_characters() {
        let e = answer(json!([{"text": "é".repeat(1000)}]), "STOP").unwrap_err();
        assert_eq!(e.message.matches('é').count(), 300, "{e}");
        assert!(e.message.contains("é…\""), "{e}");
        let e = answer(json!([{"text": "  short  "}]), "STOP").unwrap_err();
        assert!(e.message.contains("saying \"short\";"), "{e}");
    }

    #[test]
    fn malformed_replies_are_internal_and_never_quote_bytes() {
        for (parts, says) in [
            (json!([image("image/webp", PNG)]), "image/webp"),
            (json!([{"inlineData": {"mimeType": "image/png", "data": "!!"}}]), "base64"),
            (json!([image("image/png", b"GIF89a....")]), "not a PNG or JPEG"),
            (json!([image("image/png", JPEG)]), ""),
        ] {
            let r = answer(parts.clone(), "STOP");
            if says.is_empty() {
                // The declared type may differ from the bytes; the bytes are what is written.
                assert!(r.is_ok(), "{parts}");
                continue;
            }
            let e = r.unwrap_err();
            assert_eq!(e.code, ErrorCode::Internal, "{parts}");
            assert!(e.message.contains(says) && !e.message.contains(&b64(PNG)), "{e}");
        }
        for body in [
            &b"not json"[..],
            br#"{"candidates":{}}"#,
            br#"{"candidates":[{"content":{"parts":[{"inlineData":{"data":"aGk="}}]}}]}"#,
        ] {
            assert_eq!(parse_reply(body).unwrap_err().code, ErrorCode::Internal);
        }
        let body = json!({"candidates": [{"content": {"parts": [{"inlineData": b64(PNG)}]}}]});
        let e = parse_reply(&serde_json::to_vec(&body).unwrap()).unwrap_err();
        assert!(e.message.contains("string \"…\"") && !e.message.contains(&b64(PNG)), "{e}");
    }
}
