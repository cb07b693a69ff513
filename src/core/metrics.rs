//! CloudWatch Embedded Metric Format: one JSON line per finished job on stdout, which
//! CloudWatch Logs turns into metrics (namespace `TryOn`) without any API call.

use serde_json::{json, Map, Value};

use crate::core::status::{State, Status};

/// The namespace of every metric.
pub const NAMESPACE: &str = "TryOn";

/// The EMF record of a finished job: duration by stage, model latency, images generated,
/// estimated and billed cost, paid model calls and result-cache hits (a hit is neither a
/// call nor a cost), and a failure count by error code.
pub fn emf_record(status: &Status, timestamp_ms: u64) -> Value {
    let d = &status.diagnostics;
    let t = |k: &str| d.timings_ms.get(k).copied().unwrap_or(0) as f64;
    let outcome = match status.state {
        State::Succeeded => "succeeded",
        State::Failed => "failed",
        State::Processing => "retrying",
    };
    let code = status.error.as_ref().map_or("none", |e| e.code.as_str());
    let count = |n: Option<u32>| n.unwrap_or(0) as f64;
    let metrics: [(&str, &str, f64); 12] = [
        ("Jobs", "Count", 1.0),
        ("JobDuration", "Milliseconds", t("total")),
        ("ReadDuration", "Milliseconds", t("readManifest") + t("readImages")),
        ("PrepareDuration", "Milliseconds", t("prepare")),
        ("ModelLatency", "Milliseconds", t("model")),
        ("WriteDuration", "Milliseconds", t("writeOutputs")),
        ("ImagesGenerated", "Count", status.outputs.images.len() as f64),
        ("EstimatedCostUsd", "None", d.estimated_cost_usd.unwrap_or(0.0)),
        ("CostUsd", "None", d.cost_usd.unwrap_or(0.0)),
        ("ModelCalls", "Count", count(d.model_calls)),
        ("CacheHits", "Count", count(d.cache_hits)),
        ("Failures", "Count", if status.error.is_some() { 1.0 } else { 0.0 }),
    ];
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Outcome"], ["ErrorCode"]],
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }]
        }),
    );
    root.insert("Outcome".into(), outcome.into());
    root.insert("ErrorCode".into(), code.into());
    for (name, _, value) in metrics {
        root.insert(name.into(), json!(value));
    }
    // Searchable properties (not metrics).
    root.insert("jobId".into(), status.job_id.clone().into());
    root.insert("modelId".into(), d.model_id.clone().into());
    root.insert("bedrockRequestId".into(), d.bedrock_request_id.clone().into());
    root.insert("backends".into(), json!(status.served_by()));
    Value::Object(root)
}

/// `DaysToShutdown` by `Backend`: one record per backend the job used whose model has a
/// shutdown day in the catalog, so an alarm pages weeks before the day.
pub fn retirement_records(status: &Status, timestamp_ms: u64) -> Vec<Value> {
    status
        .diagnostics
        .days_to_shutdown
        .iter()
        .map(|(backend, days)| {
            json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Backend"]],
                        "Metrics": [{"Name": "DaysToShutdown", "Unit": "None"}],
                    }]
                },
                "Backend": backend,
                "DaysToShutdown": *days as f64,
                "jobId": status.job_id,
            })
        })
        .collect()
}

