//! The Gemini API emulator over real HTTP: keys, models and `modelStatus`, the Vertex-only
//! fields, sizes per model, the body cap, the JPEG answer and its usage, scripted outcomes.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::test_http::{Http, Reply};
use crate::{ApiKeys, Emulator, GeminiModelStatus};

const KEY: &str = "AQ.emulator-test-key";
const BANANA: &str = "gemini-nano-banana-2.1";

struct World {
    emu: Emulator,
    http: Http,
}

impl World {
    async fn start() -> World {
        let emu = Emulator::default();
        let http = Http::start(&emu).await;
        World { emu, http }
    }

    /// `generateContent` on `model` with extra `headers` (no key added).
    async fn raw(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.http.send("POST", path, &all, body).await
    }

    async fn generate(&self, model: &str, body: &Value) -> Reply {
        let path = format!("/v1beta/models/{model}:generateContent");
        self.raw(&path, &[("x-goog-api-key", KEY)], body.to_string().as_bytes()).await
    }

    fn last_call(&self) -> Value {
        self.emu.backend_calls().pop().unwrap()
    }
}

fn png(w: u32, h: u32) -> String {
    B64.encode(crate::reference::png(&image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 77]))))
}

/// §2's try-on request, with `config` as its generationConfig (omitted if null).
fn body(config: Value) -> Value {
    let mut b = json!({
        "contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": png(300, 400)}},
            {"inlineData": {"mimeType": "image/png", "data": png(120, 120)}},
            {"text": "Take the garment from the second image and place it on the person in the first image."},
        ]}],
        "safetySettings": [{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "BLOCK_MEDIUM_AND_ABOVE"}],
    });
    if !config.is_null() {
        b["generationConfig"] = config;
    }
    b
}

fn image_only(ratio: &str, size: &str) -> Value {
    json!({"responseModalities": ["IMAGE"], "candidateCount": 1,
           "imageConfig": {"aspectRatio": ratio, "imageSize": size}})
}

