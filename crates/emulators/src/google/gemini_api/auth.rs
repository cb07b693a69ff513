//! The Gemini API's credential check (Gemini reference §1, §4, §10.1): exactly one API key,
//! in the `x-goog-api-key` header or the `key` query parameter, judged by the emulator's
//! key policy ([`ApiKeys`](crate::ApiKeys)).

use axum::http::HeaderMap;
use serde_json::json;

use super::super::wire::GoogleError;
use crate::keys::KeyVerdict;
use crate::state::Emulator;

/// Where the key came from, for the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    Header,
    Query,
}

impl Via {
    pub(super) fn name(self) -> &'static str {
        match self {
            Via::Header => "header",
            Via::Query => "query",
        }
    }
}

/// An accepted caller.
pub(super) struct Caller {
    pub(super) via: Via,
    pub(super) key: String,
}

const SERVICE: &str = "generativelanguage.googleapis.com";
const KEY_INVALID: &str = "API key not valid. Please pass a valid API key.";

/// 403 PERMISSION_DENIED for a call without a key (I2's message; no detail is quoted).
fn unregistered() -> GoogleError {
    GoogleError::new(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    )
}

/// 400 INVALID_ARGUMENT, `ErrorInfo` reason API_KEY_INVALID and its `LocalizedMessage` (I1).
fn key_invalid() -> GoogleError {
    GoogleError::new(400, "INVALID_ARGUMENT", KEY_INVALID).with_details(vec![
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": { "service": SERVICE },
        }),
        json!({ "@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": KEY_INVALID }),
    ])
}

/// 401 UNAUTHENTICATED, reason ACCESS_TOKEN_TYPE_UNSUPPORTED, with Google's misleading
/// "Expected OAuth 2 access token" text (I4): a rejected standard key, or a bearer token
/// (the emulator takes API keys only; OAuth on the Gemini API is not emulated).
fn token_type_unsupported() -> GoogleError {
    GoogleError::new(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )
    .with_details(vec![json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        "domain": "googleapis.com",
        "metadata": { "service": SERVICE, "method": "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent" },
    })])
}

/// The one key of a call. Two credentials (header and query, or a key and a bearer) are
/// refused with the 400 a third party saw for that case (X15, NOT FOUND from Google).
pub(super) fn check(emu: &Emulator, headers: &HeaderMap, query: Option<&str>) -> Result<Caller, GoogleError> {
    let header = headers.get("x-goog-api-key").map(|v| v.to_str().unwrap_or_default().trim().to_owned());
    let queried: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned())
        .collect();
    let bearer = headers.contains_key("authorization");
    if header.is_some() as usize + queried.len() + bearer as usize > 1 {
        let message = "Multiple authentication credentials received. Please pass only one.";
        return Err(GoogleError::new(400, "INVALID_ARGUMENT", message));
    }
    let (via, key) = match (header, queried.into_iter().next()) {
        (Some(k), _) => (Via::Header, k),
        (None, Some(k)) => (Via::Query, k),
        (None, None) if bearer => return Err(token_type_unsupported()),
        (None, None) => return Err(unregistered()),
    };
    match emu.lock().gemini_api_keys.verdict(&key) {
        KeyVerdict::Valid => Ok(Caller { via, key }),
        KeyVerdict::Invalid => Err(key_invalid()),
        KeyVerdict::Standard => Err(token_type_unsupported()),
    }
}
