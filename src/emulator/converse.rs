//! SKELETON: Bedrock `Converse` (Nova 2 Omni image editing).

use axum::Router;

use super::state::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
}
