//! Images in and out of the FASHN emulator: input strings loaded (data URIs only: the
//! emulator is offline), the deterministic outputs at FASHN's sizes, and the call log's
//! view of a body (data URIs replaced by their description, as FASHN's own request history
//! logs base64 inputs as `<base64>`, F4).

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, ImageReader, RgbImage};
use serde_json::{json, Value};

use super::inputs::{Job, Model};
use crate::fashn_store::Render;
use crate::google::paint;

/// Not FASHN's limit (none is documented, §5): the emulator's guard against a
/// decompression bomb, far above the 2000 px / 6000 px edges FASHN recommends (F9).
const EMULATOR_MAX_PIXELS: u64 = 64_000_000;

/// `tryon-v1.6` processes at 864×1296 (F6); `tryon-v1.5` at 576×864 (F12). The output
/// size for inputs that are not 2:3 is NOT FOUND: the emulator always answers these sizes,
/// the person scaled to cover them and cropped around the centre.
const V16_SIZE: (u32, u32) = (864, 1296);
const V15_SIZE: (u32, u32) = (576, 864);

/// The bytes of a `data:image/<format>;base64,<data>` URI, or why they cannot be had.
fn data_uri(s: &str) -> Result<Vec<u8>, String> {
    let rest = s.strip_prefix("data:").ok_or("it has no data: prefix")?;
    let (meta, data) = rest.split_once(',').ok_or("the data URI has no comma before its data")?;
    let mime = meta.strip_suffix(";base64").ok_or("the data URI is not base64 (expected ;base64,)")?;
    if !mime.starts_with("image/") {
        return Err(format!("the data URI's type is {mime:?}, not an image"));
    }
    B64.decode(data.as_bytes()).map_err(|e| format!("the base64 data cannot be decoded ({e})"))
}

/// Decodes image bytes (png, jpeg or webp, sniffed; the declared type is not trusted).
fn decode(bytes: &[u8]) -> Result<RgbImage, String> {
    let format = image::guess_format(bytes)
        .ok()
        .filter(|f| [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP].contains(f))
        .ok_or("the bytes are not a PNG, JPEG or WebP image (the only formats the emulator decodes)")?;
    let (w, h) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| format!("the image cannot be read ({e})"))?;
    if w as u64 * h as u64 > EMULATOR_MAX_PIXELS {
        return Err(format!("the image is {w}x{h}; the emulator decodes at most {EMULATOR_MAX_PIXELS} pixels"));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(w as u64 * h as u64 * 8 + (1 << 20));
    reader.limits(limits);
    reader.decode().map(|i| i.to_rgb8()).map_err(|e| format!("the image cannot be decoded ({e})"))
}

/// Loads one input image; the error is the `ImageLoadError` message ("Error loading model
/// image: …", FASHN's form, §11). URLs and `saved:` models cannot be fetched offline: the
/// emulator says so in the same runtime error FASHN gives for an unreachable URL.
fn load(input: &str, which: &str) -> Result<RgbImage, String> {
    let why = if input.starts_with("http://") || input.starts_with("https://") {
        let shown: String = input.chars().take(80).collect();
        Err(format!("the emulator is offline and cannot fetch {shown}; send the image as a data URI (data:image/<format>;base64,…)"))
    } else if input.starts_with("saved:") && which == "model" {
        Err("saved models live in FASHN Models Studio, which the offline emulator does not have; send a data URI"
            .into())
    } else if input.starts_with("data:") {
        data_uri(input).and_then(|b| decode(&b))
    } else {
        Err("it is neither a URL nor a data URI with the prefix data:image/<format>;base64,".into())
    };
    why.map_err(|e| format!("Error loading {which} image: {e}"))
}

/// The output size of a job for a `person_w`×`person_h` person.
fn output_size(job: &Job, person: (u32, u32)) -> (u32, u32) {
    match job.model {
        Model::V16 => V16_SIZE,
        Model::V15 => V15_SIZE,
        Model::Max => max_size(job.resolution, job.aspect_ratio.as_deref(), person),
    }
}

