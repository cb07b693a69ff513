//! Jobs of more than one model call. `variants` compare parameters: each entry deep-merges
//! its fields over the base manifest and is one call. `garments` dress a person in an outfit:
//! steps applied in order, each step's result becoming the next step's source. Every item is
//! validated as a whole manifest with the one-call validator, before any call is made.

use serde_json::{Map, Value};

use crate::backends;
use crate::core::backend::{Backend, Backends};
use crate::core::manifest::{self, JobSpec, ManifestErrors};

/// Where a manifest's items are checked: the job folder and the deployment's backends.
#[derive(Clone, Copy)]
struct At<'a> {
    folder: &'a str,
    backends: &'a Backends,
}

/// Longest variant name.
pub const MAX_NAME_CHARS: usize = 64;

/// One model call of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The variant's name, or `step-<n>` for an outfit step.
    pub name: String,
    pub spec: JobSpec,
}

/// What a manifest asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum JobPlan {
    /// One call (the plain manifest).
    Single(Box<JobSpec>),
    /// Independent calls on the same source, outputs under `outputs/<jobId>/<name>/`.
    Variants(Vec<Item>),
    /// Calls in sequence, each on the previous result; outputs under
    /// `outputs/<jobId>/steps/<n>/`, the last one also as the job's `result.png`.
    Outfit(Vec<Item>),
}

impl JobPlan {
    /// The backends the plan may call (every chain's), each once, in order.
    pub fn backends(&self) -> Vec<Backend> {
        let specs: Vec<&JobSpec> = match self {
            JobPlan::Single(spec) => vec![spec],
            JobPlan::Variants(items) | JobPlan::Outfit(items) => items.iter().map(|i| &i.spec).collect(),
        };
        let mut out: Vec<Backend> = Vec::new();
        for b in specs.iter().flat_map(|s| &s.chain) {
            if !out.contains(b) {
                out.push(*b);
            }
        }
        out
    }

    /// How many model calls the plan makes.
    pub fn calls(&self) -> usize {
        match self {
            JobPlan::Single(_) => 1,
            JobPlan::Variants(items) | JobPlan::Outfit(items) => items.len(),
        }
    }
}

fn err(msg: String) -> ManifestErrors {
    ManifestErrors(vec![msg])
}

/// Parses `job.json` into a plan; `max_calls` is `MAX_MODEL_CALLS_PER_JOB`.
pub fn parse(bytes: &[u8], job_folder: &str, max_calls: usize, backends: &Backends) -> Result<JobPlan, ManifestErrors> {
    let at = At { folder: job_folder, backends };
    // Strict before anything else: a plan's keys read from a file that is not one JSON
    // document could be the wrong ones.
    let mut base = manifest::parse_object(bytes)?;
    let variant_list = base.remove("variants");
    let garment_list = base.remove("garments");
    let plan = match (variant_list, garment_list) {
        // The one-call form keeps the one-call parser's messages for its fields.
        (None, None) => return single(bytes, at).map(|s| JobPlan::Single(Box::new(s))),
        (Some(_), Some(_)) => {
            return Err(err("variants and garments cannot be combined in one job; submit them as two jobs".into()))
        }
        (Some(v), None) => JobPlan::Variants(variants(&base, v, at)?),
        (None, Some(g)) => JobPlan::Outfit(outfit(&base, g, at)?),
    };
    if plan.calls() > max_calls {
        return Err(err(format!(
            "this manifest makes {} model calls; at most {max_calls} are allowed per job (MAX_MODEL_CALLS_PER_JOB)",
            plan.calls()
        )));
    }
    Ok(plan)
}

/// The backends an outfit's steps call (`None` when the manifest names an unknown one: the
/// step's own check reports it).
fn step_chain(base: &Map<String, Value>, at: At<'_>) -> Option<Vec<Backend>> {
    match base.get("backend") {
        None => Some(at.backends.chain.clone()),
        Some(v) => serde_json::from_value::<manifest::BackendChoice>(v.clone()).ok().map(|c| c.0),
    }
}

