//! Strict checks of a `Converse` body against the reference (§2, §2.1, §8): the fields an
//! image-editing call may carry, at most 20 images per message, each at most 3.75 MB and
//! 8000×8000 px, its bytes of the format it claims and decodable, images only in `user`
//! turns, and a text part. Every refusal is a 400 ValidationException whose message follows
//! Bedrock's `1 validation error detected: Value at '<path>' …` style (the exact texts for
//! these limits are not documented; the reference says so).

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{DynamicImage, ImageFormat, ImageReader};
use serde_json::{Map, Value};

/// Converse's limits on images (reference §2.1).
pub(super) const MAX_IMAGES_PER_MESSAGE: usize = 20;
pub(super) const MAX_IMAGE_BYTES: usize = 3_750_000;
pub(super) const MAX_IMAGE_SIDE: u32 = 8000;

/// A body that passed: what the answer is made from.
#[derive(Debug)]
pub(super) struct Valid {
    /// The first image of the last user turn (the person) and the second (the garment).
    pub(super) person: Option<DynamicImage>,
    pub(super) garment: Option<DynamicImage>,
    /// Every image's `(width, height)`, in order.
    pub(super) image_sizes: Vec<(u32, u32)>,
    /// Characters of text sent (system and messages).
    pub(super) text_chars: usize,
    /// `inferenceConfig.maxTokens`.
    pub(super) max_tokens: Option<u64>,
}

fn constraint(path: &str, what: &str) -> String {
    format!("1 validation error detected: Value at '{path}' failed to satisfy constraint: {what}")
}

fn unknown(path: &str, key: &str) -> String {
    format!("Malformed input request: #{path}: extraneous key [{key}] is not permitted, please reformat your input and try again.")
}

/// Refuses keys of `o` outside `allowed`.
fn only(o: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), String> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown(path, k)),
        None => Ok(()),
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| constraint(path, "Member must be an object"))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array().ok_or_else(|| constraint(path, "Member must be a list"))
}

fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| constraint(path, "Member must be a string"))
}

fn number_in(v: &Value, path: &str, lo: f64, hi: f64) -> Result<f64, String> {
    match v.as_f64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(constraint(path, &format!("Member must be a number between {lo} and {hi}"))),
    }
}

/// Checks `body`; decodes every image (each is checked whole), keeping the first two of the
/// last user turn for the answer.
pub(super) fn validate(body: &[u8]) -> Result<Valid, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!("Malformed input request: the body is not valid JSON ({e}), please reformat your input and try again.")
    })?;
    let top = object(&v, "body")?;
    only(top, "", &["messages", "system", "inferenceConfig", "additionalModelRequestFields"])?;
    let mut valid = Valid { person: None, garment: None, image_sizes: vec![], text_chars: 0, max_tokens: None };
    if let Some(system) = top.get("system") {
        valid.text_chars += system_chars(system)?;
    }
    if let Some(c) = top.get("inferenceConfig") {
        valid.max_tokens = inference_config(c)?;
    }
    if let Some(a) = top.get("additionalModelRequestFields") {
        additional_fields(a)?;
    }
    let messages = array(top.get("messages").unwrap_or(&Value::Null), "messages")?;
    if messages.is_empty() {
        return Err(constraint("messages", "Member must have length greater than or equal to 1"));
    }
    let mut last_role = "";
    for (m, message) in messages.iter().enumerate() {
        last_role = turn(message, m, last_role, m == messages.len() - 1, &mut valid)?;
    }
    if last_role != "user" {
        return Err(
            "A conversation must end with a user message. Try again with a conversation that ends with a user message."
                .into(),
        );
    }
    Ok(valid)
}

