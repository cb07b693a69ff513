use super::*;

fn day(s: &str) -> Date {
    Date::parse(s).unwrap()
}

#[test]
fn the_compiled_catalog_holds_and_every_backend_default_is_live_today() {
    let c = Catalog::with_overrides(None).unwrap();
    let today = Date::today();
    for e in c.entries() {
        assert!(e.source.as_deref().is_some_and(|s| s.starts_with("https://")), "{}: a source URL", e.id);
        assert!(e.checked.is_some(), "{}: the day its source was read", e.id);
        if let Some(r) = &e.replacement {
            assert!(c.entries().any(|x| &x.id == r), "{}: replacement {r}", e.id);
        }
    }
    for b in Backend::ALL {
        for p in b.platforms() {
            match c.default_model(b, *p) {
                Some(m) => assert!(c.verdict(m, *p, today, 0).callable(), "{b} on {p}: default {m} is retired"),
                // Nova Canvas has no live model left: it has no default (README, When a model retires).
                None => assert!(b == Backend::NovaCanvas || *p == Platform::GeminiApi, "{b} on {p} has no default"),
            }
        }
    }
    assert_eq!(c.default_model(Backend::VertexVto, Platform::VertexAi), Some("virtual-try-on-001"));
    assert_eq!(c.default_model(Backend::GeminiImage, Platform::VertexAi), Some("gemini-3.1-flash-image"));
    assert_eq!(c.default_model(Backend::BedrockConverse, Platform::Bedrock), Some("us.amazon.nova-2-omni-v1:0"));
    assert_eq!(c.default_model(Backend::NovaCanvas, Platform::Bedrock), None);
}

