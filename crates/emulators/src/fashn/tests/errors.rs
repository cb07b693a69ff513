//! Scripted FASHN faults (request-level errors on run and status, prediction failures),
//! the bearer checks and retired models.

use serde_json::{json, Value};

use super::{v16, World, KEY};
use crate::{ApiKeys, FashnFault};

/// Each runtime error name the reference gives ends a prediction as `failed` with it.
#[tokio::test(flavor = "multi_thread")]
async fn each_scripted_failure_ends_the_prediction_failed() {
    let w = World::start().await;
    // Terminal at once: one poll each keeps within the status rate limit.
    let mut settings = w.emu.fashn_settings();
    settings.prediction_time = std::time::Duration::ZERO;
    w.emu.set_fashn_settings(settings);
    let names = [
        "PoseError",
        "ImageLoadError",
        "ContentModerationError",
        "InputValidationError",
        "ThirdPartyError",
        "UnavailableError",
        "PipelineError",
        "3rdPartyProviderError",
        "InternalServerError",
        "LoRALoadError",
        "NSFWError",
        "PhotoTypeError",
        "SomeFutureError",
    ];
    for name in names {
        w.emu.push_fashn_fault(FashnFault::Fail { name: name.into(), message: None });
        let id = w.start_prediction(&v16(json!({ "return_base64": true }))).await;
        let (states, done) = w.until_terminal(&id).await;
        let reply = done.json();
        assert_eq!((&reply["status"], &reply["error"]["name"]), (&json!("failed"), &json!(name)), "{states:?} {reply}");
        assert!(!reply["error"]["message"].as_str().unwrap().is_empty());
    }
    w.emu.push_backend_fault("fashn", json!({ "type": "fail", "name": "PoseError", "message": "no pose" }));
    let id = w.start_prediction(&v16(json!({}))).await;
    assert_eq!(w.until_terminal(&id).await.1.json()["error"], json!({ "name": "PoseError", "message": "no pose" }));
    assert_eq!(w.emu.fashn_credits(), crate::fashn_store::DEFAULT_CREDITS, "failed predictions are free");
    for (fault, status) in [(FashnFault::Canceled, "canceled"), (FashnFault::TimeOut, "time_out")] {
        w.emu.push_fashn_fault(fault);
        let id = w.start_prediction(&v16(json!({}))).await;
        let reply = w.until_terminal(&id).await.1.json();
        assert_eq!(reply, json!({ "id": id, "status": status, "output": null, "error": null }));
    }
}

/// Request-level faults answer FASHN's `{error, message}` with their status, no id issued.
#[tokio::test(flavor = "multi_thread")]
async fn scripted_run_errors_answer_the_documented_shapes() {
    let w = World::start().await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "type": "badRequest" }), 400, "BadRequest"),
        (json!({ "type": "unauthorized" }), 401, "UnauthorizedAccess"),
        (json!({ "type": "rateLimited" }), 429, "RateLimitExceeded"),
        (json!({ "type": "concurrencyLimited" }), 429, "ConcurrencyLimitExceeded"),
        (json!({ "type": "outOfCredits" }), 429, "OutOfCredits"),
        (json!({ "type": "serverError" }), 500, "InternalServerError"),
        (json!({ "type": "serverError", "status": 503, "message": "down" }), 503, "InternalServerError"),
        (json!({ "type": "noSuchFault" }), 500, "InternalServerError"),
    ];
    for (fault, _, _) in &cases {
        w.emu.push_backend_fault("fashn", fault.clone());
    }
    for (fault, status, name) in &cases {
        let r = w.run(&v16(json!({}))).await;
        assert_eq!((r.status, r.json()["error"].as_str()), (*status, Some(*name)), "{fault}: {}", r.json());
        assert!(r.json()["message"].is_string() && r.json().get("id").is_none());
    }
    let logged: Vec<Value> = w.calls("/v1/run").iter().map(|c| c["fault"].clone()).collect();
    assert_eq!(logged, cases.iter().map(|c| c.0.clone()).collect::<Vec<_>>());
    assert_eq!(w.run(&v16(json!({}))).await.status, 200, "each fault is used by one call");
    assert!(w.emu.lock().fashn.predictions.len() == 1);
}