/// The characters of the `system` blocks, each a non-empty text.
fn system_chars(system: &Value) -> Result<usize, String> {
    let mut chars = 0;
    for (i, block) in array(system, "system")?.iter().enumerate() {
        let path = format!("system.{}.member", i + 1);
        let b = object(block, &path)?;
        only(b, &path, &["text"])?;
        let t = string(b.get("text").unwrap_or(&Value::Null), &format!("{path}.text"))?;
        if t.is_empty() {
            return Err(constraint(&format!("{path}.text"), "Member must have length greater than or equal to 1"));
        }
        chars += t.chars().count();
    }
    Ok(chars)
}

/// Checks message `m` (roles start with the user and alternate) and its content; returns its
/// role.
fn turn<'a>(
    message: &'a Value,
    m: usize,
    last_role: &str,
    last_turn: bool,
    valid: &mut Valid,
) -> Result<&'a str, String> {
    let path = format!("messages.{}.member", m + 1);
    let msg = object(message, &path)?;
    only(msg, &path, &["role", "content"])?;
    let role = string(msg.get("role").unwrap_or(&Value::Null), &format!("{path}.role"))?;
    if !matches!(role, "user" | "assistant") {
        return Err(constraint(&format!("{path}.role"), "Member must satisfy enum value set: [user, assistant]"));
    }
    if m == 0 && role != "user" {
        return Err(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
                .into(),
        );
    }
    if role == last_role {
        return Err("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".into());
    }
    let content = array(msg.get("content").unwrap_or(&Value::Null), &format!("{path}.content"))?;
    if content.is_empty() {
        return Err(constraint(&format!("{path}.content"), "Member must have length greater than or equal to 1"));
    }
    let (mut images, mut texts) = (0, 0);
    for (c, block) in content.iter().enumerate() {
        let path = format!("{path}.content.{}.member", c + 1);
        match block_kind(block, &path, role)? {
            Block::Text(t) => {
                texts += usize::from(!t.trim().is_empty());
                valid.text_chars += t.chars().count();
            }
            Block::Image(value) => {
                images += 1;
                if images > MAX_IMAGES_PER_MESSAGE {
                    let most = format!("a message can include at most {MAX_IMAGES_PER_MESSAGE} images");
                    return Err(constraint(&format!("{path}.image"), &most));
                }
                let decoded = image(value, &format!("{path}.image"))?;
                valid.image_sizes.push((decoded.width(), decoded.height()));
                match images {
                    1 if last_turn => valid.person = Some(decoded),
                    2 if last_turn => valid.garment = Some(decoded),
                    _ => {}
                }
            }
        }
    }
    if last_turn && texts == 0 {
        return Err(constraint(
            &format!("{path}.content"),
            "the last user message must include a non-empty text block",
        ));
    }
    Ok(role)
}

/// A content block the emulator reads.
enum Block<'a> {
    Text(&'a str),
    Image(&'a Value),
}

/// What one content block is: text, or an image in a user turn; anything else is refused
/// as Bedrock refuses it.
fn block_kind<'a>(block: &'a Value, path: &str, role: &str) -> Result<Block<'a>, String> {
    let b = object(block, path)?;
    let [(kind, value)] = b.iter().collect::<Vec<_>>()[..] else {
        return Err(constraint(path, "Member must have exactly one of text, image set"));
    };
    match kind.as_str() {
        "text" => Ok(Block::Text(string(value, &format!("{path}.text"))?)),
        "image" if role != "user" => Err(format!("{path}.image: images are only allowed in user turns, not in {role} turns.")),
        "image" => Ok(Block::Image(value)),
        "document" | "video" | "audio" | "toolUse" | "toolResult" | "guardContent" | "reasoningContent"
        | "cachePoint" => Err(format!(
            "This model doesn't support the {kind} content block that you provided at {path}. Try again with text and image blocks."
        )),
        other => Err(unknown(path, other)),
    }
}

