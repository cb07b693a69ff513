//! `tryon models` as a CI job runs it: the binary, with only the variables each case sets.

use std::collections::HashMap;
use std::process::{Command, Output};

use serde_json::Value;
use tryon::config::ModelsView;
use tryon::core::catalog::{Date, Verdict};

fn models(vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tryon"));
    c.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in vars {
        c.env(k, v);
    }
    c.arg("models").args(args).output().expect("tryon runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The table's line for `model` (the first one naming it).
fn line_of<'a>(table: &'a str, model: &str) -> &'a str {
    table.lines().find(|l| l.split_whitespace().any(|c| c == model)).unwrap_or_else(|| panic!("{model} in:\n{table}"))
}

fn json_rows(o: &Output) -> Vec<Value> {
    match serde_json::from_slice(&o.stdout) {
        Ok(Value::Array(rows)) => rows,
        other => panic!("expected a JSON array, got {other:?} from:\n{}", stdout(o)),
    }
}

#[test]
fn the_default_configuration_passes_the_check_only_when_the_catalog_says_its_models_are_live() {
    let view = ModelsView::from_vars(&HashMap::new()).unwrap();
    let today = Date::today();
    let live = view.backends.enabled.iter().all(|b| {
        let model = view.models.iter().find(|(m, _)| m == b).map_or("", |(_, id)| id.as_str());
        let verdict = view.catalog.verdict(model, b.platform(), today, view.retirement_warning_days);
        !model.is_empty() && matches!(verdict, Verdict::Live | Verdict::Unlisted)
    });
    let out = models(&[], &["--check"]);
    assert_eq!(out.status.code(), Some(if live { 0 } else { 1 }), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stderr(&out).is_empty(), live, "{}", stderr(&out));
    let table = stdout(&out);
    let first = view.backends.chain[0];
    let model = &view.models.iter().find(|(b, _)| *b == first).unwrap().1;
    let row = line_of(&table, model);
    assert!(row.starts_with('1') && row.contains(first.name()), "{row}");
    assert!(table.lines().nth(1).unwrap().starts_with("CHAIN  BACKEND"), "{table}");
}

#[test]
fn a_retired_model_in_the_chain_fails_the_check_naming_it() {
    let vars = [("TRYON_BACKEND", "vertex-vto,gemini-image")];
    let out = models(&vars, &["--today", "2027-01-25", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one problem: {err}");
    assert!(err.contains("vertex-vto") && err.contains("virtual-try-on-001") && err.contains("retired"), "{err}");
    let table = stdout(&out);
    let vto = line_of(&table, "virtual-try-on-001");
    assert!(vto.starts_with('1') && vto.contains("retired") && vto.contains("2027-01-20"), "{vto}");
    assert!(line_of(&table, "gemini-image").starts_with('2'), "{table}");
}

#[test]
fn a_model_close_to_its_shutdown_is_retiring_with_its_days_left() {
    let out = models(&[("TRYON_BACKEND", "vertex-vto")], &["--today", "2027-01-01", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("virtual-try-on-001") && err.contains("retiring") && err.contains("19 days"), "{err}");
    let table = stdout(&out);
    let row = line_of(&table, "virtual-try-on-001");
    assert!(row.split_whitespace().any(|c| c == "19"), "{row}");

    let json = models(&[("TRYON_BACKEND", "vertex-vto")], &["--today", "2027-01-01", "--json"]);
    assert_eq!(json.status.code(), Some(0), "no --check, no failure");
    let rows = json_rows(&json);
    assert_eq!(rows[0]["verdict"], "retiring");
    assert_eq!(rows[0]["daysLeft"], 19);
    assert_eq!(rows[0]["replacement"], "gemini-3.1-flash-image");
}

#[test]
fn a_catalog_override_retiring_the_configured_model_fails_the_check() {
    let view = ModelsView::from_vars(&HashMap::new()).unwrap();
    let (backend, model) = view.models.iter().find(|(b, _)| *b == view.backends.chain[0]).unwrap().clone();
    let over = format!(r#"{{"{model}": {{"{}": {{"stage": "retired"}}}}}}"#, backend.platform());
    let out = models(&[("MODEL_CATALOG_JSON", &over)], &["--check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&model) && stderr(&out).contains("retired"), "{}", stderr(&out));
    assert_eq!(json_rows(&out)[0]["verdict"], "retired");
}

#[test]
fn a_bad_catalog_override_is_a_configuration_error() {
    let out = models(&[("MODEL_CATALOG_JSON", "{\"no-such\": 1")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("MODEL_CATALOG_JSON"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_bad_day_is_refused() {
    let out = models(&[], &["--today", "2027-02-30"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("YYYY-MM-DD"), "{}", stderr(&out));
}

#[test]
fn json_rows_carry_the_documented_keys_and_a_backend_without_a_model_fails_the_check() {
    let vars = [("TRYON_BACKEND", "gemini-image"), ("ENABLED_BACKENDS", "nova-canvas")];
    let out = models(&vars, &["--json", "--check", "--today", "2027-01-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nova-canvas: no model configured (set MODEL_ID)"), "{}", stderr(&out));
    let rows = json_rows(&out);
    let keys = ["chainPosition", "backend", "model", "platform", "stage", "shutdown", "daysLeft", "replacement"];
    for row in &rows {
        for key in keys.iter().chain(&["source", "verdict"]) {
            assert!(row.get(key).is_some(), "{key} in {row}");
        }
        let verdict = row["verdict"].as_str().unwrap();
        assert!(["live", "retiring", "retired", "unlisted", "no-model"].contains(&verdict), "{row}");
    }
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["chainPosition"].clone(), rows[0]["backend"].clone()), (1.into(), "gemini-image".into()));
    assert_eq!(rows[1]["chainPosition"], Value::Null);
    assert_eq!(rows[1]["verdict"], "no-model");

    let table = stdout(&models(&vars, &["--today", "2027-01-01"]));
    let none = line_of(&table, "(none)");
    assert!(none.starts_with('-') && none.contains("nova-canvas") && none.contains("no model"), "{none}");
}

#[test]
fn all_lists_the_rest_of_the_catalog_after_the_configured_models() {
    let out = models(&[("TRYON_BACKEND", "vertex-vto")], &["--all", "--today", "2027-01-01"]);
    assert_eq!(out.status.code(), Some(0));
    let table = stdout(&out);
    let nova = line_of(&table, "amazon.nova-canvas-v1:0");
    assert!(nova.contains("retired") && nova.contains("2026-09-30"), "{nova}");
    let position = |m: &str| table.find(line_of(&table, m)).unwrap();
    assert!(position("virtual-try-on-001") < position("amazon.nova-canvas-v1:0"), "{table}");

    let all = json_rows(&models(&[], &["--all", "--json"]));
    let nova = all.iter().find(|r| r["model"] == "amazon.nova-canvas-v1:0").expect("nova canvas listed");
    assert_eq!((nova["verdict"].as_str(), nova["configured"].as_bool()), (Some("retired"), Some(false)));
    let catalog = ModelsView::from_vars(&HashMap::new()).unwrap().catalog;
    assert_eq!(all.len(), catalog.entries().count(), "each entry once, the configured one included");
}