/// A fault `"on": "status"` waits for a poll; runs pass it by.
#[tokio::test(flavor = "multi_thread")]
async fn status_faults_are_taken_by_the_next_poll() {
    let w = World::start().await;
    w.emu.push_fashn_status_fault(FashnFault::ServerError { status: None, message: None });
    w.emu.push_fashn_status_fault(FashnFault::Fail { name: "PoseError".into(), message: None });
    let id = w.start_prediction(&v16(json!({}))).await;
    let r = w.status(&id).await;
    assert_eq!(r.json(), json!({ "error": "InternalServerError", "message": "Failed to fetch prediction status" }));
    let r = w.status(&id).await;
    assert_eq!(r.status, 500, "a prediction fault cannot apply to a poll: {}", r.json());
    assert_eq!(w.until_terminal(&id).await.1.json()["status"], "completed");
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_keys_are_checked_on_every_route() {
    let w = World::start().await;
    let body = v16(json!({}));
    let missing = w.run_as(None, &body).await;
    assert_eq!(
        (missing.status, missing.json()),
        (401, json!({ "error": "UnauthorizedAccess", "message": "Unauthorized: Invalid token" }))
    );
    let basic = w
        .http
        .send(
            "POST",
            "/v1/run",
            &[("authorization", "Basic Zm9vOmJhcg=="), ("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await;
    assert_eq!(basic.status, 401);
    assert_eq!(w.run_as(Some(" "), &body).await.status, 401, "an empty key");
    w.emu.set_fashn_keys(ApiKeys::any().with_invalid(["fa-revoked"]));
    let revoked = w.run_as(Some("fa-revoked"), &body).await;
    assert_eq!(revoked.json(), json!({ "error": "UnauthorizedAccess", "message": "Invalid or inactive API key" }));
    let id = w.start_prediction(&body).await;
    // Over HTTP: only one key accepted from now on.
    let only = json!({ "valid": ["fa-only"] }).to_string();
    assert_eq!(
        w.http
            .send("PUT", "/_emulator/keys/fashn", &[("content-type", "application/json")], only.as_bytes())
            .await
            .status,
        200
    );
    assert_eq!(w.status(&id).await.status, 401, "the old key is refused on status too");
    let credits = w.http.send("GET", "/v1/credits", &[("authorization", "Bearer fa-other")], b"").await;
    assert_eq!(credits.status, 401);
    assert_eq!(w.run_as(Some("fa-only"), &body).await.status, 200);
    assert_eq!(w.status_as("fa-only", &id).await.status, 404, "another key's prediction is not found");
    let keys = w.http.send("GET", "/_emulator/keys/fashn", &[], b"").await;
    assert_eq!(keys.json()["valid"], json!(["fa-only"]));
    assert!(w
        .calls("/v1/run")
        .iter()
        .filter(|c| c["status"] == 401)
        .all(|c| c["error"]["name"] == "UnauthorizedAccess"));
}

/// A retired model is a 400 before the rate limit and the fault queue count it.
#[tokio::test(flavor = "multi_thread")]
async fn a_retired_model_is_refused_before_limits_and_faults() {
    let w = World::start().await;
    w.emu.retire_model("fashn/tryon-v1.6");
    w.emu.push_fashn_fault(FashnFault::RateLimited);
    let mut settings = w.emu.fashn_settings();
    settings.run_limit.requests = 1;
    w.emu.set_fashn_settings(settings);
    for _ in 0..3 {
        let r = w.run(&v16(json!({}))).await;
        let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("BadRequest")));
        assert!(message.contains("model_name 'tryon-v1.6' has been retired"), "{message}");
    }
    w.emu.unretire_model("fashn/tryon-v1.6");
    assert_eq!(w.run(&v16(json!({}))).await.json()["error"], "RateLimitExceeded", "the fault waited");
    assert_eq!(w.run(&v16(json!({}))).await.json()["error"], "RateLimitExceeded", "one run a minute, now used");
    assert!(w.calls("/v1/run").iter().take(3).all(|c| c["fault"].is_null() && c["model"] == "tryon-v1.6"));
    let _ = KEY;
}
