//! SKELETON: Google's token endpoints (STS token exchange, service-account impersonation)
//! and the bearer check the Google model emulators use.

use axum::Router;

use super::state::{Emulator, TokenState};

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
}

/// Checks an `authorization` header: a token issued here and not expired. Errors are
/// (HTTP status, Google status, message).
pub(super) fn check_bearer(emu: &Emulator, authorization: Option<&str>) -> Result<(), (u16, &'static str, String)> {
    let token = authorization.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default();
    match emu.token_state(token) {
        TokenState::Valid => Ok(()),
        _ => Err((401, "UNAUTHENTICATED", "Request had invalid authentication credentials.".into())),
    }
}
