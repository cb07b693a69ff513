//! The SDK error mapping, pinned against canned HTTP replies run through the real SDK clients
//! (its deserialisers, retry strategy and timeouts), with the SDK's own test connectors: what
//! the S3 adapter and the Bedrock transport make of every answer, the cause fields included.

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};
    use aws_smithy_http_client::test_util::{capture_request, infallible_client_fn, NeverClient};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;

    use super::super::model::bedrock::BedrockModel;
    use super::super::storage::s3::S3Storage;
    use crate::adapters::model::{ModelCallError, ModelFailureKind as K};
    use crate::adapters::storage::{PutCondition, Storage, StorageError};

    const MODEL: &str = "amazon.nova-canvas-v1:0";
    const REQUEST_ID: &str = "5f1b0b7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

    /// What the fake server saw: one entry per HTTP attempt.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<http::request::Parts>>>);

    impl Seen {
        fn attempts(&self) -> usize {
            self.0.lock().unwrap().len()
        }
        fn header(&self, name: &str) -> Option<String> {
            let seen = self.0.lock().unwrap();
            seen.last().unwrap().headers.get(name).map(|v| v.to_str().unwrap().to_owned())
        }
        fn target(&self) -> String {
            let seen = self.0.lock().unwrap();
            let last = seen.last().unwrap();
            format!("{} {}", last.method, last.uri)
        }
    }

    /// A server that gives every attempt the same reply.
    fn replying(status: u16, headers: &[(&str, &str)], body: &str) -> (SharedHttpClient, Seen) {
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let body = body.to_owned();
        let seen = Seen::default();
        let log = seen.clone();
        let client = infallible_client_fn(move |req: http::Request<SdkBody>| {
            log.0.lock().unwrap().push(req.into_parts().0);
            let mut reply = http::Response::builder().status(status);
            for (k, v) in &headers {
                reply = reply.header(k, v);
            }
            reply.body(SdkBody::from(body.clone())).unwrap()
        });
        (client, seen)
    }

    /// A connector whose every attempt fails before any reply.
    #[derive(Debug, Clone)]
    struct Unreachable {
        error: fn() -> ConnectorError,
        attempts: Arc<AtomicUsize>,
    }

    impl HttpConnector for Unreachable {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            HttpConnectorFuture::ready(Err((self.error)()))
        }
    }

    impl HttpClient for Unreachable {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    fn unreachable(error: fn() -> ConnectorError) -> (SharedHttpClient, Arc<AtomicUsize>) {
        let attempts = Arc::new(AtomicUsize::new(0));
        (SharedHttpClient::new(Unreachable { error, attempts: attempts.clone() }), attempts)
    }

    /// The shared configuration `service` would load, with the HTTP client replaced and the
    /// standard retry strategy's backoff shortened so retried cases stay fast.
    fn sdk(http: SharedHttpClient) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKID", "SECRET", None, None, "test",
            )))
            .endpoint_url("http://aws.test")
            .http_client(http)
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .build()
    }

    fn s3(http: SharedHttpClient) -> S3Storage {
        S3Storage::from_sdk_config(&sdk(http), true)
    }

    fn bedrock(http: SharedHttpClient) -> BedrockModel {
        BedrockModel::from_sdk_config(&sdk(http), None, MODEL)
    }

    fn s3_error_body(code: &str, message: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>{code}</Code><Message>{message}</Message><RequestId>R3QU3ST</RequestId><HostId>H0ST</HostId></Error>"#
        )
    }

    /// An S3 error reply as S3 sends it: XML body, request id headers.
    fn s3_replying(status: u16, code: &str, message: &str) -> (SharedHttpClient, Seen) {
        replying(
            status,
            &[("content-type", "application/xml"), ("x-amz-request-id", "R3QU3ST"), ("x-amz-id-2", "H0ST")],
            &s3_error_body(code, message),
        )
    }

    async fn put(storage: &S3Storage, condition: PutCondition<'_>) -> Result<String, StorageError> {
        storage.put("bucket", "jobs/a/status.json", b"{}".to_vec(), "application/json", condition).await
    }

    // ---- S3 reads ----

    #[tokio::test]
    async fn get_reads_body_etag_and_version() {
        let (http, seen) =
            replying(200, &[("etag", "\"0123abcd\""), ("x-amz-version-id", "v7"), ("content-length", "5")], "hello");
        let got = s3(http).get("bucket", "uploads/job/job.json", 5).await.unwrap();
        assert_eq!(got.bytes, b"hello");
        assert_eq!(got.etag, "\"0123abcd\"");
        assert_eq!(got.version_id.as_deref(), Some("v7"));
        assert_eq!(seen.target(), "GET http://aws.test/bucket/uploads/job/job.json?x-id=GetObject");
    }

    #[tokio::test]
    async fn get_no_such_key_is_not_found_and_not_retried() {
        let (http, seen) = s3_replying(404, "NoSuchKey", "The specified key does not exist.");
        assert_eq!(s3(http).get("bucket", "k", 100).await, Err(StorageError::NotFound));
        assert_eq!(seen.attempts(), 1);
    }

    #[tokio::test]
    async fn get_bare_404_is_not_found() {
        // A 404 without an S3 error body (as HEAD, or a proxy, sends it) goes by its status.
        let (http, _) = replying(404, &[], "");
        assert_eq!(s3(http).get("bucket", "k", 100).await, Err(StorageError::NotFound));
    }

    #[tokio::test]
    async fn get_refuses_on_content_length_before_reading_the_body() {
        // The headers announce 10 MB; the body itself is 1 byte. Only a check on the header
        // (made before the body is read) reports the announced size.
        let (http, _) = replying(200, &[("content-length", "10000000"), ("etag", "\"e\"")], "x");
        assert_eq!(s3(http).get("bucket", "k", 1_000_000).await, Err(StorageError::TooLarge { size: 10_000_000 }));
    }

    #[tokio::test]
    async fn get_refuses_a_body_longer_than_max_without_content_length() {
        let (http, _) = replying(200, &[("etag", "\"e\"")], "0123456789");
        assert_eq!(s3(http).get("bucket", "k", 5).await, Err(StorageError::TooLarge { size: 10 }));
    }

    #[tokio::test]
    async fn get_at_exactly_max_is_read() {
        let (http, _) = replying(200, &[("content-length", "10"), ("etag", "\"e\"")], "0123456789");
        assert_eq!(s3(http).get("bucket", "k", 10).await.unwrap().bytes, b"0123456789");
    }

    /// The status and code an `Other` carries as fields (what callers classify by), and its message.
    fn cause(err: &StorageError) -> (Option<u16>, Option<&str>, &str) {
        match err {
            StorageError::Other { message, status, code } => (*status, code.as_deref(), message),
            other => panic!("expected Other, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn get_5xx_is_other_with_code_and_status_after_retries() {
        let (http, seen) = s3_replying(503, "SlowDown", "Please reduce your request rate.");
        let err = s3(http).get("bucket", "k", 100).await.unwrap_err();
        assert_eq!(cause(&err).0, Some(503));
        assert_eq!(cause(&err).1, Some("SlowDown"));
        assert!(cause(&err).2.contains("SlowDown") && cause(&err).2.contains("HTTP 503"), "{err}");
        assert_eq!(seen.attempts(), 3, "the standard retry strategy retries 5xx");

        let (http, seen) = s3_replying(500, "InternalError", "We encountered an internal error.");
        let err = s3(http).get("bucket", "k", 100).await.unwrap_err();
        assert_eq!((cause(&err).0, cause(&err).1), (Some(500), Some("InternalError")));
        assert_eq!(seen.attempts(), 3);
    }

    #[tokio::test]
    async fn get_access_denied_is_other() {
        let (http, seen) = s3_replying(403, "AccessDenied", "Access Denied");
        let err = s3(http).get("bucket", "k", 100).await.unwrap_err();
        assert_eq!((cause(&err).0, cause(&err).1), (Some(403), Some("AccessDenied")));
        assert_eq!(seen.attempts(), 1);
    }

    #[tokio::test]
    async fn get_412_is_not_a_lost_race() {
        // A read carries no precondition: a 412 is an error, not a lost race.
        let (http, _) =
            s3_replying(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold");
        let err = s3(http).get("bucket", "k", 100).await.unwrap_err();
        assert_eq!((cause(&err).0, cause(&err).1), (Some(412), Some("PreconditionFailed")));
    }

    #[tokio::test]
    async fn get_without_a_reply_is_other_with_no_response() {
        let (http, attempts) = unreachable(|| ConnectorError::io("connection refused".into()));
        let err = s3(http).get("bucket", "k", 100).await.unwrap_err();
        assert_eq!((cause(&err).0, cause(&err).1), (None, None), "no answer, no status or code");
        assert!(cause(&err).2.contains("no response"), "{err}");
        assert_eq!(attempts.load(Ordering::SeqCst), 3, "I/O failures are retried");
    }

    // ---- S3 writes ----

    #[tokio::test]
    async fn put_sends_each_condition_and_returns_the_etag() {
        for (condition, if_none_match, if_match) in [
            (PutCondition::Always, None, None),
            (PutCondition::IfAbsent, Some("*"), None),
            (PutCondition::IfMatch("\"old\""), None, Some("\"old\"")),
        ] {
            let (http, seen) = replying(200, &[("etag", "\"new\"")], "");
            assert_eq!(put(&s3(http), condition).await.unwrap(), "\"new\"");
            assert_eq!(seen.header("if-none-match").as_deref(), if_none_match, "{condition:?}");
            assert_eq!(seen.header("if-match").as_deref(), if_match, "{condition:?}");
            assert_eq!(seen.header("content-type").as_deref(), Some("application/json"));
            assert!(seen.target().starts_with("PUT http://aws.test/bucket/jobs/a/status.json"), "{}", seen.target());
        }
    }

    #[tokio::test]
    async fn put_answered_without_an_etag_is_an_error_not_an_empty_version() {
        let (http, _seen) = replying(200, &[], "");
        match put(&s3(http), PutCondition::IfAbsent).await {
            Err(StorageError::Other { message, .. }) => assert!(message.contains("without an ETag"), "{message}"),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn put_412_on_a_conditional_write_is_a_lost_race() {
        for condition in [PutCondition::IfAbsent, PutCondition::IfMatch("\"old\"")] {
            let (http, seen) =
                s3_replying(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold");
            assert_eq!(put(&s3(http), condition).await, Err(StorageError::PreconditionFailed), "{condition:?}");
            assert_eq!(seen.attempts(), 1, "a lost race is not retried");
        }
    }

    #[tokio::test]
    async fn put_409_conditional_request_conflict_is_a_lost_race() {
        // S3's answer to concurrent conditional writes to one key: one wins, the others get 409.
        for condition in [PutCondition::IfAbsent, PutCondition::IfMatch("\"old\"")] {
            let (http, seen) = s3_replying(
                409,
                "ConditionalRequestConflict",
                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
            );
            assert_eq!(put(&s3(http), condition).await, Err(StorageError::PreconditionFailed), "{condition:?}");
            assert_eq!(seen.attempts(), 1);
        }
    }

    #[tokio::test]
    async fn put_409_with_another_code_on_a_conditional_write_is_a_lost_race() {
        let (http, _) =
            s3_replying(409, "OperationAborted", "A conflicting conditional operation is currently in progress");
        assert_eq!(put(&s3(http), PutCondition::IfAbsent).await, Err(StorageError::PreconditionFailed));
    }

    #[tokio::test]
    async fn put_409_or_412_on_an_unconditional_write_is_other() {
        // Without a precondition nothing was raced: the caller gets S3's code, not "precondition failed".
        for (status, code) in [(409, "OperationAborted"), (412, "PreconditionFailed")] {
            let (http, _) = s3_replying(status, code, "no");
            let err = put(&s3(http), PutCondition::Always).await.unwrap_err();
            assert_eq!((cause(&err).0, cause(&err).1), (Some(status), Some(code)), "{err:?}");
        }
    }

    #[tokio::test]
    async fn put_if_match_on_a_deleted_object_is_not_found() {
        // The object the lease was taken on is gone: nobody else won, so it is no lost race.
        let (http, _) = s3_replying(404, "NoSuchKey", "The specified key does not exist.");
        assert_eq!(put(&s3(http), PutCondition::IfMatch("\"old\"")).await, Err(StorageError::NotFound));
    }

    #[tokio::test]
    async fn put_5xx_is_other_after_retries() {
        let (http, seen) = s3_replying(500, "InternalError", "We encountered an internal error.");
        let err = put(&s3(http), PutCondition::IfAbsent).await.unwrap_err();
        assert_eq!((cause(&err).0, cause(&err).1), (Some(500), Some("InternalError")));
        assert_eq!(seen.attempts(), 3);
    }

    // ---- Bedrock ----

    fn bedrock_replying(status: u16, error_type: Option<&str>, message: &str) -> (SharedHttpClient, Seen) {
        let error_type = error_type.map(|t| format!("{t}:http://internal.amazon.com/coral/com.amazon.bedrock/"));
        let mut headers = vec![("content-type", "application/json"), ("x-amzn-requestid", REQUEST_ID)];
        if let Some(t) = &error_type {
            headers.push(("x-amzn-errortype", t));
        }
        replying(status, &headers, &serde_json::json!({ "message": message }).to_string())
    }

    async fn invoke(model: &BedrockModel) -> Result<crate::adapters::model::ModelResponse, ModelCallError> {
        model.invoke(br#"{"taskType":"VIRTUAL_TRY_ON"}"#.to_vec(), Duration::from_secs(30)).await
    }

    #[tokio::test]
    async fn invoke_returns_the_body_and_request_id() {
        let (http, seen) = replying(
            200,
            &[("content-type", "application/json"), ("x-amzn-requestid", REQUEST_ID)],
            r#"{"images":["aGk="]}"#,
        );
        let reply = invoke(&bedrock(http)).await.unwrap();
        assert_eq!(reply.body, br#"{"images":["aGk="]}"#);
        assert_eq!(reply.request_id.as_deref(), Some(REQUEST_ID));
        assert_eq!(seen.target(), "POST http://aws.test/model/amazon.nova-canvas-v1%3A0/invoke");
        assert_eq!(seen.header("content-type").as_deref(), Some("application/json"));
        assert_eq!(seen.header("accept").as_deref(), Some("application/json"));
    }

    /// Each modelled Bedrock error, as the service sends it, and the kind it must map to.
    #[tokio::test]
    async fn invoke_maps_each_service_error_and_keeps_the_request_id() {
        let cases: &[(u16, Option<&str>, &str, K)] = &[
            (400, Some("ValidationException"), "Malformed input request: 1 schema violations found", K::Validation),
            (400, Some("ValidationException"), "This request has been blocked by our content filters.", K::Validation),
            (
                404,
                Some("ResourceNotFoundException"),
                "This model version has reached the end of its life.",
                K::NotFound,
            ),
            (
                403,
                Some("AccessDeniedException"),
                "You don't have access to the model with the specified model ID.",
                K::AccessDenied,
            ),
            (429, Some("ThrottlingException"), "Too many requests, please wait before trying again.", K::Throttled),
            (429, Some("ModelNotReadyException"), "Model is not ready.", K::Throttled),
            (400, Some("ServiceQuotaExceededException"), "Quota exceeded.", K::Throttled),
            (408, Some("ModelTimeoutException"), "Model has timed out in processing the request.", K::Timeout),
            (424, Some("ModelErrorException"), "The model failed to process the request.", K::ModelError),
            (503, Some("ServiceUnavailableException"), "Service unavailable.", K::Unavailable),
            (500, Some("InternalServerException"), "Internal server error.", K::Unavailable),
        ];
        for &(status, error_type, message, kind) in cases {
            let (http, _) = bedrock_replying(status, error_type, message);
            let err = invoke(&bedrock(http)).await.unwrap_err();
            let code = error_type.unwrap();
            assert_eq!(err.kind, kind, "{code}");
            assert_eq!(err.message, format!("{code} (HTTP {status}): {message}"), "{code}");
            assert_eq!(err.request_id.as_deref(), Some(REQUEST_ID), "{code}");
            assert_eq!((err.status, err.code.as_deref()), (Some(status), Some(code)), "the cause as fields");
        }
    }

    /// Errors the SDK does not model (a gateway, a new error code) go by their HTTP status.
    #[tokio::test]
    async fn invoke_maps_unmodelled_errors_by_status() {
        let cases: &[(u16, Option<&str>, K)] = &[
            (400, Some("SomeNewException"), K::Validation),
            (403, None, K::AccessDenied),
            (404, None, K::NotFound),
            (408, None, K::Timeout),
            (424, None, K::ModelError),
            (429, Some("TooManyRequestsException"), K::Throttled),
            (502, None, K::Unavailable),
            (504, None, K::Unavailable),
        ];
        for &(status, error_type, kind) in cases {
            let (http, _) = bedrock_replying(status, error_type, "x");
            let err = invoke(&bedrock(http)).await.unwrap_err();
            assert_eq!(err.kind, kind, "HTTP {status} {error_type:?}");
            assert!(err.message.contains(&format!("(HTTP {status})")), "{}", err.message);
            assert_eq!(err.request_id.as_deref(), Some(REQUEST_ID), "HTTP {status}");
        }
    }

    #[tokio::test]
    async fn invoke_retries_throttling_and_5xx_but_not_validation() {
        for (status, error_type, attempts) in [
            (429, "ThrottlingException", 3),
            (503, "ServiceUnavailableException", 3),
            (500, "InternalServerException", 3),
            (400, "ValidationException", 1),
            (403, "AccessDeniedException", 1),
            (404, "ResourceNotFoundException", 1),
        ] {
            let (http, seen) = bedrock_replying(status, Some(error_type), "x");
            invoke(&bedrock(http)).await.unwrap_err();
            assert_eq!(seen.attempts(), attempts, "{error_type}");
        }
    }

    #[tokio::test]
    async fn invoke_without_a_reply_in_time_is_a_timeout() {
        let never = NeverClient::new();
        let model = bedrock(SharedHttpClient::new(never.clone()));
        let started = Instant::now();
        let err = model.invoke(b"{}".to_vec(), Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(err.kind, K::Timeout);
        assert_eq!(err.message, "no reply within 1 s");
        assert_eq!(err.request_id, None);
        assert!(started.elapsed() < Duration::from_secs(10), "the operation timeout bounds the call");
        assert_eq!(never.num_calls(), 1);
    }

    #[tokio::test]
    async fn invoke_connect_timeout_is_a_timeout() {
        let (http, attempts) = unreachable(|| ConnectorError::timeout("connect timed out".into()));
        let err = invoke(&bedrock(http)).await.unwrap_err();
        assert_eq!(err.kind, K::Timeout, "{}", err.message);
        assert!(err.message.starts_with("connection timed out"), "{}", err.message);
        assert_eq!(err.request_id, None);
        assert_eq!(attempts.load(Ordering::SeqCst), 3, "connect timeouts are retried");
    }

    #[tokio::test]
    async fn invoke_unreachable_is_unavailable() {
        let (http, _) = unreachable(|| ConnectorError::io("connection refused".into()));
        let err = invoke(&bedrock(http)).await.unwrap_err();
        assert_eq!(err.kind, K::Unavailable, "{}", err.message);
        assert_eq!((err.request_id, err.status, err.code), (None, None, None), "no answer, no cause fields");
    }

    // ---- Configuration from the environment ----

    /// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` and `AWS_REGION` reach the
    /// clients built from the loaded configuration, as `service` builds them.
    #[tokio::test]
    async fn endpoints_and_region_come_from_the_environment() {
        let env = aws_types::os_shim_internal::Env::from_slice(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9100"),
        ]);
        let load = |http: SharedHttpClient| {
            aws_config::defaults(BehaviorVersion::latest())
                .env(env.clone())
                .fs(aws_types::os_shim_internal::Fs::from_slice(&[]))
                .http_client(http)
                .load()
        };

        let (http, s3_request) = capture_request(Some(
            http::Response::builder().status(200).header("etag", "\"e\"").body(SdkBody::from("")).unwrap(),
        ));
        let storage = S3Storage::from_sdk_config(&load(SharedHttpClient::new(http)).await, true);
        put(&storage, PutCondition::Always).await.unwrap();
        let request = s3_request.expect_request();
        assert_eq!(request.uri(), "http://127.0.0.1:9000/bucket/jobs/a/status.json?x-id=PutObject");
        let auth = request.headers().get("authorization").unwrap().to_owned();
        assert!(auth.contains("/eu-west-1/s3/aws4_request"), "{auth}");

        let (http, bedrock_request) =
            capture_request(Some(http::Response::builder().status(200).body(SdkBody::from("{}")).unwrap()));
        let model = BedrockModel::from_sdk_config(&load(SharedHttpClient::new(http)).await, None, MODEL);
        invoke(&model).await.unwrap();
        let request = bedrock_request.expect_request();
        assert_eq!(request.uri(), "http://127.0.0.1:9100/model/amazon.nova-canvas-v1%3A0/invoke");
        let auth = request.headers().get("authorization").unwrap().to_owned();
        assert!(auth.contains("/eu-west-1/bedrock/aws4_request"), "{auth}");
    }
}