/// Merges `over` into `base`: objects field by field, anything else replaced.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                deep_merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn items(list: Value, what: &str) -> Result<Vec<Map<String, Value>>, ManifestErrors> {
    let Value::Array(list) = list else { return Err(err(format!("{what}: must be a list"))) };
    if list.is_empty() {
        return Err(err(format!("{what}: must not be empty")));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok(m),
            _ => Err(err(format!("{what}[{i}]: must be an object"))),
        })
        .collect()
}

fn check_keys(m: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), ManifestErrors> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(err(format!("{path}: unknown field `{k}`, expected one of {}", allowed.join(", ")))),
        None => Ok(()),
    }
}

/// One call's manifest: the manifest's own rules, a backend this deployment offers, and
/// that backend's checks of its options.
fn single(bytes: &[u8], at: At<'_>) -> Result<JobSpec, ManifestErrors> {
    let spec = manifest::parse(bytes, at.folder, &at.backends.chain)?;
    if let Some(b) = spec.chain.iter().find(|b| !at.backends.enabled.contains(b)) {
        let enabled = at.backends.enabled.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ");
        return Err(err(format!(
            "backend: {b} is not enabled in this deployment (it offers {enabled}; see ENABLED_BACKENDS)"
        )));
    }
    // Every backend of the chain may be called: each checks its options before anything is paid.
    let mut problems: Vec<String> = Vec::new();
    for b in &spec.chain {
        for p in backends::of(*b).check_options(&spec.on(*b)) {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(ManifestErrors(problems))
    }
}

fn validate_item(
    base: &Map<String, Value>,
    overrides: &Value,
    path: &str,
    at: At<'_>,
) -> Result<JobSpec, ManifestErrors> {
    let mut merged = Value::Object(base.clone());
    deep_merge(&mut merged, overrides);
    let bytes = serde_json::to_vec(&merged).unwrap_or_default();
    single(&bytes, at).map_err(|e| ManifestErrors(e.0.into_iter().map(|p| format!("{path}: {p}")).collect()))
}

/// The fields a variant may set over the base manifest.
const VARIANT_FIELDS: &[&str] = &[
    "name",
    "garment",
    "backend",
    "virtualTryOnParams",
    "imageGenerationConfig",
    "vertexTryOnParams",
    "geminiParams",
    "converseParams",
    "instruction",
    "resultCache",
];

fn variants(base: &Map<String, Value>, list: Value, at: At<'_>) -> Result<Vec<Item>, ManifestErrors> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, mut v) in items(list, "variants")?.into_iter().enumerate() {
        let path = format!("variants[{i}]");
        if let Err(e) = check_keys(&v, &path, VARIANT_FIELDS) {
            problems.extend(e.0);
            continue;
        }
        let name = match v.remove("name") {
            Some(Value::String(n)) => n,
            _ => {
                problems.push(format!("{path}.name: required, a short name such as \"seamless\""));
                continue;
            }
        };
        let valid = !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && name != "steps";
        if !valid {
            problems.push(format!(
                "{path}.name: {name:?} must be 1-{MAX_NAME_CHARS} letters, digits, '-', '_' or '.', starting with a letter or digit (it names the output folder)"
            ));
            continue;
        }
        if out.iter().any(|it: &Item| it.name.eq_ignore_ascii_case(&name)) {
            problems.push(format!("{path}.name: {name:?} is used twice; variant names must be unique"));
            continue;
        }
        match validate_item(base, &Value::Object(v), &format!("{path} ({name})"), at) {
            Ok(spec) => out.push(Item { name, spec }),
            Err(e) => problems.extend(e.0),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ManifestErrors(problems))
    }
}

