//! SKELETON: Vertex AI `:predict` (Virtual Try-On) and `:generateContent` (Gemini image).

use axum::Router;

use super::state::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
}
