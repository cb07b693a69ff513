//! `bedrock-converse` end to end without AWS: the codec's request, through the real SDK
//! (`ConverseModel`), to the Converse emulator over HTTP, and back through the codec. Each
//! emulator fault must surface as the failure kind the transport reports and, through
//! `classify`, the stable error code users see.

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tryon::adapters::model::converse::ConverseModel;
use tryon::adapters::model::{ModelCallError, ModelFailureKind as K};
use tryon::backends::converse::BedrockConverse;
use tryon::backends::{EncodedImage, RequestImages, TryOn};
use tryon::core::backend::Backend;
use tryon::core::error::{ErrorCode, JobError};
use tryon::core::manifest::JobSpec;
use tryon_emulators::Emulator;

const MODEL: &str = "us.amazon.nova-2-omni-v1:0";
const GARMENT_RGB: [u8; 3] = [200, 30, 40];

async fn emulator() -> (Emulator, SocketAddr) {
    let emu = Emulator::new(vec![MODEL.into()]);
    let (addr, _task) = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (emu, addr)
}

fn client(addr: SocketAddr, model: &str) -> ConverseModel {
    tryon_tools::wiring::converse(&format!("http://{addr}"), model)
}

fn spec() -> JobSpec {
    let manifest = json!({
        "source": "person.jpg", "garment": "shirt.png",
        "instruction": {"garmentClass": "UPPER_BODY", "garmentDescription": "the red shirt"},
        "converseParams": {"temperature": 0.2, "reasoningEffort": "medium"}
    });
    tryon::core::manifest::parse(&serde_json::to_vec(&manifest).unwrap(), "uploads/j/", &[Backend::BedrockConverse])
        .unwrap()
}

