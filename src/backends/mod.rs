//! The try-on backends, one folder each ([`nova`], [`vertex_vto`], [`gemini`], [`converse`]),
//! each implementing the port in [`try_on`] with everything that backend owns: the checks on
//! its options, the request, the reply, its failures and its price. What they share: request
//! bodies with images ([`body`]), the Google backends' common ground (`google_common`), the
//! words prompt-based backends are given ([`instruction`]). Which images each accepts is a
//! fact in [`crate::core::backend`]. The pipeline, claims, status, sheet and metrics never ask
//! which backend ran; [`of`] is the one place that maps a backend to its implementation.

pub mod body;
pub mod converse;
pub mod gemini;
mod google_common;
pub mod instruction;
pub mod nova;
pub mod try_on;
pub mod vertex_vto;

use crate::core::backend::Backend;

pub use body::{base64_len, body_with_images, decode_base64, image_placeholder, push_base64};
pub use try_on::{EncodedImage, Reply, Request, RequestImages, TryOn};

/// The implementation of `backend`.
pub fn of(backend: Backend) -> &'static dyn TryOn {
    match backend {
        Backend::NovaCanvas => &nova::NovaCanvas,
        Backend::VertexVto => &vertex_vto::VertexVto,
        Backend::GeminiImage => &gemini::GeminiImage,
        Backend::BedrockConverse => &converse::BedrockConverse,
    }
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
    fn every_backend_has_an_implementation_under_its_own_name() {
        for b in Backend::ALL {
            assert_eq!(of(b).backend(), b);
        }
    }
}