/// `tryon-max`: about 1, 4 or 16 MP (1k, 2k, 4k, F7) in the asked aspect ratio, else the
/// person's (the exact sizes are NOT FOUND: sides here are multiples of 16).
fn max_size(resolution: &str, ratio: Option<&str>, (pw, ph): (u32, u32)) -> (u32, u32) {
    let side = match resolution {
        "2k" => 2048.0,
        "4k" => 4096.0,
        _ => 1024.0,
    };
    let r = ratio
        .and_then(|r| r.split_once(':'))
        .and_then(|(w, h)| Some(w.parse::<f64>().ok()? / h.parse::<f64>().ok()?))
        .unwrap_or(pw.max(1) as f64 / ph.max(1) as f64)
        .clamp(0.25, 4.0);
    let snap = |x: f64| (((x / 16.0).round() as u32) * 16).max(16);
    (snap(side * r.sqrt()), snap(side / r.sqrt()))
}

fn encode(img: &RgbImage, jpeg: bool) -> Result<Vec<u8>, String> {
    if !jpeg {
        return crate::reference::try_png(img).map_err(|e| e.to_string());
    }
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 95).encode_image(img).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Loads a job's images (the error is the `ImageLoadError` message) and sizes its output.
pub(super) fn prepare(job: &Job) -> Result<Render, String> {
    let garment_which = if job.model == Model::Max { "product" } else { "garment" };
    let person = load(&job.person, "model")?;
    let garment = load(&job.garment, garment_which)?;
    let size = output_size(job, person.dimensions());
    Ok(Render {
        person,
        garment: DynamicImage::ImageRgb8(garment),
        size,
        seed: job.seed,
        samples: job.samples,
        jpeg: job.jpeg,
    })
}

/// Paints the outputs: the person framed at the model's size with the garment over the
/// torso, tinted per sample and seed (same inputs and seed, same pixels: F6's determinism).
pub(super) fn paint(r: &Render) -> Result<Vec<Vec<u8>>, String> {
    let framed = paint::cover(&r.person, r.size.0, r.size.1);
    (0..r.samples)
        .map(|n| encode(&paint::dress(&framed, Some(&r.garment), paint::tint(r.seed, n)), r.jpeg))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("emulator: encoding the output failed: {e}"))
}

/// The body for the call log: JSON with every data URI of `inputs` replaced by
/// `{dataUri: <type>, width, height, bytes}` (URLs kept as sent).
pub(super) fn summarise(body: &[u8]) -> Value {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
        return json!({ "unparseable": true, "bytes": body.len() });
    };
    if let Some(inputs) = v.get_mut("inputs").and_then(Value::as_object_mut) {
        for value in inputs.values_mut() {
            if let Some(s) = value.as_str().filter(|s| s.starts_with("data:")) {
                *value = describe(s);
            }
        }
    }
    v
}

fn describe(uri: &str) -> Value {
    let declared = uri.strip_prefix("data:").and_then(|r| r.split([';', ',']).next()).unwrap_or_default();
    let Ok(bytes) = data_uri(uri) else { return json!({ "dataUri": declared, "invalid": true, "chars": uri.len() }) };
    let dims = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().ok().and_then(|r| r.into_dimensions().ok());
    json!({ "dataUri": declared, "width": dims.map(|d| d.0), "height": dims.map(|d| d.1), "bytes": bytes.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_reference() {
        assert_eq!(max_size("1k", Some("1:1"), (10, 10)), (1024, 1024));
        assert_eq!(max_size("2k", Some("1:1"), (10, 10)), (2048, 2048));
        let (w, h) = max_size("1k", None, (600, 900));
        assert!((w as f64 / h as f64 - 2.0 / 3.0).abs() < 0.02 && (w * h).abs_diff(1 << 20) < 40_000, "{w}x{h}");
    }

    #[test]
    fn loading_names_the_image_and_the_reason() {
        let e = load("https://cdn.example.com/a.jpg", "garment").unwrap_err();
        assert!(e.starts_with("Error loading garment image: the emulator is offline"), "{e}");
        let e = load("iVBORw0KGgo=", "model").unwrap_err();
        assert!(e.contains("data:image/<format>;base64,"), "{e}");
        assert!(load("data:text/plain;base64,aGk=", "model").unwrap_err().contains("not an image"));
        assert!(load("data:image/png;base64,%%%", "model").unwrap_err().contains("base64"));
    }
}
