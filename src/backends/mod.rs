//! The backend port's pure half: one [`TryOn`] implementation per try-on model. A backend
//! owns everything that differs between models: the checks on its own manifest options, the
//! request body, the reply, the mapping of its failures onto our stable codes, and its price.
//! Which images it accepts is a fact in [`crate::core::backend`]; how the body reaches the model
//! (endpoint, credentials) is the transport's business ([`crate::adapters::model::Model`]). The
//! pipeline, claims, status, sheet and metrics never ask which backend ran.

pub mod converse;
pub mod gemini;
mod google_common;
pub mod instruction;
pub mod nova;
pub mod vertex_vto;

use crate::adapters::model::ModelCallError;
use crate::config::Prices;
use crate::core::backend::Backend;
use crate::core::error::JobError;
use crate::core::manifest::JobSpec;

/// The encoded request images.
#[derive(Debug, Clone, Copy)]
pub struct RequestImages<'a> {
    pub source: EncodedImage<'a>,
    pub reference: EncodedImage<'a>,
    /// The `imageBasedMask` image (PNG), for backends that take one.
    pub mask: Option<&'a [u8]>,
}

/// An encoded image, its MIME type (`image/jpeg` or `image/png`) and its size in pixels.
#[derive(Debug, Clone, Copy)]
pub struct EncodedImage<'a> {
    pub bytes: &'a [u8],
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The body on the wire (JSON).
    pub body: Vec<u8>,
    /// For prompt-based backends: the instruction sent, recorded in `status.json`.
    pub instruction: Option<String>,
}

/// A parsed successful reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The result pictures (PNG or JPEG bytes).
    pub images: Vec<Vec<u8>>,
    pub mask: Option<Vec<u8>>,
    /// Why some (not all) results are missing, when the model filtered them.
    pub moderation: Option<String>,
    /// Output tokens billed for the call, for backends priced by token.
    pub output_tokens: Option<u64>,
    /// Input tokens billed for the call, for backends priced by token.
    pub input_tokens: Option<u64>,
}

/// What makes a backend: implemented once per model, stateless, pure.
pub trait TryOn: Sync {
    fn backend(&self) -> Backend;

    /// Problems with the options this backend owns (its manifest block and the shared
    /// fields' ranges), each as `path: what to fix`. Options of other backends are refused
    /// before this, by the manifest.
    fn check_options(&self, spec: &JobSpec) -> Vec<String>;

    /// The largest request body the service takes.
    fn max_body_bytes(&self) -> usize;

    /// The request body for these images.
    fn request(&self, spec: &JobSpec, images: RequestImages<'_>) -> Result<Request, JobError>;

    /// Reads a 200 reply. A reply without a usable image is an error, never a success.
    fn parse_reply(&self, body: &[u8]) -> Result<Reply, JobError>;

    /// Maps a failed call onto the job error users see; `model` is the id that was called.
    fn classify(&self, e: &ModelCallError, model: &str) -> JobError;

    /// Pixels of one reply picture for a request laid out at `width`×`height`: the canvas
    /// size for backends that answer at the input's size (what the memory budget checks).
    fn reply_pixels(&self, _spec: &JobSpec, width: u32, height: u32) -> u64 {
        width as u64 * height as u64
    }

    /// USD for one call making `spec.number_of_images()` pictures of `width`×`height`: an
    /// estimate before the call (`reply` is `None`), what was billed after it.
    fn price(&self, spec: &JobSpec, width: u32, height: u32, reply: Option<&Reply>, prices: &Prices) -> f64;
}

/// The implementation of `backend`.
pub fn of(backend: Backend) -> &'static dyn TryOn {
    match backend {
        Backend::NovaCanvas => &nova::NovaCanvas,
        Backend::VertexVto => &vertex_vto::VertexVto,
        Backend::GeminiImage => &gemini::GeminiImage,
        Backend::BedrockConverse => &converse::BedrockConverse,
    }
}

/// Appends the base64 of `data` to `out`, without an intermediate string: request bodies
/// are the largest buffers of a job.
pub fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    let start = out.len();
    out.resize(start + base64_len(data.len()), 0);
    // SIMD base64 (5x the scalar speed on a 14 MB PNG body); the slice has the exact size.
    let _ = base64_simd::STANDARD.encode(data, base64_simd::Out::from_slice(&mut out[start..]));
}

pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// The JSON `shape` with the string values `"@IMAGE0@"`, `"@IMAGE1@"`, … replaced, in that
/// order, by the base64 of `images`: the body is serialised small by serde and the images
/// are written straight into it. The placeholders must come before any text a manifest
/// gave (each backend puts the images first), so user text can never be taken for one.
pub fn body_with_images<T: serde::Serialize>(shape: &T, images: &[&[u8]]) -> Result<Vec<u8>, JobError> {
    let json = serde_json::to_vec(shape).map_err(|e| {
        JobError::new(crate::core::error::ErrorCode::Internal, format!("cannot serialise the request ({e})"))
    })?;
    let total: usize = images.iter().map(|i| base64_len(i.len())).sum();
    let mut out = Vec::with_capacity(json.len() + total);
    let mut rest = &json[..];
    for (i, img) in images.iter().enumerate() {
        let mark = format!("\"@IMAGE{i}@\"");
        let at = find(rest, mark.as_bytes()).ok_or_else(|| {
            JobError::new(crate::core::error::ErrorCode::Internal, format!("the request has no place for image {i}"))
        })?;
        out.extend_from_slice(&rest[..=at]);
        push_base64(&mut out, img);
        out.push(b'"');
        rest = &rest[at + mark.len()..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}

/// The placeholder of image `i` for [`body_with_images`].
pub fn image_placeholder(i: usize) -> String {
    format!("@IMAGE{i}@")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a base64 field of a reply.
pub fn decode_base64(s: &str, what: &str, title: &str) -> Result<Vec<u8>, JobError> {
    base64_simd::STANDARD.decode_to_vec(s.as_bytes()).map_err(|e| {
        JobError::new(
            crate::core::error::ErrorCode::Internal,
            format!("the {title} reply's {what} is not valid base64 ({e})"),
        )
    })
}

/// The golden cases of `tests/golden/<folder>` (`""`: Nova Canvas's), sorted by name: each
/// case's name, manifest, and the request written by hand from the backend's reference.
#[cfg(test)]
pub(crate) fn golden_cases(folder: &str) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(folder);
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".manifest.json"))
        else {
            continue;
        };
        cases.push((name.to_owned(), read(&path), read(&dir.join(format!("{name}.request.json")))));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_spliced_in_order_and_user_text_after_them_is_left_alone() {
        let shape = serde_json::json!({"a": [image_placeholder(0), {"c": image_placeholder(1)}], "z": "say @IMAGE0@ \"@IMAGE1@\""});
        let out = body_with_images(&shape, &[b"hi", b"there"]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["a"][0], "aGk=");
        assert_eq!(v["a"][1]["c"], "dGhlcmU=");
        assert_eq!(v["z"], "say @IMAGE0@ \"@IMAGE1@\"");
        assert!(body_with_images(&serde_json::json!({"a": 1}), &[b"x"]).is_err());
    }

    #[test]
    fn every_backend_has_an_implementation_under_its_own_name() {
        for b in Backend::ALL {
            assert_eq!(of(b).backend(), b);
        }
    }
}