fn inference_config(c: &Value) -> Result<Option<u64>, String> {
    let path = "inferenceConfig";
    let o = object(c, path)?;
    only(o, path, &["maxTokens", "temperature", "topP", "stopSequences"])?;
    let max_tokens = match o.get("maxTokens") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(constraint(
                    "inferenceConfig.maxTokens",
                    "Member must be an integer greater than or equal to 1",
                ))
            }
        },
    };
    if let Some(t) = o.get("temperature") {
        number_in(t, "inferenceConfig.temperature", 0.0, 1.0)?;
    }
    if let Some(t) = o.get("topP") {
        number_in(t, "inferenceConfig.topP", 0.0, 1.0)?;
    }
    if let Some(s) = o.get("stopSequences") {
        for (i, x) in array(s, "inferenceConfig.stopSequences")?.iter().enumerate() {
            string(x, &format!("inferenceConfig.stopSequences.{}.member", i + 1))?;
        }
    }
    Ok(max_tokens)
}

/// Nova's own fields (reference §2): `reasoningConfig` and `inferenceConfig.topK`.
fn additional_fields(a: &Value) -> Result<(), String> {
    let path = "additionalModelRequestFields";
    let o = object(a, path)?;
    only(o, path, &["reasoningConfig", "inferenceConfig"])?;
    if let Some(r) = o.get("reasoningConfig") {
        let path = "additionalModelRequestFields.reasoningConfig";
        let r = object(r, path)?;
        only(r, path, &["type", "maxReasoningEffort"])?;
        match r.get("type").and_then(Value::as_str) {
            Some("enabled" | "disabled") => {}
            _ => {
                return Err(constraint(
                    &format!("{path}.type"),
                    "Member must satisfy enum value set: [enabled, disabled]",
                ))
            }
        }
        if let Some(e) = r.get("maxReasoningEffort") {
            if !matches!(e.as_str(), Some("low" | "medium" | "high")) {
                return Err(constraint(
                    &format!("{path}.maxReasoningEffort"),
                    "Member must satisfy enum value set: [low, medium, high]",
                ));
            }
        }
    }
    if let Some(c) = o.get("inferenceConfig") {
        let path = "additionalModelRequestFields.inferenceConfig";
        let c = object(c, path)?;
        only(c, path, &["topK"])?;
    }
    Ok(())
}

/// Checks one image block and decodes its picture. GIF (no decoder in this build) is
/// checked by its header and answered as a grey picture of its size.
fn image(v: &Value, path: &str) -> Result<DynamicImage, String> {
    let o = object(v, path)?;
    only(o, path, &["format", "source"])?;
    let format = string(o.get("format").unwrap_or(&Value::Null), &format!("{path}.format"))?;
    let wanted = match format {
        "png" => ImageFormat::Png,
        "jpeg" => ImageFormat::Jpeg,
        "gif" => ImageFormat::Gif,
        "webp" => ImageFormat::WebP,
        _ => {
            return Err(constraint(
                &format!("{path}.format"),
                "Member must satisfy enum value set: [png, jpeg, gif, webp]",
            ))
        }
    };
    let source = object(o.get("source").unwrap_or(&Value::Null), &format!("{path}.source"))?;
    if source.contains_key("s3Location") {
        return Err(format!("{path}.source.s3Location: the emulator takes images as bytes only."));
    }
    only(source, &format!("{path}.source"), &["bytes"])?;
    let b64 = string(source.get("bytes").unwrap_or(&Value::Null), &format!("{path}.source.bytes"))?;
    let bytes = B64
        .decode(b64)
        .map_err(|_| constraint(&format!("{path}.source.bytes"), "Member must be valid base64-encoded binary data"))?;
    if bytes.is_empty() {
        return Err(constraint(&format!("{path}.source.bytes"), "Member must have length greater than or equal to 1"));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "The model returned the following errors: {path}.source.bytes: image is {} bytes, which exceeds the maximum of 3.75 MB ({MAX_IMAGE_BYTES} bytes).",
            bytes.len()
        ));
    }
    let actual = image::guess_format(&bytes).ok();
    if actual != Some(wanted) {
        return Err(format!(
            "The model returned the following errors: {path}: the image bytes are not {format} (they look like {}).",
            actual.map_or("no supported image format".to_owned(), |f| format!("{f:?}").to_lowercase())
        ));
    }
    let too_large = |(w, h): (u32, u32)| {
        (w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE).then(|| {
            format!("The model returned the following errors: {path}: image dimensions {w}x{h} exceed the maximum of {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE} pixels.")
        })
    };
    let broken = |e: String| {
        format!("The model returned the following errors: {path}: the {format} image cannot be decoded ({e}).")
    };
    if wanted == ImageFormat::Gif {
        let (w, h) = gif_size(&bytes).ok_or_else(|| broken("truncated header".into()))?;
        if let Some(e) = too_large((w, h)) {
            return Err(e);
        }
        return Ok(DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            w.max(1),
            h.max(1),
            image::Rgb([128, 128, 128]),
        )));
    }
    let reader = || ImageReader::with_format(Cursor::new(&bytes[..]), wanted);
    let dims = reader().into_dimensions().map_err(|e| broken(e.to_string()))?;
    if let Some(e) = too_large(dims) {
        return Err(e);
    }
    reader().decode().map_err(|e| broken(e.to_string()))
}