/// The (width, height, format) of the reply's one non-thought image.
fn picture(reply: &Value) -> (u32, u32, String) {
    let parts = reply["candidates"][0]["content"]["parts"].as_array().unwrap();
    let data = parts.iter().find_map(|p| p.get("inlineData")).unwrap();
    let bytes = B64.decode(data["data"].as_str().unwrap()).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    let format = format!("{:?}", image::guess_format(&bytes).unwrap());
    assert_eq!(data["mimeType"], "image/jpeg");
    (img.width(), img.height(), format)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_try_on_answers_one_jpeg_with_usage_and_model_status() {
    let w = World::start().await;
    let mut config = image_only("3:4", "1K");
    config["thinkingConfig"] = json!({"thinkingLevel": "MINIMAL"});
    let r = w.generate(BANANA, &body(config)).await;
    assert_eq!(r.status, 200, "{}", r.json());
    let reply = r.json();
    assert_eq!(picture(&reply), (896, 1200, "Jpeg".into()));
    let candidate = &reply["candidates"][0];
    assert_eq!((&candidate["index"], &candidate["finishReason"]), (&json!(0), &json!("STOP")));
    assert_eq!(candidate["content"]["parts"].as_array().unwrap().len(), 1, "IMAGE only: no text part");
    let usage = &reply["usageMetadata"];
    assert_eq!(usage["promptTokensDetails"][1], json!({"modality": "IMAGE", "tokenCount": 2240}));
    assert_eq!((&usage["candidatesTokenCount"], &usage["thoughtsTokenCount"]), (&json!(1120), &json!(0)));
    assert!(
        usage.get("trafficType").is_none() && reply.get("createTime").is_none(),
        "Vertex-only fields: {reply:.200}"
    );
    assert_eq!((&reply["modelVersion"], &reply["modelStatus"]), (&json!(BANANA), &json!({"modelStage": "STABLE"})));
    assert!(reply["responseId"].as_str().is_some_and(|s| !s.is_empty()));
    let call = w.last_call();
    assert_eq!(
        (&call["backend"], &call["keyVia"], &call["status"]),
        (&json!("gemini-api"), &json!("header"), &json!(200))
    );
    assert!(!call.to_string().contains(KEY) && call["body"]["contents"][0]["parts"][0]["inlineData"]["width"] == 300);
    // No generationConfig: the Gemini API's default TEXT + IMAGE, 1K, the person's ratio.
    let r = w.generate(BANANA, &body(Value::Null)).await;
    let parts = r.json()["candidates"][0]["content"]["parts"].as_array().unwrap().clone();
    assert!(parts[0]["text"].is_string() && parts[1]["inlineData"].is_object(), "{parts:?}");
    assert_eq!(picture(&r.json()).0, 896, "300x400 is nearest 3:4");
    // 2.1 at 4K bills the Gemini API's 3780 tokens.
    let r = w.generate(BANANA, &body(image_only("1:1", "4K"))).await;
    assert_eq!((r.json()["usageMetadata"]["candidatesTokenCount"].clone(), picture(&r.json()).0), (json!(3780), 4096));
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_checked_as_section_ten_says() {
    let w = World::start().await;
    let path = format!("/v1beta/models/{BANANA}:generateContent");
    let b = body(image_only("1:1", "1K")).to_string();
    let r = w.raw(&path, &[], b.as_bytes()).await;
    assert_eq!((r.status, r.json()["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));
    assert!(r.json()["error"]["message"].as_str().unwrap().starts_with("Method doesn't allow unregistered callers"));
    assert_eq!(w.raw(&format!("{path}?key={KEY}"), &[], b.as_bytes()).await.status, 200, "?key= works");
    assert_eq!(w.last_call()["keyVia"], "query");
    let both = w.raw(&format!("{path}?key={KEY}"), &[("x-goog-api-key", KEY)], b.as_bytes()).await;
    assert_eq!((both.status, both.json()["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    w.emu.set_gemini_api_keys(ApiKeys::only([KEY]).with_standard(["AIzaStandardOld"]));
    let bad = w.raw(&path, &[("x-goog-api-key", "AIzaWrong")], b.as_bytes()).await;
    let message = "API key not valid. Please pass a valid API key.";
    assert_eq!(
        bad.json(),
        json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
         "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message}]}})
    );
    let standard = w.raw(&path, &[("x-goog-api-key", "AIzaStandardOld")], b.as_bytes()).await;
    let error = &standard.json()["error"];
    assert_eq!((standard.status, error["status"].as_str()), (401, Some("UNAUTHENTICATED")));
    assert_eq!(error["details"][0]["reason"], "ACCESS_TOKEN_TYPE_UNSUPPORTED");
    assert!(error["message"].as_str().unwrap().contains("Expected OAuth 2 access token"));
    let bearer = w.raw(&path, &[("authorization", "Bearer ya29.x")], b.as_bytes()).await;
    assert_eq!(bearer.status, 401);
    // Over HTTP: mark a key invalid.
    let put = json!({"invalid": [KEY]}).to_string();
    assert_eq!(
        w.http
            .send("PUT", "/_emulator/keys/gemini-api", &[("content-type", "application/json")], put.as_bytes())
            .await
            .status,
        200
    );
    assert_eq!(w.generate(BANANA, &body(Value::Null)).await.json()["error"]["details"][0]["reason"], "API_KEY_INVALID");
}

fn list_models_404(model: &str, method: &str) -> Value {
    json!({"error": {"code": 404, "status": "NOT_FOUND", "message": format!(
        "models/{model} is not found for API version v1beta, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods.")}})
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_retired_models_answer_the_list_models_404() {
    let w = World::start().await;
    let b = body(image_only("1:1", "1K"));
    for model in ["gemini-2.5-flash-image", "gemini-3.1-flash-image", "imagen-4.0-generate-001", "no-such-model"] {
        let r = w.generate(model, &b).await;
        assert_eq!((r.status, r.json()), (404, list_models_404(model, "generateContent")), "{model}");
    }
    // Retired on the Gemini API only: Vertex still serves it.
    w.emu.retire_model("gemini-api/gemini-3-pro-image");
    assert_eq!(
        w.generate("gemini-3-pro-image", &b).await.json(),
        list_models_404("gemini-3-pro-image", "generateContent")
    );
    let token = format!("Bearer {}", w.emu.issue_token(Duration::from_secs(60)));
    let vertex = "/v1/projects/p1/locations/global/publishers/google/models/gemini-3-pro-image:generateContent";
    let vb = body(json!({"responseModalities": ["IMAGE"]})).to_string();
    assert_eq!(w.raw(vertex, &[("authorization", &token)], vb.as_bytes()).await.status, 200);
    w.emu.retire_model(BANANA);
    assert_eq!(w.generate(BANANA, &b).await.status, 404, "a plain id retires it everywhere");
    // modelStatus comes from the table; a revived 3.1 Flash keeps the Gemini API's 14 ratios.
    let deprecated = GeminiModelStatus {
        model_stage: "DEPRECATED".into(),
        retirement_time: Some("2027-01-31T00:00:00Z".into()),
        message: None,
    };
    let put = serde_json::to_string(&deprecated).unwrap();
    let r = w
        .http
        .send(
            "PUT",
            "/_emulator/gemini-api/models/gemini-3.1-flash-image",
            &[("content-type", "application/json")],
            put.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200);
    let ok = w.generate("gemini-3.1-flash-image", &b).await;
    assert_eq!(ok.json()["modelStatus"], json!({"modelStage": "DEPRECATED", "retirementTime": "2027-01-31T00:00:00Z"}));
    let wide = w.generate("gemini-3.1-flash-image", &body(image_only("9:21", "1K"))).await;
    assert!(wide.json()["error"]["message"].as_str().unwrap().contains("aspect_ratio"), "{}", wide.json());
    assert!(!w.emu.set_gemini_api_model_status("gemini-2.5-flash-image", GeminiModelStatus::new("STABLE")));
    let stream =
        w.raw(&format!("/v1beta/models/{BANANA}:streamGenerateContent"), &[("x-goog-api-key", KEY)], b"{}").await;
    assert_eq!(stream.json(), list_models_404(BANANA, "streamGenerateContent"));
    let v1 = w.raw("/v1/models/gemini-3-pro-image:generateContent", &[("x-goog-api-key", KEY)], b"{}").await;
    assert!(v1.json()["error"]["message"].as_str().unwrap().contains("API version v1,"));
}

/// Vertex-only fields are refused with 400 naming them; the Gemini API's own are taken.
#[tokio::test(flavor = "multi_thread")]
async fn vertex_only_fields_are_refused() {
    let w = World::start().await;
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let with = |path: &[&str], key: &str, v: Value| {
        let mut b = body(image_only("1:1", "1K"));
        let mut at = &mut b;
        for p in path {
            at = if let Ok(i) = p.parse::<usize>() { &mut at[i] } else { &mut at[*p] };
        }
        at[key] = v;
        b
    };
    cases.push((with(&[], "labels", json!({"team": "a"})), "labels"));
    cases.push((
        with(&["generationConfig", "imageConfig"], "personGeneration", json!("ALLOW_ALL")),
        "generation_config.image_config.person_generation",
    ));
    cases.push((
        with(&["generationConfig", "imageConfig"], "imageOutputOptions", json!({"mimeType": "image/png"})),
        "generation_config.image_config.image_output_options",
    ));
    cases.push((with(&["safetySettings", "0"], "method", json!("SEVERITY")), "safety_settings[0].method"));
    cases.push((with(&["generationConfig"], "routingConfig", json!({})), "generation_config.routing_config"));
    cases.push((
        with(&["contents", "0", "parts", "0", "inlineData"], "displayName", json!("person")),
        "contents[0].parts[0].inline_data.display_name",
    ));
    for (b, field) in cases {
        let r = w.generate(BANANA, &b).await;
        let error = &r.json()["error"];
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!(r.status, 400, "{field}: {}", r.json());
        assert_eq!(error["details"][0]["fieldViolations"][0]["field"], field);
        assert!(message.ends_with("It is a Vertex AI field; the Gemini API does not take it."), "{message}");
    }
    let mut own = body(image_only("1:1", "1K"));
    own["serviceTier"] = json!("flex");
    own["store"] = json!(false);
    assert_eq!(w.generate(BANANA, &own).await.status, 200);
    own["serviceTier"] = json!("cheap");
    assert!(w.generate(BANANA, &own).await.json()["error"]["message"].as_str().unwrap().contains("service_tier"));
    let mut file = body(Value::Null);
    file["contents"][0]["parts"][0] =
        json!({"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/p.png"}});
    assert!(w.generate(BANANA, &file).await.json()["error"]["message"].as_str().unwrap().contains("offline"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sizes_and_ratios_are_validated_per_model() {
    let w = World::start().await;
    let refused = [
        (BANANA, "1:1", "512", "image_size"),
        ("gemini-3.1-flash-lite-image", "1:1", "2K", "image_size"),
        ("gemini-3-pro-image", "1:4", "1K", "aspect_ratio"),
        (BANANA, "9:21", "1K", "aspect_ratio"),
    ];
    for (model, ratio, size, field) in refused {
        let r = w.generate(model, &body(image_only(ratio, size))).await;
        let error = &r.json()["error"];
        assert_eq!((r.status, error["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{model} {ratio} {size}");
        assert_eq!(
            error["details"][0]["fieldViolations"][0]["field"],
            format!("generation_config.image_config.{field}")
        );
    }
    let thinking = json!({"responseModalities": ["IMAGE"], "thinkingConfig": {"thinkingLevel": "MEDIUM"}});
    assert_eq!(w.generate(BANANA, &body(thinking)).await.status, 200, "2.1 takes MEDIUM");
    assert_eq!(picture(&w.generate(BANANA, &body(image_only("1:8", "1K"))).await.json()).0, 368);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_body_is_capped_at_100_mb() {
    let w = World::start().await;
    let path = format!("/v1beta/models/{BANANA}:generateContent");
    let big = vec![b' '; 100_000_001];
    let r = w.raw(&path, &[("x-goog-api-key", KEY)], &big).await;
    assert_eq!(r.json()["error"]["message"], "Request payload size exceeds the limit: 100000000 bytes.");
    // An inline image above Vertex's 7 MB is not refused for its size on the Gemini API.
    let mut b = body(image_only("1:1", "1K"));
    b["contents"][0]["parts"][1]["inlineData"]["data"] = json!(B64.encode(vec![0u8; 7_500_000]));
    let message = w.generate(BANANA, &b).await.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("not a image/png") && !message.contains("7 MB"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_outcomes_answer_the_documented_shapes() {
    let w = World::start().await;
    let b = body(image_only("1:1", "1K"));
    let faults = [
        json!({"type": "textOnly", "text": "I can't do that."}),
        json!({"type": "imageSafety"}),
        json!({"type": "noImage"}),
        json!({"type": "promptBlocked", "reason": "PROHIBITED_CONTENT"}),
        json!({"type": "resourceExhausted", "retryDelay": "7s"}),
        json!({"type": "prepayDepleted"}),
        json!({"type": "unavailable"}),
    ];
    for f in &faults {
        w.emu.push_backend_fault("gemini-api", f.clone());
    }
    let text = w.generate(BANANA, &b).await.json();
    assert_eq!(text["candidates"][0]["content"]["parts"], json!([{"text": "I can't do that."}]));
    assert_eq!(text["candidates"][0]["finishReason"], "STOP");
    for reason in ["IMAGE_SAFETY", "NO_IMAGE"] {
        let r = w.generate(BANANA, &b).await.json();
        assert_eq!(r["candidates"][0]["finishReason"], reason);
        assert!(r["candidates"][0].get("content").is_none() && r["modelStatus"]["modelStage"] == "STABLE");
    }
    let blocked = w.generate(BANANA, &b).await.json();
    assert_eq!(
        (blocked["promptFeedback"]["blockReason"].as_str(), blocked.get("candidates")),
        (Some("PROHIBITED_CONTENT"), None)
    );
    let quota = w.generate(BANANA, &b).await;
    let details = quota.json()["error"]["details"].as_array().unwrap().clone();
    assert_eq!((quota.status, quota.json()["error"]["status"].as_str()), (429, Some("RESOURCE_EXHAUSTED")));
    assert_eq!(details[0]["violations"][0]["quotaDimensions"]["model"], BANANA);
    assert_eq!(details[2], json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}));
    let prepay = w.generate(BANANA, &b).await;
    assert_eq!((prepay.status, prepay.json()["error"]["status"].as_str()), (402, Some("RESOURCE_EXHAUSTED")));
    assert!(prepay.json()["error"]["message"].as_str().unwrap().starts_with("Your prepayment credits are depleted."));
    assert_eq!(w.generate(BANANA, &b).await.json()["error"]["status"], "UNAVAILABLE");
    assert_eq!(w.generate(BANANA, &b).await.status, 200, "each fault is used by one call");
    let logged: Vec<Value> = w.emu.backend_calls().iter().map(|c| c["fault"].clone()).take(faults.len()).collect();
    assert_eq!(logged, faults);
}
