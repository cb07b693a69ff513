//! `tryon event`: print an upload event for `sam local invoke` or `cargo lambda invoke`.

use std::process::ExitCode;

use tryon_tools::sample_events as event;

pub fn event(bucket: &str, key: &str, source: &str, etag: &str, region: &str) -> ExitCode {
    let ev = match source {
        "sqs" => event::sample_sqs_event(bucket, key, etag, region, "059f36b4-87a3-44ab-83d2-661975830a7d"),
        "eventbridge" => event::sample_eventbridge_event(bucket, key, etag, region),
        "sns" => event::sample_sns_event(bucket, key, etag, region),
        _ => event::sample_put_event(bucket, key, etag, 1024, region),
    };
    println!("{}", serde_json::to_string_pretty(&ev).unwrap_or_default());
    ExitCode::SUCCESS
}
