//! The Google model emulators over real HTTP: Virtual Try-On `:predict` and Gemini image
//! `:generateContent` answers and sizes, each validation rule refused in Google's error
//! shape with the field named, the faults, the bearer check and the call log.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tryon_emulators::Emulator;

const VTO: &str = "/v1/projects/p1/locations/us-central1/publishers/google/models/virtual-try-on-001:predict";

fn gemini_path(model: &str) -> String {
    format!("/v1/projects/p1/locations/global/publishers/google/models/{model}:generateContent")
}

/// An emulator on a free port and a valid token for it.
struct Google {
    emu: Emulator,
    host: String,
    token: String,
}

impl Google {
    async fn start() -> Google {
        let emu = Emulator::default();
        let (addr, _task) = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.expect("emulator");
        let token = emu.issue_token(Duration::from_secs(600));
        Google { emu, host: addr.to_string(), token }
    }

    /// POSTs JSON with the token; returns (status, body as JSON).
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        self.raw(path, Some(&auth), "application/json", body.to_string().as_bytes()).await
    }

    async fn raw(&self, path: &str, auth: Option<&str>, content_type: &str, body: &[u8]) -> (u16, Value) {
        let mut s = tokio::net::TcpStream::connect(&self.host).await.expect("connect");
        let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.host,
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8(out).expect("utf-8 reply");
        let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    async fn fault(&self, backend: &str, fault: Value) {
        let (status, _) = self.post(&format!("/_emulator/faults/{backend}"), &fault).await;
        assert_eq!(status, 200);
    }
}

fn person_png(w: u32, h: u32) -> Vec<u8> {
    tryon_tools::samples::png_rgb(&tryon_tools::samples::person(w, h))
}

fn garment_png() -> Vec<u8> {
    tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(160))
}

fn vto_body() -> Value {
    json!({
        "instances": [{
            "personImage": { "image": { "bytesBase64Encoded": B64.encode(person_png(300, 400)), "mimeType": "image/png" } },
            "productImages": [{ "image": { "bytesBase64Encoded": B64.encode(garment_png()) } }],
        }],
        "parameters": { "sampleCount": 1, "baseSteps": 32, "personGeneration": "allow_adult",
                        "safetySetting": "block_medium_and_above", "outputOptions": { "mimeType": "image/png" } },
    })
}

