//! Inline images in a request: base64, the 7 MB cap, the format sniffed from the bytes
//! (never trusted from `mimeType`, which must agree with them), the decode. And the call
//! log's view of a body, where every image becomes `{mimeType, width, height, bytes}`.

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{DynamicImage, ImageFormat, ImageReader};
use serde_json::{json, Map, Value};

use super::wire::GoogleError;

/// Inline images are capped at 7 MB decoded (VTO reference §4: "7 MB per file for inline
/// data"; Gemini reference §4: 7 MB inline for every 3.x model). Read as 7,000,000 bytes,
/// the stricter reading of "MB".
pub(super) const MAX_INLINE_BYTES: usize = 7_000_000;

/// Not Google's limit (the references give no pixel cap): the emulator's guard against a
/// decompression bomb, well above any photo.
const EMULATOR_MAX_PIXELS: u64 = 64_000_000;

/// The MIME type Google uses for a sniffed format.
pub(super) fn mime_of(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::WebP => "image/webp",
        _ => "application/octet-stream",
    }
}

/// Decodes the base64 image at `field`: valid base64, at most 7 MB, one of `allowed`
/// (sniffed from the bytes), matching `declared` if given, and decodable.
pub(super) fn decode(
    b64: &str,
    declared: Option<&str>,
    allowed: &[ImageFormat],
    field: &str,
) -> Result<DynamicImage, GoogleError> {
    decode_within(b64, declared, allowed, field, Some(MAX_INLINE_BYTES))
}

/// [`decode`] with the decoded-size cap `cap` (none on the Gemini API, whose per-image
/// limit is NOT FOUND: only its 100 MB request cap holds).
pub(super) fn decode_within(
    b64: &str,
    declared: Option<&str>,
    allowed: &[ImageFormat],
    field: &str,
    cap: Option<usize>,
) -> Result<DynamicImage, GoogleError> {
    let bad = |what: String| GoogleError::invalid(field, format!("Invalid value at '{field}': {what}"));
    let bytes = B64
        .decode(b64.as_bytes())
        .map_err(|e| bad(format!("Base64 decoding failed ({e}); send standard base64 with padding.")))?;
    if let Some(cap) = cap.filter(|c| bytes.len() > *c) {
        return Err(bad(format!(
            "the image is {} bytes; inline images are limited to 7 MB ({cap} bytes).",
            bytes.len()
        )));
    }
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| allowed.contains(f))
        .ok_or_else(|| bad(format!("the bytes are not a {} image.", names(allowed))))?;
    if let Some(d) = declared.filter(|d| !d.eq_ignore_ascii_case(mime_of(format))) {
        return Err(bad(format!("mimeType says {d} but the bytes are {}.", mime_of(format))));
    }
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(EMULATOR_MAX_PIXELS * 4);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().map_err(|e| bad(format!("the image cannot be read: {e}.")))?;
    if w as u64 * h as u64 > EMULATOR_MAX_PIXELS {
        return Err(bad(format!("the image is {w}x{h}; the emulator decodes at most {EMULATOR_MAX_PIXELS} pixels.")));
    }
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    reader.limits(limits_for(w, h));
    reader.decode().map_err(|e| bad(format!("the image cannot be decoded: {e}.")))
}

fn limits_for(w: u32, h: u32) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(w as u64 * h as u64 * 8 + (1 << 20));
    limits
}

fn names(allowed: &[ImageFormat]) -> String {
    allowed.iter().map(|f| mime_of(*f)).collect::<Vec<_>>().join(" or ")
}

/// The body for the call log: JSON with every image object (one holding
/// `bytesBase64Encoded`, or `data` beside `mimeType`) replaced by its description.
pub(super) fn summarise(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            scrub(&mut v);
            v
        }
        Err(_) => json!({ "unparseable": true, "bytes": body.len() }),
    }
}

fn scrub(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            let b64 = obj.get("bytesBase64Encoded").or_else(|| obj.get("mimeType").and(obj.get("data")));
            if let Some(Value::String(s)) = b64 {
                *v = describe(s, obj);
                return;
            }
            obj.values_mut().for_each(scrub);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

fn describe(b64: &str, obj: &Map<String, Value>) -> Value {
    let declared = obj.get("mimeType").cloned().unwrap_or(Value::Null);
    let Ok(bytes) = B64.decode(b64.as_bytes()) else {
        return json!({ "mimeType": declared, "invalidBase64": true, "chars": b64.len() });
    };
    let reader = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().ok();
    let sniffed = reader.as_ref().and_then(ImageReader::format).map(mime_of);
    let dims = reader.and_then(|r| r.into_dimensions().ok());
    json!({
        "mimeType": if declared.is_null() { json!(sniffed) } else { declared },
        "width": dims.map(|d| d.0),
        "height": dims.map(|d| d.1),
        "bytes": bytes.len(),
    })
}