/// Prints the records as lines on stdout, where CloudWatch picks them up.
pub fn emit(status: &Status) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    println!("{}", emf_record(status, now));
    for r in retirement_records(status, now) {
        println!("{r}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::status::{Diagnostics, ManifestRef, Outputs, StatusError};

    /// Checks a record against the EMF specification's rules.
    fn assert_valid_emf(v: &Value) {
        let aws = v["_aws"].as_object().expect("_aws object");
        assert!(aws["Timestamp"].is_u64(), "Timestamp in ms");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics array");
        assert!(!directives.is_empty());
        for d in directives {
            let ns = d["Namespace"].as_str().expect("Namespace");
            assert!(!ns.is_empty() && ns.len() <= 1024);
            let dims = d["Dimensions"].as_array().expect("Dimensions");
            for set in dims {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30);
                for key in set {
                    let key = key.as_str().expect("dimension names are strings");
                    assert!(v[key].is_string(), "dimension {key} must be a string member of the root");
                }
            }
            let metrics = d["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().expect("metric Name");
                assert!(v[name].is_number(), "metric {name} must be a number member of the root");
                let unit = m["Unit"].as_str().unwrap_or("None");
                assert!(["Count", "Milliseconds", "None", "Bytes", "Seconds"].contains(&unit), "{unit}");
            }
        }
    }

    fn status(state: State, error: Option<&str>) -> Status {
        let mut d = Diagnostics {
            model_id: "m".into(),
            estimated_cost_usd: Some(0.06),
            cost_usd: Some(0.06),
            model_calls: Some(1),
            ..Default::default()
        };
        d.timings_ms.insert("total".into(), 1500);
        d.timings_ms.insert("model".into(), 1200);
        Status {
            job_id: "j 1".into(),
            state,
            manifest: ManifestRef::default(),
            outputs: Outputs {
                images: if error.is_none() { vec!["outputs/j 1/result.png".into()] } else { vec![] },
                mask: None,
                sheet: None,
            },
            error: error.map(|c| StatusError { code: c.into(), message: "m".into(), retryable: false }),
            warnings: vec![],
            attempts: 1,
            lease: None,
            stage: Some("done".into()),
            interruptions: vec![],
            items: vec![],
            updated_at: String::new(),
            diagnostics: d,
            completion_event: None,
            throttled_attempts: 0,
        }
    }

    #[test]
    fn records_are_valid_emf_with_the_job_figures() {
        let ok = emf_record(&status(State::Succeeded, None), 1_700_000_000_000);
        let text = ok.to_string();
        assert!(!text.contains('\n'), "one line");
        assert_valid_emf(&serde_json::from_str(&text).unwrap());
        assert_eq!((ok["Outcome"].as_str(), ok["ErrorCode"].as_str()), (Some("succeeded"), Some("none")));
        assert_eq!((ok["JobDuration"].as_f64(), ok["ModelLatency"].as_f64()), (Some(1500.0), Some(1200.0)));
        assert_eq!((ok["ImagesGenerated"].as_f64(), ok["EstimatedCostUsd"].as_f64()), (Some(1.0), Some(0.06)));
        assert_eq!(
            (ok["ModelCalls"].as_f64(), ok["CacheHits"].as_f64(), ok["CostUsd"].as_f64()),
            (Some(1.0), Some(0.0), Some(0.06))
        );
        let mut hit = status(State::Succeeded, None);
        hit.diagnostics.cache_hits = Some(1);
        hit.diagnostics.model_calls = Some(0);
        hit.diagnostics.cost_usd = Some(0.0);
        let hit = emf_record(&hit, 1);
        assert_valid_emf(&hit);
        assert_eq!(
            (hit["ModelCalls"].as_f64(), hit["CacheHits"].as_f64(), hit["CostUsd"].as_f64()),
            (Some(0.0), Some(1.0), Some(0.0))
        );
        let bad = emf_record(&status(State::Failed, Some("content_filtered")), 1);
        assert_valid_emf(&bad);
        assert_eq!((bad["ErrorCode"].as_str(), bad["Failures"].as_f64()), (Some("content_filtered"), Some(1.0)));
    }

    #[test]
    fn days_to_shutdown_is_one_record_per_backend_and_the_serving_backend_is_named() {
        let mut s = status(State::Succeeded, None);
        assert!(retirement_records(&s, 1).is_empty(), "no shutdown known, no record");
        s.diagnostics.backend = Some("vertex-vto".into());
        s.diagnostics.days_to_shutdown.insert("vertex-vto".into(), 12);
        s.diagnostics.days_to_shutdown.insert("gemini-image".into(), 170);
        let records = retirement_records(&s, 1);
        assert_eq!(records.len(), 2);
        for r in &records {
            assert_valid_emf(r);
        }
        let vto = records.iter().find(|r| r["Backend"] == "vertex-vto").unwrap();
        assert_eq!(vto["DaysToShutdown"].as_f64(), Some(12.0));
        assert_eq!(emf_record(&s, 1)["backends"], serde_json::json!(["vertex-vto"]));
    }
}
