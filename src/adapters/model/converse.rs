//! The `bedrock-converse` transport: Bedrock Runtime `Converse` through
//! `aws-sdk-bedrockruntime`. The codec ([`crate::backends::converse`]) speaks Converse's wire
//! JSON; the SDK only offers a typed call, so this adapter reads our JSON into the SDK's
//! types and writes the typed answer back as the wire JSON (images as base64), keeping the
//! model port's plain `body in, body out` shape. Endpoints, credentials and regions come
//! from the standard SDK configuration, as for [`crate::adapters::model::bedrock::BedrockModel`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput as ConverseReply;
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ImageBlock, ImageFormat, ImageSource, InferenceConfiguration, Message,
    SystemContentBlock,
};
use aws_smithy_types::{Document, Number};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::adapters::model::{ModelCallError, ModelFailureKind, ModelResponse};

/// Bedrock Runtime `Converse` for one model.
#[derive(Clone)]
pub struct ConverseModel {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
}

impl ConverseModel {
    pub fn new(client: aws_sdk_bedrockruntime::Client, model_id: impl Into<String>) -> Self {
        ConverseModel { client, model_id: model_id.into() }
    }

    /// A client from the shared SDK configuration, in `region` when given.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, region: Option<&str>, model_id: &str) -> Self {
        ConverseModel::new(crate::adapters::model::bedrock::bedrock_client(sdk, region), model_id)
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// One `Converse` call with the wire JSON `body`; `timeout` bounds every SDK attempt
    /// together. The answer is the reply's wire JSON.
    pub async fn invoke(&self, body: Vec<u8>, timeout: Duration) -> Result<ModelResponse, ModelCallError> {
        let input = read_request(&body)?;
        drop(body);
        let result = self
            .client
            .converse()
            .model_id(&self.model_id)
            .set_messages(Some(input.messages))
            .set_system(Some(input.system).filter(|s| !s.is_empty()))
            .set_inference_config(input.inference_config)
            .set_additional_model_request_fields(input.additional)
            .customize()
            .config_override(crate::adapters::model::bedrock::call_timeouts(timeout))
            .send()
            .await;
        match result {
            Ok(out) => Ok(ModelResponse {
                request_id: out.request_id().map(str::to_owned),
                body: serde_json::to_vec(&wire_reply(&out)).unwrap_or_default(),
            }),
            Err(e) => Err(crate::adapters::model::bedrock::bedrock_error(e, timeout)),
        }
    }
}

/// The request the codec writes (reference §2); anything else is refused, naming the field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireRequest {
    messages: Vec<WireMessage>,
    #[serde(default)]
    system: Vec<WireText>,
    #[serde(default)]
    inference_config: Option<WireInference>,
    #[serde(default)]
    additional_model_request_fields: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMessage {
    role: String,
    content: Vec<WireBlock>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
enum WireBlock {
    Image(WireImage),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireImage {
    format: String,
    source: WireSource,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSource {
    bytes: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireText {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireInference {
    max_tokens: Option<i32>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stop_sequences: Option<Vec<String>>,
}

/// The SDK's input, read from our wire JSON.
struct Input {
    messages: Vec<Message>,
    system: Vec<SystemContentBlock>,
    inference_config: Option<InferenceConfiguration>,
    additional: Option<Document>,
}

/// Our own body was not what the codec writes: a bug, reported before any call.
fn bad_body(field: &str, what: impl std::fmt::Display) -> ModelCallError {
    ModelCallError::new(
        ModelFailureKind::Validation,
        format!("the Converse request body is not the expected JSON at {field}: {what} (a bug in the function)"),
    )
}

fn read_request(body: &[u8]) -> Result<Input, ModelCallError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let wire: WireRequest = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        bad_body(if path == "." { "the top level" } else { &path }, e.inner())
    })?;
    let mut messages = Vec::with_capacity(wire.messages.len());
    for (m, message) in wire.messages.into_iter().enumerate() {
        let role = match message.role.as_str() {
            "user" => ConversationRole::User,
            "assistant" => ConversationRole::Assistant,
            other => return Err(bad_body(&format!("messages[{m}].role"), format!("unknown role {other:?}"))),
        };
        let mut content = Vec::with_capacity(message.content.len());
        for (c, block) in message.content.into_iter().enumerate() {
            let at = |f: &str| format!("messages[{m}].content[{c}].{f}");
            content.push(match block {
                WireBlock::Text(t) => ContentBlock::Text(t),
                WireBlock::Image(i) => {
                    let format = match i.format.as_str() {
                        "png" | "jpeg" | "gif" | "webp" => ImageFormat::from(i.format.as_str()),
                        other => return Err(bad_body(&at("image.format"), format!("unknown format {other:?}"))),
                    };
                    let bytes = base64_simd::STANDARD
                        .decode_to_vec(i.source.bytes.as_bytes())
                        .map_err(|e| bad_body(&at("image.source.bytes"), e))?;
                    let image = ImageBlock::builder()
                        .format(format)
                        .source(ImageSource::Bytes(Blob::new(bytes)))
                        .build()
                        .map_err(|e| bad_body(&at("image"), e))?;
                    ContentBlock::Image(image)
                }
            });
        }
        let message = Message::builder()
            .role(role)
            .set_content(Some(content))
            .build()
            .map_err(|e| bad_body(&format!("messages[{m}]"), e))?;
        messages.push(message);
    }
    let system = wire.system.into_iter().map(|t| SystemContentBlock::Text(t.text)).collect();
    let inference_config = wire.inference_config.map(|c| {
        InferenceConfiguration::builder()
            .set_max_tokens(c.max_tokens)
            .set_temperature(c.temperature)
            .set_top_p(c.top_p)
            .set_stop_sequences(c.stop_sequences)
            .build()
    });
    let additional = match wire.additional_model_request_fields {
        None => None,
        Some(v @ Value::Object(_)) => Some(document(v)),
        Some(_) => return Err(bad_body("additionalModelRequestFields", "not an object")),
    };
    Ok(Input { messages, system, inference_config, additional })
}

/// A JSON value as a Smithy document (the SDK's type for free-form model fields).
fn document(v: Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            (None, None) => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s),
        Value::Array(a) => Document::Array(a.into_iter().map(document).collect()),
        Value::Object(o) => Document::Object(o.into_iter().map(|(k, v)| (k, document(v))).collect::<HashMap<_, _>>()),
    }
}

