//! Configuring the FASHN emulator, in code (`impl Emulator`) and over HTTP:
//!
//! - `GET /_emulator/fashn/settings`, `PUT /_emulator/fashn/settings` with any of
//!   `{"predictionMs", "concurrency", "runLimit": {"requests", "windowMs"}, "statusLimit",
//!   "creditsLimit", "base64RetentionMs", "urlRetentionMs", "credits"}` (the rest kept);
//! - `GET /_emulator/keys/fashn`, `PUT /_emulator/keys/fashn` with an [`ApiKeys`] JSON;
//! - `DELETE /_emulator/fashn/predictions/{id}` loses a prediction (404 on status from then).
//!
//! Faults go through the common queue: `POST /_emulator/faults/fashn` ([`FashnFault`]).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{FashnFault, BACKEND};
use crate::fashn_store::{FashnSettings, RateLimit};
use crate::keys::ApiKeys;
use crate::state::Emulator;

impl Emulator {
    /// Replaces the FASHN emulator's settings (timing, limits, retention).
    pub fn set_fashn_settings(&self, settings: FashnSettings) {
        self.lock().fashn.settings = settings;
    }

    pub fn fashn_settings(&self) -> FashnSettings {
        self.lock().fashn.settings.clone()
    }

    /// Sets the API credits left (default [`DEFAULT_CREDITS`](crate::fashn_store::DEFAULT_CREDITS));
    /// a run needing more is 429 `OutOfCredits`. Configuration: `reset` keeps it.
    pub fn set_fashn_credits(&self, credits: u64) {
        self.lock().fashn.credits = credits;
    }

    pub fn fashn_credits(&self) -> u64 {
        self.lock().fashn.credits
    }

    /// Which bearer keys FASHN accepts (default: any non-empty key).
    pub fn set_fashn_keys(&self, keys: ApiKeys) {
        self.lock().fashn_keys = keys;
    }

    pub fn fashn_keys(&self) -> ApiKeys {
        self.lock().fashn_keys.clone()
    }

    /// Queues `fault` for the next `/v1/run`.
    pub fn push_fashn_fault(&self, fault: FashnFault) {
        self.push_backend_fault(BACKEND, serde_json::to_value(fault).unwrap_or(Value::Null));
    }

    /// Queues `fault` for the next `/v1/status/{id}` (request-level faults only).
    pub fn push_fashn_status_fault(&self, fault: FashnFault) {
        let mut v = serde_json::to_value(fault).unwrap_or(Value::Null);
        v["on"] = json!("status");
        self.push_backend_fault(BACKEND, v);
    }

    /// Loses prediction `id`: its status answers 404 from now on. Whether it existed.
    pub fn lose_fashn_prediction(&self, id: &str) -> bool {
        self.lock().fashn.predictions.remove(id).is_some()
    }
}

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/fashn/settings", get(read_settings).put(write_settings))
        .route("/_emulator/fashn/predictions/{id}", delete(lose))
        .route("/_emulator/keys/fashn", get(read_keys).put(write_keys))
}

/// A rate limit as JSON.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitJson {
    requests: u32,
    window_ms: u64,
}

impl From<RateLimit> for LimitJson {
    fn from(l: RateLimit) -> Self {
        LimitJson { requests: l.requests, window_ms: l.window.as_millis() as u64 }
    }
}

impl From<LimitJson> for RateLimit {
    fn from(l: LimitJson) -> Self {
        RateLimit { requests: l.requests, window: Duration::from_millis(l.window_ms) }
    }
}

/// The settings as JSON; every field optional in a `PUT`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsJson {
    prediction_ms: Option<u64>,
    concurrency: Option<u32>,
    run_limit: Option<LimitJson>,
    status_limit: Option<LimitJson>,
    credits_limit: Option<LimitJson>,
    base64_retention_ms: Option<u64>,
    url_retention_ms: Option<u64>,
    credits: Option<u64>,
}

fn ms(d: Duration) -> Option<u64> {
    Some(d.as_millis() as u64)
}

fn settings_json(emu: &Emulator) -> Json<SettingsJson> {
    let s = emu.lock();
    let f = &s.fashn.settings;
    Json(SettingsJson {
        prediction_ms: ms(f.prediction_time),
        concurrency: Some(f.concurrency),
        run_limit: Some(f.run_limit.into()),
        status_limit: Some(f.status_limit.into()),
        credits_limit: Some(f.credits_limit.into()),
        base64_retention_ms: ms(f.base64_retention),
        url_retention_ms: ms(f.url_retention),
        credits: Some(s.fashn.credits),
    })
}

async fn read_settings(State(emu): State<Emulator>) -> Json<SettingsJson> {
    settings_json(&emu)
}

async fn write_settings(State(emu): State<Emulator>, Json(v): Json<Value>) -> Response {
    let patch: SettingsJson = match serde_json::from_value(v) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({ "message": e.to_string() }))).into_response(),
    };
    {
        let mut s = emu.lock();
        let f = &mut s.fashn.settings;
        let set_ms = |d: &mut Duration, v: Option<u64>| {
            if let Some(ms) = v {
                *d = Duration::from_millis(ms);
            }
        };
        set_ms(&mut f.prediction_time, patch.prediction_ms);
        set_ms(&mut f.base64_retention, patch.base64_retention_ms);
        set_ms(&mut f.url_retention, patch.url_retention_ms);
        f.concurrency = patch.concurrency.unwrap_or(f.concurrency);
        f.run_limit = patch.run_limit.map_or(f.run_limit, Into::into);
        f.status_limit = patch.status_limit.map_or(f.status_limit, Into::into);
        f.credits_limit = patch.credits_limit.map_or(f.credits_limit, Into::into);
        s.fashn.credits = patch.credits.unwrap_or(s.fashn.credits);
    }
    settings_json(&emu).into_response()
}

async fn lose(State(emu): State<Emulator>, Path(id): Path<String>) -> StatusCode {
    if emu.lose_fashn_prediction(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn read_keys(State(emu): State<Emulator>) -> Json<ApiKeys> {
    Json(emu.fashn_keys())
}

async fn write_keys(State(emu): State<Emulator>, Json(v): Json<Value>) -> Response {
    match serde_json::from_value::<ApiKeys>(v) {
        Ok(keys) => {
            emu.set_fashn_keys(keys.clone());
            Json(keys).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "message": e.to_string() }))).into_response(),
    }
}