fn gemini_body() -> Value {
    json!({
        "contents": [{ "role": "user", "parts": [
            { "inlineData": { "mimeType": "image/png", "data": B64.encode(person_png(420, 560)) } },
            { "inlineData": { "mimeType": "image/png", "data": B64.encode(garment_png()) } },
            { "text": "Take the garment from the second image and place it on the person in the first image." },
        ]}],
        "generationConfig": { "responseModalities": ["TEXT", "IMAGE"], "candidateCount": 1 },
        "safetySettings": [{ "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "BLOCK_MEDIUM_AND_ABOVE" }],
    })
}

fn decode(b64: &Value) -> image::DynamicImage {
    let bytes = B64.decode(b64.as_str().expect("base64 string")).expect("valid base64");
    image::load_from_memory(&bytes).expect("an image")
}

fn dims(img: &image::DynamicImage) -> (u32, u32) {
    (img.width(), img.height())
}

/// Google's error shape, with `code`, `status` and a message containing `needle`.
fn assert_error(case: &str, (status, body): &(u16, Value), code: u16, google: &str, needle: &str) {
    assert_eq!(*status, code, "{case}: {body}");
    let e = &body["error"];
    assert_eq!(e["code"], code, "{case}: {body}");
    assert_eq!(e["status"], google, "{case}: {body}");
    let msg = e["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{case}: message {msg:?} lacks {needle:?}");
}

#[tokio::test]
async fn predict_answers_one_image_per_sample_at_the_person_size() {
    let g = Google::start().await;
    let mut body = vto_body();
    body["parameters"]["sampleCount"] = json!(3);
    let (status, reply) = g.post(VTO, &body).await;
    assert_eq!(status, 200, "{reply}");
    let preds = reply["predictions"].as_array().expect("predictions");
    assert_eq!(preds.len(), 3);
    let imgs: Vec<_> = preds.iter().map(|p| decode(&p["bytesBase64Encoded"])).collect();
    for (p, img) in preds.iter().zip(&imgs) {
        assert_eq!(p["mimeType"], "image/png");
        assert_eq!(dims(img), (300, 400));
    }
    assert_ne!(imgs[0].to_rgb8().into_raw(), imgs[1].to_rgb8().into_raw(), "samples differ");
    // The garment is pasted over the torso: the centre differs from the person picture.
    let person = image::load_from_memory(&person_png(300, 400)).unwrap().to_rgb8();
    assert_ne!(person.get_pixel(150, 180), imgs[0].to_rgb8().get_pixel(150, 180));
    let (_, again) = g.post(VTO, &body).await;
    assert_eq!(again, reply, "deterministic");
}

#[tokio::test]
async fn predict_seed_changes_the_output_and_jpeg_is_honoured() {
    let g = Google::start().await;
    let mut body = vto_body();
    body["parameters"]["addWatermark"] = json!(false);
    body["parameters"]["seed"] = json!(1);
    let (_, one) = g.post(VTO, &body).await;
    body["parameters"]["seed"] = json!(2);
    let (_, two) = g.post(VTO, &body).await;
    assert_ne!(one["predictions"][0], two["predictions"][0]);
    body["parameters"]["outputOptions"] = json!({ "mimeType": "image/jpeg", "compressionQuality": 80 });
    let (status, jpeg) = g.post(VTO, &body).await;
    assert_eq!(status, 200, "{jpeg}");
    assert_eq!(jpeg["predictions"][0]["mimeType"], "image/jpeg");
    let bytes = B64.decode(jpeg["predictions"][0]["bytesBase64Encoded"].as_str().unwrap()).unwrap();
    assert_eq!(image::guess_format(&bytes).unwrap(), image::ImageFormat::Jpeg);
}

#[tokio::test]
async fn predict_accepts_the_reference_spellings() {
    let g = Google::start().await;
    for (pg, safety) in
        [("ALLOW_ALL", "block-only-high"), ("allowAll", "block_low_and_above"), ("dont_allow", "block_none")]
    {
        let mut body = vto_body();
        body["parameters"]["personGeneration"] = json!(pg);
        body["parameters"]["safetySetting"] = json!(safety);
        body["labels"] = json!({ "team": "tryon" });
        let (status, reply) = g.post(VTO, &body).await;
        assert_eq!(status, 200, "{pg} {safety}: {reply}");
    }
}

type Edit = fn(&mut Value);

fn webp_b64() -> String {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(tryon_tools::samples::person(64, 64))
        .write_to(&mut out, image::ImageFormat::WebP)
        .unwrap();
    B64.encode(out.into_inner())
}

const PREDICT_INSTANCE_CASES: &[(&str, Edit, &str, &str)] = &[
    ("unknown top field", |b| b["foo"] = json!(1), "INVALID_ARGUMENT", "Unknown name \"foo\""),
    (
        "two instances",
        |b| {
            let i = b["instances"][0].clone();
            b["instances"] = json!([i.clone(), i]);
        },
        "INVALID_ARGUMENT",
        "instances",
    ),
    (
        "unknown instance field",
        |b| b["instances"][0]["bar"] = json!(1),
        "INVALID_ARGUMENT",
        "Unknown name \"bar\" at 'instances[0]'",
    ),
    (
        "gcsUri",
        |b| b["instances"][0]["personImage"]["image"] = json!({ "gcsUri": "gs://b/p.png" }),
        "INVALID_ARGUMENT",
        "instances[0].personImage.image.gcsUri",
    ),
    (
        "bytes and gcsUri",
        |b| b["instances"][0]["personImage"]["image"]["gcsUri"] = json!("gs://b/p.png"),
        "INVALID_ARGUMENT",
        "exactly one",
    ),
    (
        "bad base64",
        |b| b["instances"][0]["personImage"]["image"]["bytesBase64Encoded"] = json!("@@@"),
        "INVALID_ARGUMENT",
        "personImage.image.bytesBase64Encoded",
    ),
    (
        "not an image",
        |b| b["instances"][0]["productImages"][0]["image"]["bytesBase64Encoded"] = json!(B64.encode(b"hello")),
        "INVALID_ARGUMENT",
        "productImages[0].image.bytesBase64Encoded",
    ),
    (
        "webp refused",
        |b| b["instances"][0]["personImage"]["image"] = json!({ "bytesBase64Encoded": webp_b64() }),
        "INVALID_ARGUMENT",
        "image/png or image/jpeg",
    ),
    (
        "mime mismatch",
        |b| b["instances"][0]["personImage"]["image"]["mimeType"] = json!("image/jpeg"),
        "INVALID_ARGUMENT",
        "mimeType says image/jpeg",
    ),
    (
        "over 7 MB",
        |b| b["instances"][0]["personImage"]["image"]["bytesBase64Encoded"] = json!(B64.encode(vec![0u8; 7_000_001])),
        "INVALID_ARGUMENT",
        "7 MB",
    ),
    (
        "two products",
        |b| {
            let p = b["instances"][0]["productImages"][0].clone();
            b["instances"][0]["productImages"] = json!([p.clone(), p]);
        },
        "INVALID_ARGUMENT",
        "instances[0].productImages",
    ),
    (
        "bad maskMode",
        |b| b["instances"][0]["productImages"][0]["productImageConfig"] = json!({ "maskMode": "X" }),
        "INVALID_ARGUMENT",
        "productImageConfig.maskMode",
    ),
    ("prompt", |b| b["instances"][0]["prompt"] = json!("a shirt"), "FAILED_PRECONDITION", "instances[0].prompt"),
    (
        "no instances",
        |b| {
            b.as_object_mut().unwrap().remove("instances");
        },
        "INVALID_ARGUMENT",
        "instances",
    ),
];

const PREDICT_PARAMETER_CASES: &[(&str, Edit, &str, &str)] = &[
    ("sampleCount 0", |b| b["parameters"]["sampleCount"] = json!(0), "INVALID_ARGUMENT", "parameters.sampleCount"),
    ("sampleCount 5", |b| b["parameters"]["sampleCount"] = json!(5), "INVALID_ARGUMENT", "parameters.sampleCount"),
    (
        "sampleCount string",
        |b| b["parameters"]["sampleCount"] = json!("2"),
        "INVALID_ARGUMENT",
        "parameters.sampleCount",
    ),
    ("baseSteps 0", |b| b["parameters"]["baseSteps"] = json!(0), "INVALID_ARGUMENT", "parameters.baseSteps"),
    ("baseSteps 101", |b| b["parameters"]["baseSteps"] = json!(101), "INVALID_ARGUMENT", "parameters.baseSteps"),
    (
        "negative seed",
        |b| {
            b["parameters"]["seed"] = json!(-1);
            b["parameters"]["addWatermark"] = json!(false);
        },
        "INVALID_ARGUMENT",
        "parameters.seed",
    ),
    ("seed with watermark", |b| b["parameters"]["seed"] = json!(5), "INVALID_ARGUMENT", "parameters.addWatermark"),
    (
        "personGeneration",
        |b| b["parameters"]["personGeneration"] = json!("everyone"),
        "INVALID_ARGUMENT",
        "parameters.personGeneration",
    ),
    (
        "safetySetting",
        |b| b["parameters"]["safetySetting"] = json!("block_most"),
        "INVALID_ARGUMENT",
        "parameters.safetySetting",
    ),
    (
        "output mime",
        |b| b["parameters"]["outputOptions"]["mimeType"] = json!("image/webp"),
        "INVALID_ARGUMENT",
        "parameters.outputOptions.mimeType",
    ),
    (
        "quality with png",
        |b| b["parameters"]["outputOptions"]["compressionQuality"] = json!(50),
        "INVALID_ARGUMENT",
        "parameters.outputOptions.compressionQuality",
    ),
    (
        "quality 101",
        |b| b["parameters"]["outputOptions"] = json!({ "mimeType": "image/jpeg", "compressionQuality": 101 }),
        "INVALID_ARGUMENT",
        "compressionQuality",
    ),
    (
        "storageUri",
        |b| b["parameters"]["storageUri"] = json!("gs://b/out/"),
        "INVALID_ARGUMENT",
        "parameters.storageUri",
    ),
    (
        "unknown parameter",
        |b| b["parameters"]["steps"] = json!(3),
        "INVALID_ARGUMENT",
        "Unknown name \"steps\" at 'parameters'",
    ),
];

/// Each case edits a valid body; the answer must be 400 with `status` and name the field.
async fn refuse_predict(cases: &[(&str, Edit, &str, &str)]) {
    let g = Google::start().await;
    for (case, edit, google, needle) in cases {
        let mut body = vto_body();
        edit(&mut body);
        let reply = g.post(VTO, &body).await;
        assert_error(case, &reply, 400, google, needle);
    }
}

#[tokio::test]
async fn predict_refuses_invalid_instances_naming_the_field() {
    refuse_predict(PREDICT_INSTANCE_CASES).await;
}

#[tokio::test]
async fn predict_refuses_invalid_parameters_naming_the_field() {
    refuse_predict(PREDICT_PARAMETER_CASES).await;
}

#[tokio::test]
async fn paths_name_only_served_models_methods_and_locations() {
    let g = Google::start().await;
    let at = |loc: &str, model_action: &str| {
        format!("/v1/projects/p1/locations/{loc}/publishers/google/models/{model_action}")
    };
    let cases = [
        ("VTO in global", at("global", "virtual-try-on-001:predict"), "not global"),
        ("VTO in a region not listed", at("asia-east1", "virtual-try-on-001:predict"), "not asia-east1"),
        ("preview outside us-central1", at("europe-west4", "virtual-try-on-preview-08-04:predict"), "europe-west4"),
        ("unknown model", at("us-central1", "virtual-try-on-002:predict"), "virtual-try-on-002"),
        ("predict on Gemini", at("global", "gemini-3.1-flash-image:predict"), "gemini-3.1-flash-image"),
        ("generateContent on VTO", at("us-central1", "virtual-try-on-001:generateContent"), "virtual-try-on-001"),
        ("unknown method", at("global", "gemini-3.1-flash-image:streamGenerateContent"), "streamGenerateContent"),
        ("no method", at("global", "gemini-3.1-flash-image"), "no method"),
        ("discontinued preview", at("global", "gemini-3.1-flash-image-preview:generateContent"), "discontinued"),
        ("Gemini 2.5", at("global", "gemini-2.5-flash-image:generateContent"), "October 2026"),
        ("Flash in a region", at("us-central1", "gemini-3.1-flash-image:generateContent"), "not us-central1"),
    ];
    for (case, path, needle) in &cases {
        let reply = g.post(path, &gemini_body()).await;
        assert_error(case, &reply, 404, "NOT_FOUND", needle);
    }
    let (status, reply) = g.post(&at("us-central1", "gemini-3-pro-image:generateContent"), &gemini_body()).await;
    assert_eq!(status, 200, "Pro is served in us-central1: {reply}");
    let (status, reply) = g.post(&at("europe-west9", "virtual-try-on-001:predict"), &vto_body()).await;
    assert_eq!(status, 200, "VTO in a listed region: {reply}");
}

#[tokio::test]
async fn a_missing_invalid_or_expired_token_is_unauthenticated() {
    let g = Google::start().await;
    let body = vto_body().to_string();
    let missing = g.raw(VTO, None, "application/json", body.as_bytes()).await;
    assert_error("missing", &missing, 401, "UNAUTHENTICATED", "authentication credential");
    let unknown_model = VTO.replace("virtual-try-on-001", "virtual-try-on-999");
    let before_404 = g.raw(&unknown_model, None, "application/json", body.as_bytes()).await;
    assert_error("missing, unknown model", &before_404, 401, "UNAUTHENTICATED", "authentication credential");
    let wrong = g.raw(VTO, Some("Bearer ya29.forged"), "application/json", body.as_bytes()).await;
    assert_error("forged", &wrong, 401, "UNAUTHENTICATED", "authentication credential");
    g.emu.expire_tokens();
    let expired = g.post(&gemini_path("gemini-3.1-flash-image"), &gemini_body()).await;
    assert_error("expired", &expired, 401, "UNAUTHENTICATED", "authentication credential");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused() {
    let g = Google::start().await;
    let auth = format!("Bearer {}", g.token);
    let body = vto_body().to_string();
    let text = g.raw(VTO, Some(&auth), "text/plain", body.as_bytes()).await;
    assert_error("content type", &text, 400, "INVALID_ARGUMENT", "application/json");
    let broken = g.raw(VTO, Some(&auth), "application/json", b"{\"instances\":").await;
    assert_error("broken JSON", &broken, 400, "INVALID_ARGUMENT", "Invalid JSON payload");
}

fn image_part(reply: &Value) -> &Value {
    let parts = reply["candidates"][0]["content"]["parts"].as_array().expect("parts");
    parts.iter().find(|p| p.get("inlineData").is_some() && p.get("thought").is_none()).expect("an image part")
}

#[tokio::test]
async fn generate_content_answers_text_then_an_image_at_the_tier_size() {
    let g = Google::start().await;
    let (status, reply) = g.post(&gemini_path("gemini-3.1-flash-image"), &gemini_body()).await;
    assert_eq!(status, 200, "{reply}");
    let c = &reply["candidates"][0];
    assert_eq!(c["finishReason"], "STOP");
    assert!(c["content"]["parts"][0]["text"].is_string(), "text first: {c}");
    let img = &image_part(&reply)["inlineData"];
    assert_eq!(img["mimeType"], "image/png");
    // No aspectRatio: the nearest to the 420×560 person (3:4), at 1K.
    assert_eq!(dims(&decode(&img["data"])), (896, 1200));
    let u = &reply["usageMetadata"];
    let text_in = u["promptTokensDetails"].as_array().unwrap().iter().find(|d| d["modality"] == "TEXT").unwrap();
    assert_eq!(u["promptTokenCount"], 2 * 1120 + text_in["tokenCount"].as_u64().unwrap());
    let image_out = u["candidatesTokensDetails"].as_array().unwrap().iter().find(|d| d["modality"] == "IMAGE").unwrap();
    assert_eq!(image_out["tokenCount"], 1120);
    assert_eq!(reply["modelVersion"], "gemini-3.1-flash-image");
    assert!(reply["responseId"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn generate_content_honours_ratio_size_modalities_and_model_tokens() {
    let g = Google::start().await;
    let cases = [
        ("gemini-3.1-flash-image", "16:9", "2K", (2752, 1536), 1680, 1120),
        ("gemini-3.1-flash-image", "1:1", "512", (512, 512), 747, 1120),
        ("gemini-3.1-flash-image", "3:4", "512", (448, 600), 747, 1120),
        ("gemini-3-pro-image", "2:3", "1K", (848, 1264), 1120, 560),
        ("gemini-3.1-flash-lite-image", "4:5", "1K", (928, 1152), 1120, 1120),
    ];
    for (model, ratio, size, want, out_tokens, per_image) in cases {
        let mut body = gemini_body();
        body["generationConfig"]["responseModalities"] = json!(["IMAGE"]);
        body["generationConfig"]["imageConfig"] = json!({ "aspectRatio": ratio, "imageSize": size });
        let (status, reply) = g.post(&gemini_path(model), &body).await;
        assert_eq!(status, 200, "{model} {ratio} {size}: {reply}");
        let parts = reply["candidates"][0]["content"]["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 1, "IMAGE only: no text part");
        assert_eq!(dims(&decode(&parts[0]["inlineData"]["data"])), want, "{model} {ratio} {size}");
        let u = &reply["usageMetadata"];
        assert_eq!(u["candidatesTokenCount"], out_tokens, "{model} {size}");
        let image_in = u["promptTokensDetails"].as_array().unwrap().iter().find(|d| d["modality"] == "IMAGE").unwrap();
        assert_eq!(image_in["tokenCount"], 2 * per_image, "{model}");
    }
}

const GEMINI_CONTENT_CASES: &[(&str, &str, Edit, &str)] = &[
    ("role model", "gemini-3.1-flash-image", |b| b["contents"][0]["role"] = json!("model"), "contents[0].role"),
    (
        "two turns",
        "gemini-3.1-flash-image",
        |b| {
            let t = b["contents"][0].clone();
            b["contents"] = json!([t.clone(), t]);
        },
        "contents",
    ),
    (
        "no image",
        "gemini-3.1-flash-image",
        |b| b["contents"][0]["parts"] = json!([{ "text": "hi" }]),
        "contents[0].parts",
    ),
    (
        "no text",
        "gemini-3.1-flash-image",
        |b| {
            b["contents"][0]["parts"].as_array_mut().unwrap().pop();
        },
        "text part",
    ),
    (
        "15 images",
        "gemini-3.1-flash-image",
        |b| {
            let p = b["contents"][0]["parts"][1].clone();
            let parts = b["contents"][0]["parts"].as_array_mut().unwrap();
            for _ in 0..14 {
                parts.insert(0, p.clone());
            }
        },
        "at most 14",
    ),
    (
        "gif",
        "gemini-3.1-flash-image",
        |b| b["contents"][0]["parts"][0]["inlineData"]["mimeType"] = json!("image/gif"),
        "contents[0].parts[0].inline_data.mime_type",
    ),
    (
        "mime mismatch",
        "gemini-3.1-flash-image",
        |b| b["contents"][0]["parts"][0]["inlineData"]["mimeType"] = json!("image/jpeg"),
        "contents[0].parts[0].inline_data.data",
    ),
    (
        "bad base64",
        "gemini-3.1-flash-image",
        |b| b["contents"][0]["parts"][1]["inlineData"]["data"] = json!("%%%"),
        "contents[0].parts[1].inline_data.data",
    ),
    (
        "over 7 MB",
        "gemini-3.1-flash-image",
        |b| b["contents"][0]["parts"][1]["inlineData"]["data"] = json!(B64.encode(vec![0u8; 7_000_001])),
        "7 MB",
    ),
    (
        "fileData",
        "gemini-3.1-flash-image",
        |b| {
            b["contents"][0]["parts"][0] = json!({ "fileData": { "mimeType": "image/png", "fileUri": "gs://b/p.png" } })
        },
        "Cloud Storage",
    ),
    (
        "two kinds in a part",
        "gemini-3.1-flash-image",
        |b| b["contents"][0]["parts"][2]["inlineData"] = json!({}),
        "contents[0].parts[2]",
    ),
    ("parts not a list", "gemini-3.1-flash-image", |b| b["contents"][0]["parts"] = json!("x"), "contents[0].parts"),
];

const GEMINI_CONFIG_CASES: &[(&str, &str, Edit, &str)] = &[
    ("unknown top field", "gemini-3.1-flash-image", |b| b["tools"] = json!([]), "Unknown name \"tools\""),
    (
        "unknown config field",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["foo"] = json!(1),
        "Unknown name \"foo\" at 'generation_config'",
    ),
    (
        "TEXT only",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["responseModalities"] = json!(["TEXT"]),
        "generation_config.response_modalities",
    ),
    (
        "AUDIO",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["responseModalities"] = json!(["IMAGE", "AUDIO"]),
        "AUDIO",
    ),
    ("no modalities", "gemini-3.1-flash-image", |b| b["generationConfig"] = json!({}), "response_modalities"),
    (
        "no generationConfig",
        "gemini-3.1-flash-image",
        |b| {
            b.as_object_mut().unwrap().remove("generationConfig");
        },
        "generation_config",
    ),
    (
        "two candidates",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["candidateCount"] = json!(2),
        "generation_config.candidate_count",
    ),
    (
        "temperature",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["temperature"] = json!(2.5),
        "generation_config.temperature",
    ),
    (
        "seed beyond int32",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["seed"] = json!(2_147_483_648u64),
        "generation_config.seed",
    ),
    (
        "512 on Pro",
        "gemini-3-pro-image",
        |b| b["generationConfig"]["imageConfig"] = json!({ "imageSize": "512" }),
        "generation_config.image_config.image_size",
    ),
    (
        "2K on Lite",
        "gemini-3.1-flash-lite-image",
        |b| b["generationConfig"]["imageConfig"] = json!({ "imageSize": "2K" }),
        "image_size",
    ),
    (
        "8:1 on Pro",
        "gemini-3-pro-image",
        |b| b["generationConfig"]["imageConfig"] = json!({ "aspectRatio": "8:1" }),
        "generation_config.image_config.aspect_ratio",
    ),
    (
        "thinking on Pro",
        "gemini-3-pro-image",
        |b| b["generationConfig"]["thinkingConfig"] = json!({ "thinkingLevel": "HIGH" }),
        "thinking_level",
    ),
    (
        "thinking level",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["thinkingConfig"] = json!({ "thinkingLevel": "MEDIUM" }),
        "thinking_config.thinking_level",
    ),
    (
        "output mime",
        "gemini-3.1-flash-image",
        |b| b["generationConfig"]["imageConfig"] = json!({ "imageOutputOptions": { "mimeType": "image/gif" } }),
        "image_output_options.mime_type",
    ),
    (
        "safety category",
        "gemini-3.1-flash-image",
        |b| b["safetySettings"][0]["category"] = json!("HARM_CATEGORY_RUDE"),
        "safety_settings[0].category",
    ),
    (
        "safety threshold",
        "gemini-3.1-flash-image",
        |b| b["safetySettings"][0]["threshold"] = json!("BLOCK_SOME"),
        "safety_settings[0].threshold",
    ),
];

/// Each case edits a valid body for a model; the answer must be 400 INVALID_ARGUMENT
/// naming the field in the message and in the `BadRequest` detail.
async fn refuse_generate(cases: &[(&str, &str, Edit, &str)]) {
    let g = Google::start().await;
    for (case, model, edit, needle) in cases {
        let mut body = gemini_body();
        edit(&mut body);
        let reply = g.post(&gemini_path(model), &body).await;
        assert_error(case, &reply, 400, "INVALID_ARGUMENT", needle);
        let field = &reply.1["error"]["details"][0]["fieldViolations"][0]["field"];
        assert!(field.is_string(), "{case}: field named in details");
    }
}

#[tokio::test]
async fn generate_content_refuses_invalid_contents_naming_the_field() {
    refuse_generate(GEMINI_CONTENT_CASES).await;
}

#[tokio::test]
async fn generate_content_refuses_invalid_config_naming_the_field() {
    refuse_generate(GEMINI_CONFIG_CASES).await;
}

#[tokio::test]
async fn generate_content_takes_webp_input() {
    let g = Google::start().await;
    let mut body = gemini_body();
    body["contents"][0]["parts"][1]["inlineData"] = json!({ "mimeType": "image/webp", "data": webp_b64() });
    let (status, reply) = g.post(&gemini_path("gemini-3.1-flash-image"), &body).await;
    assert_eq!(status, 200, "webp: {reply}");
}

#[tokio::test]
async fn canned_faults_answer_googles_errors_on_both_backends() {
    let g = Google::start().await;
    let cases = [
        (json!({ "type": "resourceExhausted" }), 429, "RESOURCE_EXHAUSTED", ""),
        (json!({ "type": "unavailable" }), 503, "UNAVAILABLE", "unavailable"),
        (json!({ "type": "internal" }), 500, "INTERNAL", "nternal"),
        (json!({ "type": "invalidArgument", "message": "bad thing" }), 400, "INVALID_ARGUMENT", "bad thing"),
        (json!({ "type": "permissionDenied" }), 403, "PERMISSION_DENIED", "denied"),
        (json!({ "type": "deadlineExceeded" }), 504, "DEADLINE_EXCEEDED", "Deadline"),
    ];
    let gemini = gemini_path("gemini-3.1-flash-image");
    for (fault, code, status, needle) in &cases {
        g.fault("vertex-vto", fault.clone()).await;
        assert_error(&format!("vto {fault}"), &g.post(VTO, &vto_body()).await, *code, status, needle);
        g.fault("gemini-image", fault.clone()).await;
        assert_error(&format!("gemini {fault}"), &g.post(&gemini, &gemini_body()).await, *code, status, needle);
    }
    // Each fault is used by one call.
    assert_eq!(g.post(VTO, &vto_body()).await.0, 200);
    g.fault("vertex-vto", json!({ "type": "meteorStrike" })).await;
    assert_error("unknown fault", &g.post(VTO, &vto_body()).await, 500, "INTERNAL", "meteorStrike");
    g.fault("gemini-image", json!({ "type": "filtered", "keep": 1 })).await;
    assert_error("VTO fault on Gemini", &g.post(&gemini, &gemini_body()).await, 500, "INTERNAL", "does not apply");
}

#[tokio::test]
async fn a_delay_fault_waits_then_answers() {
    let g = Google::start().await;
    g.fault("gemini-image", json!({ "type": "delay", "ms": 300 })).await;
    let started = Instant::now();
    let (status, _) = g.post(&gemini_path("gemini-3.1-flash-image"), &gemini_body()).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn vto_faults_filter_empty_and_corrupt_predictions() {
    let g = Google::start().await;
    let mut body = vto_body();
    body["parameters"]["sampleCount"] = json!(3);
    g.fault("vertex-vto", json!({ "type": "filtered", "keep": 1 })).await;
    let (_, r) = g.post(VTO, &body).await;
    let p = r["predictions"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    assert!(p[0]["bytesBase64Encoded"].is_string());
    assert!(p[1]["raiFilteredReason"].is_string() && p[1].get("bytesBase64Encoded").is_none());
    g.fault("vertex-vto", json!({ "type": "filtered", "keep": 0 })).await;
    let (_, r) = g.post(VTO, &body).await;
    assert!(r["predictions"].as_array().unwrap().iter().all(|p| p["raiFilteredReason"].is_string()));
    g.fault("vertex-vto", json!({ "type": "emptyPredictions" })).await;
    assert_eq!(g.post(VTO, &body).await, (200, json!({})));
    g.fault("vertex-vto", json!({ "type": "badBase64" })).await;
    let (_, r) = g.post(VTO, &vto_body()).await;
    assert!(B64.decode(r["predictions"][0]["bytesBase64Encoded"].as_str().unwrap()).is_err());
    g.fault("vertex-vto", json!({ "type": "wrongMime" })).await;
    let (_, r) = g.post(VTO, &vto_body()).await;
    assert_eq!(r["predictions"][0]["mimeType"], "text/plain");
    g.fault("vertex-vto", json!({ "type": "oversizedImage" })).await;
    let (_, r) = g.post(VTO, &vto_body()).await;
    assert_claims_huge(&r["predictions"][0]["bytesBase64Encoded"]);
}

fn assert_claims_huge(b64: &Value) {
    let bytes = B64.decode(b64.as_str().unwrap()).unwrap();
    assert!(bytes.len() < 200);
    let dims = image::ImageReader::with_format(std::io::Cursor::new(&bytes), image::ImageFormat::Png).into_dimensions();
    assert_eq!(dims.unwrap(), (20_000, 20_000));
}

#[tokio::test]
async fn gemini_faults_refuse_block_and_corrupt_answers() {
    let g = Google::start().await;
    let path = gemini_path("gemini-3.1-flash-image");
    let call = |fault: Value| {
        let (g, path) = (&g, &path);
        async move {
            g.fault("gemini-image", fault).await;
            let (status, reply) = g.post(path, &gemini_body()).await;
            assert_eq!(status, 200, "{reply}");
            reply
        }
    };
    let r = call(json!({ "type": "textOnly", "text": "I can't help with that." })).await;
    assert_eq!(r["candidates"][0]["finishReason"], "STOP");
    assert_eq!(r["candidates"][0]["content"]["parts"], json!([{ "text": "I can't help with that." }]));
    let r = call(json!({ "type": "imageSafety" })).await;
    assert_eq!(r["candidates"][0]["finishReason"], "IMAGE_SAFETY");
    assert!(r["candidates"][0].get("content").is_none());
    let r = call(json!({ "type": "noImage" })).await;
    assert_eq!(r["candidates"][0]["finishReason"], "NO_IMAGE");
    let r = call(json!({ "type": "promptBlocked" })).await;
    assert!(r.get("candidates").is_none());
    assert_eq!(r["promptFeedback"]["blockReason"], "SAFETY");
    let r = call(json!({ "type": "thoughtImage" })).await;
    let parts = r["candidates"][0]["content"]["parts"].as_array().unwrap();
    let thought = parts.iter().position(|p| p["thought"] == true).expect("a thought part");
    let real = parts.iter().rposition(|p| p.get("inlineData").is_some()).unwrap();
    assert!(thought < real && parts[thought].get("inlineData").is_some());
    let r = call(json!({ "type": "badBase64" })).await;
    assert!(B64.decode(image_part(&r)["inlineData"]["data"].as_str().unwrap()).is_err());
    let r = call(json!({ "type": "wrongMime" })).await;
    assert_eq!(image_part(&r)["inlineData"]["mimeType"], "text/plain");
    let r = call(json!({ "type": "oversizedImage" })).await;
    assert_claims_huge(&image_part(&r)["inlineData"]["data"]);
}

#[tokio::test]
async fn every_call_is_logged_with_images_summarised() {
    let g = Google::start().await;
    g.fault("vertex-vto", json!({ "type": "unavailable" })).await;
    g.post(VTO, &vto_body()).await;
    g.post(&gemini_path("gemini-3.1-flash-image"), &gemini_body()).await;
    let calls = g.emu.backend_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let vto = &calls[0];
    assert_eq!(vto["backend"], "vertex-vto");
    assert_eq!(vto["model"], "virtual-try-on-001");
    assert_eq!(vto["location"], "us-central1");
    assert_eq!(vto["status"], 503);
    assert_eq!(vto["fault"], json!({ "type": "unavailable" }));
    assert_eq!(vto["auth"], "bearer");
    let person = &vto["body"]["instances"][0]["personImage"]["image"];
    assert_eq!((person["width"].as_u64(), person["height"].as_u64()), (Some(300), Some(400)));
    assert_eq!(person["mimeType"], "image/png");
    let gem = &calls[1];
    assert_eq!((gem["backend"].as_str(), gem["status"].as_u64()), (Some("gemini-image"), Some(200)));
    let parts = &gem["body"]["contents"][0]["parts"];
    assert_eq!(parts[0]["inlineData"]["width"], 420);
    assert!(parts[2]["text"].as_str().unwrap().starts_with("Take the garment"));
    let logged = serde_json::to_string(&calls).unwrap();
    assert!(!logged.contains(&B64.encode(person_png(300, 400))[..64]), "no base64 in the log");
}

#[tokio::test]
async fn a_body_over_the_servers_default_limit_still_gets_googles_answer() {
    // 14 images of up to 7 MB are legal (Gemini reference §4): well over 64 MB of base64.
    let g = Google::start().await;
    let mut body = gemini_body();
    let filler = json!({ "inlineData": { "mimeType": "image/png", "data": B64.encode(vec![0u8; 6_900_000]) } });
    body["contents"][0]["parts"] = Value::Array(vec![filler; 8]);
    body["contents"][0]["parts"].as_array_mut().unwrap().push(json!({ "text": "dress" }));
    let reply = g.post(&gemini_path("gemini-3.1-flash-image"), &body).await;
    assert_error("80 MB body", &reply, 400, "INVALID_ARGUMENT", "contents[0].parts[0].inline_data.data");
}