#[test]
fn verdicts_follow_the_stage_the_shutdown_and_the_warning_window() {
    let c = Catalog::compiled();
    let (vto, v) = ("virtual-try-on-001", Platform::VertexAi);
    // Deprecated: a warning whatever the window.
    let retiring = Verdict::Retiring {
        shutdown: Some(day("2027-01-20")),
        days_left: Some(44),
        replacement: Some("gemini-3.1-flash-image".into()),
    };
    assert_eq!(c.verdict(vto, v, day("2026-12-07"), 30), retiring);
    let gone = Verdict::Retired { since: Some(day("2027-01-20")), replacement: Some("gemini-3.1-flash-image".into()) };
    assert_eq!(c.verdict(vto, v, day("2027-01-20"), 30), gone, "the shutdown day itself answers no more");
    assert!(c.verdict(vto, v, day("2027-01-19"), 30).callable());
    let nova = c.verdict("amazon.nova-canvas-v1:0", Platform::Bedrock, day("2026-12-07"), 30);
    assert!(!nova.callable());
    // The same id differs per platform.
    assert!(!c.verdict("gemini-3.1-flash-image", Platform::GeminiApi, day("2026-12-07"), 30).callable());
    assert_eq!(c.verdict("gemini-3.1-flash-image", Platform::VertexAi, day("2026-12-07"), 30), Verdict::Live);
    assert_eq!(c.verdict("my-private-model", Platform::VertexAi, day("2026-12-07"), 30), Verdict::Unlisted);
    // A GA model with a shutdown: warned inside the window only.
    let c = Catalog::with_overrides(Some(r#"{"gemini-3-pro-image": {"shutdown": "2027-03-01"}}"#)).unwrap();
    let p = Platform::VertexAi;
    assert_eq!(c.verdict("gemini-3-pro-image", p, day("2027-01-01"), 30), Verdict::Live);
    assert!(matches!(
        c.verdict("gemini-3-pro-image", p, day("2027-02-01"), 30),
        Verdict::Retiring { days_left: Some(28), .. }
    ));
}

#[test]
fn overrides_merge_over_the_compiled_entries() {
    // An account that kept Nova Canvas: live again, its date cleared.
    let kept = r#"{"amazon.nova-canvas-v1:0": {"stage": "ga", "shutdown": null}}"#;
    let c = Catalog::with_overrides(Some(kept)).unwrap();
    let e = c.entry("amazon.nova-canvas-v1:0", Platform::Bedrock).unwrap();
    assert_eq!((e.stage, e.shutdown), (Stage::Ga, None));
    assert_eq!(e.deprecated, Some(day("2026-03-30")), "fields not named are kept");
    assert_eq!(e.price.per_image, 0.04);
    // A newly announced date on one platform only.
    let c =
        Catalog::with_overrides(Some(r#"{"gemini-3-pro-image": {"vertex-ai": {"shutdown": "2027-05-28"}}}"#)).unwrap();
    assert_eq!(c.entry("gemini-3-pro-image", Platform::VertexAi).unwrap().shutdown, Some(day("2027-05-28")));
    assert_eq!(c.entry("gemini-3-pro-image", Platform::GeminiApi).unwrap().shutdown, None);
    // A private model, offered on its backend's platforms, and a new default.
    let private = r#"{"tuned-vto-7": {"backend": "vertex-vto", "stage": "ga", "price": {"perImage": 0.05}},
                      "virtual-try-on-001": {"default": false}, "tuned-vto-7 ": null}"#;
    assert!(Catalog::with_overrides(Some(private)).is_err(), "a model's value must be an object");
    let private = r#"{"tuned-vto-7": {"backend": "vertex-vto", "stage": "ga", "default": true, "price": {"perImage": 0.05}},
                      "virtual-try-on-001": {"default": false}}"#;
    let c = Catalog::with_overrides(Some(private)).unwrap();
    assert_eq!(c.default_model(Backend::VertexVto, Platform::VertexAi), Some("tuned-vto-7"));
    assert_eq!(c.price(Backend::VertexVto, "tuned-vto-7", Platform::VertexAi).per_image, 0.05);
    assert_eq!(c.price(Backend::VertexVto, "unlisted", Platform::VertexAi).per_image, 0.05, "the default's price");
}

#[test]
fn bad_overrides_are_refused_naming_the_field() {
    for (json, path, says) in [
        ("[1]", "(the value)", "keyed by model id"),
        ("{", "(the value)", "not JSON"),
        (r#"{"virtual-try-on-001": {"shutdown": "2027-13-01"}}"#, "virtual-try-on-001.vertex-ai.shutdown", "not a day"),
        (r#"{"virtual-try-on-001": {"shutdown": 20270120}}"#, "virtual-try-on-001.vertex-ai.shutdown", "YYYY-MM-DD"),
        (r#"{"virtual-try-on-001": {"stage": "sunset"}}"#, "virtual-try-on-001.vertex-ai.stage", "preview, ga"),
        (r#"{"virtual-try-on-001": {"retires": "2027-01-20"}}"#, "virtual-try-on-001.retires", "unknown field"),
        (
            r#"{"virtual-try-on-001": {"vertex-ai": {"backend": "x"}}}"#,
            "virtual-try-on-001.vertex-ai.backend",
            "unknown",
        ),
        (
            r#"{"virtual-try-on-001": {"replacement": "gemini-9"}}"#,
            "virtual-try-on-001.vertex-ai.replacement",
            "not a model",
        ),
        (r#"{"new-model": {"stage": "ga"}}"#, "new-model.backend", "required"),
        (r#"{"new-model": {"backend": "vertex-vto"}}"#, "new-model.vertex-ai.stage", "required"),
        (r#"{"new-model": {"backend": "dall-e", "stage": "ga"}}"#, "new-model.backend", "unknown backend"),
        (r#"{"new-model": {"backend": "vertex-vto", "stage": "ga", "default": true}}"#, "", "already is the default"),
        (r#"{"virtual-try-on-001": {"price": {"perImage": -1}}}"#, "virtual-try-on-001.vertex-ai.price", "0 or more"),
        (r#"{"virtual-try-on-001": {"price": {"perPicture": 1}}}"#, "virtual-try-on-001.vertex-ai.price", "perPicture"),
    ] {
        let e = Catalog::with_overrides(Some(json)).unwrap_err();
        assert!(e.path.starts_with(path) && e.reason.contains(says), "{json}: {e}");
    }
}