/// Width and height from a GIF's logical screen descriptor.
fn gif_size(b: &[u8]) -> Option<(u32, u32)> {
    let w = u16::from_le_bytes([*b.get(6)?, *b.get(7)?]);
    let h = u16::from_le_bytes([*b.get(8)?, *b.get(9)?]);
    Some((w as u32, h as u32))
}

/// The body with every image's bytes replaced by `{format, width, height, bytes}`, for the
/// call log (never base64).
pub(super) fn summarise(body: &[u8]) -> Value {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else { return serde_json::json!({ "unparseable": true }) };
    let Some(messages) = v.get_mut("messages").and_then(Value::as_array_mut) else { return v };
    for block in messages.iter_mut().filter_map(|m| m.get_mut("content")).filter_map(Value::as_array_mut).flatten() {
        if let Some(source) = block.get_mut("image").and_then(|i| i.get_mut("source")).and_then(Value::as_object_mut) {
            if let Some(bytes) = source.get_mut("bytes") {
                *bytes = describe(bytes);
            }
        }
    }
    v
}

fn describe(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return serde_json::json!({ "notAString": true }) };
    let Ok(bytes) = B64.decode(s) else { return serde_json::json!({ "invalidBase64": true, "chars": s.len() }) };
    let format = image::guess_format(&bytes).ok().map(|f| format!("{f:?}").to_lowercase());
    let dims = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().ok().and_then(|r| r.into_dimensions().ok());
    serde_json::json!({ "format": format, "width": dims.map(|d| d.0), "height": dims.map(|d| d.1), "bytes": bytes.len() })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
        crate::reference::png(&image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30])))
    }

    fn body(content: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "messages": [{"role": "user", "content": content}],
            "system": [{"text": "edit"}],
            "inferenceConfig": {"maxTokens": 10000, "temperature": 0.1},
            "additionalModelRequestFields": {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}
        }))
        .unwrap()
    }

    fn img(format: &str, bytes: &[u8]) -> Value {
        json!({"image": {"format": format, "source": {"bytes": B64.encode(bytes)}}})
    }

    #[test]
    fn a_person_and_a_garment_with_text_pass() {
        let v =
            validate(&body(json!([img("png", &png(40, 60)), img("png", &png(10, 20)), {"text": "dress"}]))).unwrap();
        assert_eq!(v.image_sizes, [(40, 60), (10, 20)]);
        assert_eq!(v.person.unwrap().width(), 40);
        assert_eq!(v.garment.unwrap().height(), 20);
        assert_eq!(v.max_tokens, Some(10000));
        assert_eq!(v.text_chars, "edit".len() + "dress".len());
    }

    #[test]
    fn each_rule_is_enforced() {
        let p = png(8, 8);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (body(json!([img("png", &p)])), "non-empty text block"),
            (body(json!([img("jpeg", &p), {"text": "x"}])), "are not jpeg"),
            (body(json!([img("bmp", &p), {"text": "x"}])), "enum value set: [png, jpeg, gif, webp]"),
            (body(json!([{"image": {"format": "png", "source": {"bytes": "***"}}}, {"text": "x"}])), "valid base64"),
            (body(json!([img("png", b"\x89PNG\r\n\x1a\nbroken"), {"text": "x"}])), "cannot be decoded"),
            (body(json!([img("png", &vec![0u8; MAX_IMAGE_BYTES + 1]), {"text": "x"}])), "exceeds the maximum of 3.75 MB"),
            (body(json!([img("png", &png(8001, 2)), {"text": "x"}])), "8001x2 exceed the maximum of 8000x8000"),
            (body(json!([{"text": "x", "image": {}}])), "exactly one of"),
            (body(json!([{"video": {}}, {"text": "x"}])), "doesn't support the video content block"),
            (body(json!([{"text": "x"}, {"frobnicate": 1}])), "extraneous key [frobnicate]"),
            (body(json!([{"text": "x"}, {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}}])), "bytes only"),
            (serde_json::to_vec(&json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "toolConfig": {}})).unwrap(), "extraneous key [toolConfig]"),
            (serde_json::to_vec(&json!({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]})).unwrap(), "must start with a user message"),
            (serde_json::to_vec(&json!({"messages": [{"role": "user", "content": [{"text": "x"}]}, {"role": "assistant", "content": [img("png", &p)]}, {"role": "user", "content": [{"text": "y"}]}]})).unwrap(), "only allowed in user turns"),
            (serde_json::to_vec(&json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"temperature": 2}})).unwrap(), "inferenceConfig.temperature"),
            (serde_json::to_vec(&json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": 0}})).unwrap(), "inferenceConfig.maxTokens"),
            (serde_json::to_vec(&json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "additionalModelRequestFields": {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "max"}}})).unwrap(), "[low, medium, high]"),
            (serde_json::to_vec(&json!({"messages": []})).unwrap(), "'messages' failed"),
            (b"{".to_vec(), "not valid JSON"),
        ];
        for (b, want) in cases {
            let e = validate(&b).err().unwrap_or_else(|| panic!("accepted; wanted {want}"));
            assert!(e.contains(want), "wanted {want:?} in {e:?}");
        }
        let many: Vec<Value> = (0..21).map(|_| img("png", &p)).chain([json!({"text": "x"})]).collect();
        assert!(validate(&body(Value::Array(many))).unwrap_err().contains("at most 20 images"));
        let twenty: Vec<Value> = (0..20).map(|_| img("png", &p)).chain([json!({"text": "x"})]).collect();
        assert_eq!(validate(&body(Value::Array(twenty))).unwrap().image_sizes.len(), 20);
    }

    #[test]
    fn a_gif_is_checked_by_its_header() {
        let gif = b"GIF89a\x10\x00\x08\x00\x00\x00\x00;";
        let v = validate(&body(json!([img("gif", gif), {"text": "x"}]))).unwrap();
        assert_eq!(v.image_sizes, [(16, 8)]);
        let big = b"GIF89a\x41\x1f\x08\x00\x00\x00\x00;";
        assert!(validate(&body(json!([img("gif", big), {"text": "x"}]))).unwrap_err().contains("8001x8"));
    }

    #[test]
    fn the_log_summary_has_no_base64() {
        let s = summarise(&body(json!([img("png", &png(40, 60)), {"text": "dress"}])));
        let image = &s["messages"][0]["content"][0]["image"]["source"]["bytes"];
        assert_eq!(image["format"], "png");
        assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(40), Some(60)));
        assert_eq!(s["messages"][0]["content"][1]["text"], "dress");
    }
}