/// A grey-blue person picture (JPEG) and a plain red garment (PNG).
fn person_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([90, 110, 140])));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn png(img: image::RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn garment_png() -> Vec<u8> {
    png(image::RgbImage::from_pixel(60, 80, image::Rgb(GARMENT_RGB)))
}

/// The codec's request body for these images.
fn body(person: &[u8], (pw, ph): (u32, u32), garment: &[u8], (gw, gh): (u32, u32)) -> Vec<u8> {
    let images = RequestImages {
        source: EncodedImage { bytes: person, mime: mime(person), width: pw, height: ph },
        reference: EncodedImage { bytes: garment, mime: mime(garment), width: gw, height: gh },
        mask: None,
    };
    BedrockConverse.request(&spec(), images).unwrap().body
}

fn mime(b: &[u8]) -> &'static str {
    if b.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

fn small_body() -> Vec<u8> {
    body(&person_jpeg(160, 240), (160, 240), &garment_png(), (60, 80))
}

async fn call(
    model: &ConverseModel,
    body: Vec<u8>,
) -> Result<Result<tryon::backends::Reply, JobError>, ModelCallError> {
    let reply = model.invoke(body, Duration::from_secs(30)).await?;
    Ok(BedrockConverse.parse_reply(&reply.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codec_request_comes_back_as_one_png_at_the_persons_size() {
    let (emu, addr) = emulator().await;
    let model = client(addr, MODEL);
    let response = model.invoke(small_body(), Duration::from_secs(30)).await.unwrap();
    assert!(response.request_id.as_deref().is_some_and(|id| id.contains("-c0e5-")), "{:?}", response.request_id);
    let reply = BedrockConverse.parse_reply(&response.body).unwrap();
    assert_eq!(reply.images.len(), 1);
    let out = image::load_from_memory_with_format(&reply.images[0], image::ImageFormat::Png).unwrap().to_rgb8();
    assert_eq!(out.dimensions(), (160, 240));
    assert_eq!(out.get_pixel(80, 115).0, GARMENT_RGB, "the garment (second image) is on the torso");
    assert_ne!(out.get_pixel(80, 20).0, GARMENT_RGB, "the person (first image) is the picture");
    assert!(reply.input_tokens.unwrap() > 460 && reply.output_tokens.unwrap() > 150, "{reply:?}");
    let rate = tryon::config::Config::default().price_of(Backend::BedrockConverse);
    let price = BedrockConverse.price(&spec(), 160, 240, Some(&reply), &rate);
    assert!(price > 0.0 && price < BedrockConverse.price(&spec(), 160, 240, None, &rate));

    let calls = emu.backend_calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!((c["backend"].as_str(), c["status"].as_u64()), (Some("bedrock-converse"), Some(200)));
    assert_eq!(c["path"], "/model/us.amazon.nova-2-omni-v1:0/converse");
    assert_eq!(c["auth"], "sigv4");
    assert_eq!(c["requestId"].as_str(), response.request_id.as_deref());
    let content = &c["body"]["messages"][0]["content"];
    assert_eq!(
        content[0]["image"]["source"]["bytes"],
        json!({"format": "jpeg", "width": 160, "height": 240, "bytes": person_jpeg(160, 240).len()})
    );
    assert_eq!(content[1]["image"]["source"]["bytes"]["format"], "png");
    assert!(content[2]["text"].as_str().unwrap().contains("the red shirt"));
    assert_eq!(c["body"]["additionalModelRequestFields"]["reasoningConfig"]["maxReasoningEffort"], "medium");
    assert!(c.to_string().len() < 4000, "images are summarised, never base64");
}

/// What one fault makes of a call: the transport's failure kind, or the codec's error code
/// for a 200 reply, and the code users see.
#[derive(Debug, PartialEq)]
enum Seen {
    Failed(K, ErrorCode),
    Parsed(ErrorCode),
}

async fn with_fault(fault: Value, times: usize) -> (Seen, String) {
    let (emu, addr) = emulator().await;
    for _ in 0..times {
        emu.push_backend_fault("bedrock-converse", fault.clone());
    }
    let model = client(addr, MODEL);
    let seen = match call(&model, small_body()).await {
        Err(e) => {
            let j = BedrockConverse.classify(&e, MODEL);
            (Seen::Failed(e.kind, j.code), j.message)
        }
        Ok(Err(j)) => (Seen::Parsed(j.code), j.message),
        Ok(Ok(r)) => panic!("{fault} answered an image ({} bytes)", r.images[0].len()),
    };
    assert_eq!(emu.backend_calls().len(), times.max(1), "{fault}: one call per queued fault");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_maps_to_its_kind_and_code() {
    // Throttling and 503 are retried by the SDK (3 attempts): one fault per attempt.
    let cases: Vec<(Value, usize, Seen, &str)> = vec![
        (
            json!({"type": "throttling"}),
            3,
            Seen::Failed(K::Throttled, ErrorCode::Throttled),
            "ThrottlingException (HTTP 429)",
        ),
        (
            json!({"type": "unavailable"}),
            3,
            Seen::Failed(K::Unavailable, ErrorCode::ModelError),
            "ServiceUnavailableException (HTTP 503)",
        ),
        (
            json!({"type": "modelTimeout"}),
            1,
            Seen::Failed(K::Timeout, ErrorCode::ModelTimeout),
            "ModelTimeoutException (HTTP 408)",
        ),
        (
            json!({"type": "modelError"}),
            1,
            Seen::Failed(K::ModelError, ErrorCode::ModelError),
            "ModelErrorException (HTTP 424)",
        ),
        (
            json!({"type": "validation"}),
            1,
            Seen::Failed(K::Validation, ErrorCode::ModelRejected),
            "ValidationException (HTTP 400)",
        ),
        (
            json!({"type": "validation", "message": "This request has been blocked by our content filters."}),
            1,
            // Classified by the exception, never its wording: a refused request.
            Seen::Failed(K::Validation, ErrorCode::ModelRejected),
            "blocked by our content filters",
        ),
        (
            json!({"type": "accessDenied"}),
            1,
            Seen::Failed(K::AccessDenied, ErrorCode::ModelUnavailable),
            "AccessDeniedException (HTTP 403): Access denied to model",
        ),
        (json!({"type": "contentFiltered"}), 1, Seen::Parsed(ErrorCode::ContentFiltered), "content_filtered"),
        (json!({"type": "textOnly"}), 1, Seen::Parsed(ErrorCode::NoImage), "I can describe the garment"),
        (json!({"type": "imageError"}), 1, Seen::Parsed(ErrorCode::ModelError), "could not be processed"),
        // The SDK decodes `bytes` itself: a reply it cannot read is no service answer.
        (
            json!({"type": "badBase64"}),
            1,
            Seen::Failed(K::Unavailable, ErrorCode::ModelError),
            "Bedrock is unavailable",
        ),
    ];
    for (fault, times, want, text) in cases {
        let (seen, message) = with_fault(fault.clone(), times).await;
        assert_eq!(seen, want, "{fault}: {message}");
        assert!(message.contains(text), "{fault}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_preview_access_says_how_to_get_it() {
    let (_, message) = with_fault(json!({"type": "accessDenied"}), 1).await;
    assert!(message.contains("preview access") && message.contains("bedrock:InvokeModel"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_past_the_timeout_is_a_model_timeout() {
    let (emu, addr) = emulator().await;
    emu.push_backend_fault("bedrock-converse", json!({"type": "delay", "ms": 3000}));
    let err = client(addr, MODEL).invoke(small_body(), Duration::from_secs(1)).await.unwrap_err();
    assert_eq!((err.kind, err.message.as_str()), (K::Timeout, "no reply within 1 s"));
    assert_eq!(BedrockConverse.classify(&err, MODEL).code, ErrorCode::ModelTimeout);
    // A delay within the timeout answers normally.
    emu.push_backend_fault("bedrock-converse", json!({"type": "delay", "ms": 50}));
    assert!(call(&client(addr, MODEL), small_body()).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_id_is_not_found() {
    let (_, addr) = emulator().await;
    let err = call(&client(addr, "amazon.nova-2-omni-v1:0"), small_body()).await.unwrap_err();
    assert_eq!(err.kind, K::NotFound, "{err}");
    let j = BedrockConverse.classify(&err, "amazon.nova-2-omni-v1:0");
    assert_eq!(j.code, ErrorCode::ModelUnavailable);
    assert!(j.message.contains("CONVERSE_MODEL_ID"), "{j}");
}

/// Noise does not compress: a PNG of it is about 3 bytes a pixel.
fn noise_png(w: u32, h: u32) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    png(image::RgbImage::from_fn(w, h, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_refuses_images_over_conversess_limits() {
    let (emu, addr) = emulator().await;
    let model = client(addr, MODEL);
    let big = noise_png(1400, 1000);
    assert!(big.len() > 3_750_000, "{}", big.len());
    let err = call(&model, body(&big, (1400, 1000), &garment_png(), (60, 80))).await.unwrap_err();
    assert_eq!(err.kind, K::Validation, "{err}");
    assert!(err.message.contains("exceeds the maximum of 3.75 MB"), "{err}");
    assert_eq!(BedrockConverse.classify(&err, MODEL).code, ErrorCode::ModelRejected);

    let wide = png(image::RgbImage::from_pixel(8001, 2, image::Rgb([1, 2, 3])));
    let err = call(&model, body(&person_jpeg(64, 64), (64, 64), &wide, (8001, 2))).await.unwrap_err();
    assert_eq!(err.kind, K::Validation, "{err}");
    assert!(err.message.contains("8001x2 exceed the maximum of 8000x8000"), "{err}");
    let logged = emu.backend_calls();
    assert_eq!(logged.iter().map(|c| c["status"].as_u64()).collect::<Vec<_>>(), [Some(400), Some(400)]);
}