/// The typed answer as Converse's wire JSON (reference §3). Blocks other than text and
/// images are left out: the codec reads only those.
fn wire_reply(out: &ConverseReply) -> Value {
    let message = out.output().and_then(|o| o.as_message().ok());
    let output = match message {
        Some(m) => json!({ "message": {
            "role": m.role().as_str(),
            "content": m.content().iter().filter_map(wire_block).collect::<Vec<_>>(),
        }}),
        None => json!({}),
    };
    let mut reply = json!({ "output": output, "stopReason": out.stop_reason().as_str() });
    if let Some(u) = out.usage() {
        reply["usage"] = json!({ "inputTokens": u.input_tokens(), "outputTokens": u.output_tokens(), "totalTokens": u.total_tokens() });
    }
    if let Some(m) = out.metrics() {
        reply["metrics"] = json!({ "latencyMs": m.latency_ms() });
    }
    reply
}

fn wire_block(block: &ContentBlock) -> Option<Value> {
    match block {
        ContentBlock::Text(t) => Some(json!({ "text": t })),
        ContentBlock::Image(i) => {
            let mut image = json!({ "format": i.format().as_str() });
            match i.source() {
                Some(ImageSource::Bytes(b)) => {
                    image["source"] = json!({ "bytes": base64_simd::STANDARD.encode_to_string(b.as_ref()) })
                }
                Some(ImageSource::S3Location(l)) => image["source"] = json!({ "s3Location": { "uri": l.uri() } }),
                _ => {}
            }
            if let Some(e) = i.error() {
                image["error"] = json!({ "message": e.message() });
            }
            Some(json!({ "image": image }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_bedrockruntime::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};
    use aws_smithy_http_client::test_util::{capture_request, infallible_client_fn};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;
    use serde_json::{json, Value};

    use super::ConverseModel;
    use crate::adapters::model::ModelFailureKind as K;

    const MODEL: &str = "us.amazon.nova-2-omni-v1:0";
    const REQUEST_ID: &str = "5f1b0b7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

    fn model(http: SharedHttpClient) -> ConverseModel {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "t")))
            .endpoint_url("http://aws.test")
            .http_client(http)
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .build();
        ConverseModel::from_sdk_config(&sdk, None, MODEL)
    }

    /// Equal JSON, numbers compared at `f32` precision: the SDK holds `temperature` and
    /// `topP` as `f32`, so `0.1` leaves it as `0.10000000149011612`.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64().map(|f| f as f32) == y.as_f64().map(|f| f as f32),
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    fn ok_reply(body: &str) -> http::Response<SdkBody> {
        http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("x-amzn-requestid", REQUEST_ID)
            .body(SdkBody::from(body.to_owned()))
            .unwrap()
    }

    /// Each golden body goes through the SDK's typed call to exactly the same wire JSON.
    #[tokio::test]
    async fn golden_bodies_reach_the_wire_unchanged() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/bedrock-converse");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".request.json") {
                continue;
            }
            let golden = std::fs::read(&path).unwrap();
            let (http, request) = capture_request(Some(ok_reply(
                r#"{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}"#,
            )));
            model(SharedHttpClient::new(http)).invoke(golden.clone(), Duration::from_secs(30)).await.unwrap();
            let sent = request.expect_request();
            assert_eq!(sent.uri(), "http://aws.test/model/us.amazon.nova-2-omni-v1%3A0/converse", "{path:?}");
            assert_eq!(sent.headers().get("content-type"), Some("application/json"), "{path:?}");
            let got: Value = serde_json::from_slice(sent.body().bytes().unwrap()).unwrap();
            let want: Value = serde_json::from_slice(&golden).unwrap();
            assert!(same(&got, &want), "{path:?}\n got {got}\nwant {want}");
            n += 1;
        }
        assert!(n >= 3, "expected golden bodies, found {n}");
        assert!(!same(&json!({"t": 0.1}), &json!({"t": 0.2})) && !same(&json!([1]), &json!([1, 2])));
    }

    #[tokio::test]
    async fn the_typed_answer_comes_back_as_wire_json() {
        let reply = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"text": "Here it is."},
                {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}},
                {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
                {"image": {"format": "png", "error": {"message": "could not be processed"}}}
            ]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1234, "outputTokens": 5678, "totalTokens": 6912},
            "metrics": {"latencyMs": 25000}
        });
        let (http, _request) = capture_request(Some(ok_reply(&reply.to_string())));
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.to_vec();
        let out = model(SharedHttpClient::new(http)).invoke(body, Duration::from_secs(30)).await.unwrap();
        assert_eq!(out.request_id.as_deref(), Some(REQUEST_ID));
        let got: Value = serde_json::from_slice(&out.body).unwrap();
        let mut want = reply.clone();
        want["output"]["message"]["content"].as_array_mut().unwrap().remove(1);
        assert_eq!(got, want);
        let parsed = crate::backends::converse::parse_reply(&out.body).unwrap();
        assert_eq!(parsed.images, vec![b"\x89PNG\r\n\x1a\n".to_vec()]);
    }

    #[tokio::test]
    async fn a_body_the_codec_would_not_write_is_refused_before_any_call() {
        for (body, field) in [
            (r#"{"messages":[{"role":"user","content":[{"video":{}}]}]}"#, "messages[0].content[0]"),
            (r#"{"messages":[],"toolConfig":{}}"#, "toolConfig"),
            (
                r#"{"messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":""}}}]}]}"#,
                "messages[0].content[0].image.format",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"***"}}}]}]}"#,
                "messages[0].content[0].image.source.bytes",
            ),
            (r#"{"messages":[{"role":"system","content":[]}]}"#, "messages[0].role"),
            ("not json", "the top level"),
        ] {
            let (http, request) = capture_request(None);
            let err = model(SharedHttpClient::new(http)).invoke(body.into(), Duration::from_secs(5)).await.unwrap_err();
            assert_eq!(err.kind, K::Validation, "{body}");
            assert!(err.message.contains(&format!("at {field}:")), "{body}: {}", err.message);
            request.expect_no_request();
        }
    }

    /// Converse's exceptions go through the mapping `InvokeModel` uses.
    #[tokio::test]
    async fn converse_errors_share_bedrocks_mapping() {
        for (status, code, kind) in [
            (403, "AccessDeniedException", K::AccessDenied),
            (404, "ResourceNotFoundException", K::NotFound),
            (400, "ValidationException", K::Validation),
            (408, "ModelTimeoutException", K::Timeout),
            (424, "ModelErrorException", K::ModelError),
            (429, "ThrottlingException", K::Throttled),
            (503, "ServiceUnavailableException", K::Unavailable),
        ] {
            let http = infallible_client_fn(move |_req| {
                http::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .header("x-amzn-requestid", REQUEST_ID)
                    .header("x-amzn-errortype", format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"))
                    .body(SdkBody::from(r#"{"message":"Access denied to model"}"#))
                    .unwrap()
            });
            let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.to_vec();
            let err = model(http).invoke(body, Duration::from_secs(30)).await.unwrap_err();
            assert_eq!(err.kind, kind, "{code}");
            assert_eq!(err.message, format!("{code} (HTTP {status}): Access denied to model"));
            assert_eq!(err.request_id.as_deref(), Some(REQUEST_ID));
        }
    }
}