fn outfit(base: &Map<String, Value>, list: Value, at: At<'_>) -> Result<Vec<Item>, ManifestErrors> {
    if base.contains_key("garment") {
        return Err(err(
            "garment and garments cannot both be given: use garment for one garment, garments for an outfit".into(),
        ));
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, g) in items(list, "garments")?.into_iter().enumerate() {
        let path = format!("garments[{i}]");
        if let Err(e) = check_keys(&g, &path, &["image", "garmentClass", "virtualTryOnParams", "instruction"]) {
            problems.extend(e.0);
            continue;
        }
        let Some(image) = g.get("image").cloned() else {
            problems.push(format!("{path}.image: required, the garment photo of this step"));
            continue;
        };
        let mut over = serde_json::json!({ "garment": image });
        if let Some(class) = g.get("garmentClass") {
            // Prompt-based backends are told the class in words; Nova Canvas masks by it.
            // Each backend of the chain is told in its own terms.
            let chain = step_chain(base, at).unwrap_or_default();
            let worded = chain.iter().any(|b| b.prompt_based());
            if worded {
                deep_merge(&mut over, &serde_json::json!({ "instruction": { "garmentClass": class } }));
            }
            if !worded || chain.contains(&Backend::NovaCanvas) {
                let mask =
                    serde_json::json!({ "virtualTryOnParams": { "garmentBasedMask": { "garmentClass": class } } });
                deep_merge(&mut over, &mask);
            }
        }
        for field in ["virtualTryOnParams", "instruction"] {
            if let Some(p) = g.get(field) {
                deep_merge(&mut over, &serde_json::json!({ field: p }));
            }
        }
        match validate_item(base, &over, &path, at) {
            Ok(spec) => out.push(Item { name: format!("step-{}", i + 1), spec }),
            Err(e) => problems.extend(e.0),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ManifestErrors(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::manifest::{GarmentClass, MergeStyle};
    use serde_json::json;

    fn plan(v: Value) -> Result<JobPlan, ManifestErrors> {
        parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", 10, &Backends::only(Backend::NovaCanvas))
    }

    fn plan_with(v: Value, backends: &Backends) -> Result<JobPlan, ManifestErrors> {
        parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", 10, backends)
    }

    #[test]
    fn a_backend_the_deployment_does_not_enable_is_refused_before_anything_is_paid() {
        let e = plan(json!({"source": "p.jpg", "garment": "g.png", "backend": "vertex-vto"})).unwrap_err();
        assert_eq!(
            e.0,
            ["backend: vertex-vto is not enabled in this deployment (it offers nova-canvas; see ENABLED_BACKENDS)"]
        );
        let both =
            Backends { chain: vec![Backend::NovaCanvas], enabled: vec![Backend::NovaCanvas, Backend::VertexVto] };
        let JobPlan::Single(spec) =
            plan_with(json!({"source": "p.jpg", "garment": "g.png", "backend": "vertex-vto"}), &both).unwrap()
        else {
            panic!("one call")
        };
        assert_eq!(spec.backend, Backend::VertexVto);
    }

    #[test]
    fn variants_may_each_call_another_backend_with_its_own_options() {
        let all = Backends { chain: vec![Backend::NovaCanvas], enabled: Backend::ALL.to_vec() };
        let m = json!({
            "source": "p.jpg", "garment": "g.png",
            "variants": [
                {"name": "nova"},
                {"name": "vertex", "backend": "vertex-vto", "vertexTryOnParams": {}},
                {"name": "gemini", "backend": "gemini-image", "instruction": {"garmentClass": "UPPER_BODY"}},
                {"name": "omni", "backend": "bedrock-converse"}
            ]
        });
        let JobPlan::Variants(items) = plan_with(m, &all).unwrap() else { panic!("variants") };
        let backends: Vec<Backend> = items.iter().map(|i| i.spec.backend).collect();
        assert_eq!(backends, Backend::ALL);
        assert_eq!(JobPlan::Variants(items).backends(), Backend::ALL);
        // A variant inherits the base's Nova options; another backend refuses them by name.
        let m = json!({
            "source": "p.jpg", "garment": "g.png", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"},
            "variants": [{"name": "nova"}, {"name": "gemini", "backend": "gemini-image"}]
        });
        let e = plan_with(m, &all).unwrap_err();
        assert_eq!(e.0.len(), 1, "{e:?}");
        assert!(e.0[0].starts_with("variants[1] (gemini): virtualTryOnParams: a nova-canvas option"), "{e:?}");
    }

    #[test]
    fn an_outfit_on_a_prompt_based_backend_is_told_each_garment_class_in_words() {
        let gemini = Backends::only(Backend::GeminiImage);
        let m = json!({"source": "p.jpg", "garments": [{"image": "top.png", "garmentClass": "UPPER_BODY"}, {"image": "boots.png", "garmentClass": "BOOTS"}]});
        let JobPlan::Outfit(items) = plan_with(m, &gemini).unwrap() else { panic!("outfit") };
        let classes: Vec<_> = items.iter().map(|i| i.spec.instruction.as_ref().and_then(|x| x.garment_class)).collect();
        assert_eq!(classes, [Some(GarmentClass::UpperBody), Some(GarmentClass::Boots)]);
        assert!(items.iter().all(|i| i.spec.params == crate::core::manifest::TryOnParams::default()));
    }

    #[test]
    fn plain_manifests_are_single_calls() {
        assert!(matches!(plan(json!({"source": "a.jpg", "garment": "b.png"})).unwrap(), JobPlan::Single(_)));
        let e = plan(json!({"source": "a.jpg"})).unwrap_err();
        assert!(e.to_string().contains("missing field `garment`"), "{e}");
    }

    #[test]
    fn variants_deep_merge_over_the_base() {
        let p = plan(json!({
            "source": "a.jpg", "garment": "b.png",
            "virtualTryOnParams": {"garmentBasedMask": {"garmentClass": "UPPER_BODY", "maskShape": "CONTOUR"}, "mergeStyle": "BALANCED"},
            "imageGenerationConfig": {"seed": 1},
            "variants": [
                {"name": "seamless", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}},
                {"name": "box", "virtualTryOnParams": {"garmentBasedMask": {"maskShape": "BOUNDING_BOX"}}, "imageGenerationConfig": {"seed": 7}}
            ]
        }))
        .unwrap();
        let JobPlan::Variants(items) = p else { panic!() };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name, "seamless");
        assert_eq!(items[0].spec.params.merge_style, Some(MergeStyle::Seamless));
        let g = items[1].spec.params.garment_based_mask.as_ref().unwrap();
        assert_eq!(
            (g.garment_class, g.mask_shape.map(|s| s.as_str())),
            (Some(GarmentClass::UpperBody), Some("BOUNDING_BOX"))
        );
        assert_eq!(items[1].spec.params.merge_style, Some(MergeStyle::Balanced), "untouched fields come from the base");
        assert_eq!((items[0].spec.generation.seed, items[1].spec.generation.seed), (Some(1), Some(7)));
    }

    #[test]
    fn variant_names_and_fields_are_validated() {
        let base = |v: Value| json!({"source": "a.jpg", "garment": "b.png", "variants": v});
        let e = |v: Value| plan(base(v)).unwrap_err().to_string();
        assert!(e(json!([{"virtualTryOnParams": {}}])).contains("name: required"));
        assert!(e(json!([{"name": "../x"}])).contains("letters, digits"));
        assert!(e(json!([{"name": "a"}, {"name": "A"}])).contains("used twice"));
        assert!(e(json!([{"name": "a", "source": "c.jpg"}])).contains("unknown field `source`"));
        assert!(e(json!([{"name": "a", "virtualTryOnParams": {"mergeStyle": "SOFT"}}]))
            .contains("variants[0] (a): virtualTryOnParams.mergeStyle"));
        assert!(e(json!([])).contains("must not be empty"));
        assert!(e(json!("x")).contains("must be a list"));
    }

    #[test]
    fn outfits_become_steps_with_their_own_garment_and_class() {
        let p = plan(json!({
            "source": "p.jpg",
            "garments": [
                {"image": "top.png", "garmentClass": "UPPER_BODY"},
                {"image": "jeans.png", "garmentClass": "LOWER_BODY", "virtualTryOnParams": {"mergeStyle": "DETAILED"}},
                {"image": "boots.png", "garmentClass": "FOOTWEAR"}
            ]
        }))
        .unwrap();
        let JobPlan::Outfit(steps) = p else { panic!() };
        let names: Vec<_> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["step-1", "step-2", "step-3"]);
        assert_eq!(steps[1].spec.garment_key, "uploads/j/jeans.png");
        assert_eq!(
            steps[1].spec.params.garment_based_mask.as_ref().unwrap().garment_class,
            Some(GarmentClass::LowerBody)
        );
        assert_eq!(steps[1].spec.params.merge_style, Some(MergeStyle::Detailed));
        assert_eq!(steps[2].spec.params.merge_style, None);
    }

    #[test]
    fn outfit_rules() {
        let e = |v: Value| plan(v).unwrap_err().to_string();
        assert!(e(json!({"source": "p.jpg", "garment": "g.png", "garments": [{"image": "t.png"}]}))
            .contains("cannot both be given"));
        assert!(e(json!({"source": "p.jpg", "garments": [{"garmentClass": "UPPER_BODY"}]})).contains("image: required"));
        assert!(e(json!({"source": "p.jpg", "garments": [{"image": "../t.png"}]})).contains("garments[0]: garment"));
        assert!(e(json!({"source": "p.jpg", "garment": "g.png", "variants": [{"name": "a"}], "garments": [{"image": "t.png"}]}))
            .contains("cannot be combined"));
    }

    #[test]
    fn plans_refuse_anything_after_the_document() {
        let plain = json!({"source": "a.jpg", "garment": "b.png"});
        let variants = json!({"source": "a.jpg", "garment": "b.png", "variants": [{"name": "a"}]});
        let outfit = json!({"source": "p.jpg", "garments": [{"image": "t.png"}]});
        for doc in [plain, variants, outfit] {
            let doc = serde_json::to_vec(&doc).unwrap();
            for (what, tail) in crate::core::manifest::tests::TRAILING {
                let e =
                    parse(&[&doc[..], b"\n", tail].concat(), "uploads/j/", 10, &Backends::only(Backend::NovaCanvas))
                        .unwrap_err()
                        .to_string();
                assert!(e.starts_with("is not valid JSON (unexpected data after the JSON document"), "{what}: {e}");
            }
            for ok in [[b"\xEF\xBB\xBF ", &doc[..], b" \r\n"].concat(), [b"\t", &doc[..]].concat()] {
                assert!(
                    parse(&ok, "uploads/j/", 10, &Backends::only(Backend::NovaCanvas)).is_ok(),
                    "{}",
                    String::from_utf8_lossy(&ok)
                );
            }
            let twice = [b"\xEF\xBB\xBF\xEF\xBB\xBF", &doc[..]].concat();
            assert!(parse(&twice, "uploads/j/", 10, &Backends::only(Backend::NovaCanvas))
                .unwrap_err()
                .to_string()
                .contains("byte-order mark"));
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused() {
        // Inside `width` serde_json skips a string unread; the plan must refuse it all the same.
        let bytes = b"{\"source\": \"a.jpg\", \"garment\": \"b.png\", \"variants\": [{\"name\": \"a\"}], \"imageGenerationConfig\": {\"width\": \"\xFF\"}}";
        let e = parse(bytes, "uploads/j/", 10, &Backends::only(Backend::NovaCanvas)).unwrap_err().to_string();
        assert!(e.starts_with("is not valid JSON (not UTF-8"), "{e}");
    }

    #[test]
    fn the_call_limit_is_enforced_before_any_call() {
        let many: Vec<Value> = (0..11).map(|i| json!({"name": format!("v{i}")})).collect();
        let e = plan(json!({"source": "a.jpg", "garment": "b.png", "variants": many})).unwrap_err().to_string();
        assert!(e.contains("11 model calls") && e.contains("MAX_MODEL_CALLS_PER_JOB"), "{e}");
    }
}
