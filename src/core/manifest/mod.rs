//! The job manifest (`job.json`): the Nova Canvas try-on request shape with images named by
//! key instead of base64. Parsing rejects unknown fields naming them; validation checks every
//! enum, range and combination rule of the Nova Canvas reference before any model call, and
//! confines image references to the job's own folder.

use serde::de::IgnoredAny;

use crate::core::backend::Backend;
use crate::core::error::{ErrorCode, JobError};

mod fields;
mod ownership;
pub use fields::*;
pub use ownership::{MAX_GARMENT_DESCRIPTION_CHARS, MAX_PROMPT_CHARS};

/// Every problem found in a manifest, each as `path: what to fix`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct ManifestErrors(pub Vec<String>);

impl From<ManifestErrors> for JobError {
    fn from(e: ManifestErrors) -> Self {
        JobError::new(ErrorCode::InvalidManifest, format!("job.json: {e}"))
    }
}

/// Parses and validates `job.json`. `job_folder` is the job's key prefix ending in `/`
/// (`uploads/<jobId>/`); image references resolve under it. `default` is the backend of a
/// manifest that names none (`TRYON_BACKEND`).
pub fn parse(bytes: &[u8], job_folder: &str, default: &[Backend]) -> Result<JobSpec, ManifestErrors> {
    let manifest = parse_json(bytes, default)?;
    validate(manifest, job_folder, default)
}

/// The structural step: JSON syntax, field names and types, enum values.
pub fn parse_json(bytes: &[u8], default: &[Backend]) -> Result<Manifest, ManifestErrors> {
    let bytes = object_start(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, Manifest>(&mut *de) {
        Ok(m) => de.end().map(|()| m).map_err(|e| ManifestErrors(vec![trailing_data(&e)])),
        Err(e) => {
            let syntax = e.inner().is_syntax() || e.inner().is_eof();
            let mut problems = vec![field_problem(e)];
            // serde stops at the first problem; a person fixing the file wants them all.
            if !syntax {
                let all = every_problem(bytes, default);
                if all.len() > 1 {
                    problems = all;
                }
            }
            // A field problem stops serde early: say too if the file is not one JSON document,
            // so one upload shows every reason it was refused.
            if !syntax {
                problems.extend(one_document::<IgnoredAny>(bytes).err());
            }
            Err(ManifestErrors(problems))
        }
    }
}

/// Reads `job.json` as one JSON object without typing its fields, under the same rules as
/// [`parse_json`] (one leading BOM, nothing after the document): for callers that look at
/// some fields before handing the rest to the typed parser.
pub fn parse_object(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ManifestErrors> {
    match one_document(object_start(bytes)?) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(ManifestErrors(vec![format!("must be a JSON object such as {EXAMPLE}")])),
        Err(e) => Err(ManifestErrors(vec![e])),
    }
}

/// Strips the one byte-order mark allowed: editors on Windows save UTF-8 with one, and it
/// carries no meaning. A second one is not whitespace in JSON and would be a syntax error.
fn strip_bom(bytes: &[u8]) -> Result<&[u8], ManifestErrors> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let rest = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if rest.starts_with(BOM) {
        return Err(ManifestErrors(vec!["is not valid JSON (it starts with more than one byte-order mark)".into()]));
    }
    Ok(rest)
}

const EXAMPLE: &str = r#"{"source": "person.jpg", "garment": "hoodie.png"}"#;

/// The bytes after the BOM, if they are UTF-8 and start a JSON object: serde would also
/// accept a JSON array for a struct (fields by position).
fn object_start(bytes: &[u8]) -> Result<&[u8], ManifestErrors> {
    let body = strip_bom(bytes)?;
    // serde_json does not check the UTF-8 of values it skips (`width`), but JSON is UTF-8.
    if let Err(e) = std::str::from_utf8(body) {
        let at = bytes.len() - body.len() + e.valid_up_to();
        return Err(ManifestErrors(vec![format!("is not valid JSON (not UTF-8 text at byte {at}; save it as UTF-8)")]));
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(body),
        None => Err(ManifestErrors(vec![format!("is empty; it must be a JSON object such as {EXAMPLE}")])),
        Some(_) => Err(ManifestErrors(vec![format!("must be a JSON object such as {EXAMPLE}")])),
    }
}

/// Reads `bytes` as exactly one JSON document: whitespace may follow it, nothing else (a
/// second document or garbage after the first must not be silently dropped).
fn one_document<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(&mut de).map_err(|e| format!("is not valid JSON ({e})"))?;
    de.end().map_err(|e| trailing_data(&e))?;
    Ok(value)
}

fn trailing_data(e: &serde_json::Error) -> String {
    format!("is not valid JSON (unexpected data after the JSON document at line {} column {})", e.line(), e.column())
}

/// A typed parse error as `path: what`; serde's messages name the offending field or value
/// and list the accepted ones.
fn field_problem(e: serde_path_to_error::Error<serde_json::Error>) -> String {
    match describe(e) {
        (None, what) => what,
        (Some(path), what) => format!("{path}: {what}"),
    }
}

/// Where a serde problem is (`None` at the top) and what it is, without serde's position.
fn describe(e: serde_path_to_error::Error<serde_json::Error>) -> (Option<String>, String) {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let what = if inner.is_syntax() || inner.is_eof() {
        format!("is not valid JSON ({inner})")
    } else {
        let msg = inner.to_string();
        msg.split(" at line ").next().unwrap_or(&msg).to_owned()
    };
    ((path != "." && !path.is_empty()).then_some(path), what)
}

/// Every problem of a manifest that failed to parse: each top-level field read on its own
/// (so one wrong field does not hide another), missing and unknown fields, then the ranges
/// and combinations of the fields that did read.
fn every_problem(bytes: &[u8], default: &[Backend]) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = one_document::<serde_json::Value>(bytes) else { return vec![] };
    let mut problems = Vec::new();
    let mut m = Manifest::default();
    for (key, value) in map.iter() {
        let read = match key.as_str() {
            "source" => field(key, value).map(|v| m.source = v),
            "garment" => field(key, value).map(|v| m.garment = v),
            "virtualTryOnParams" => field(key, value).map(|v| m.virtual_try_on_params = v),
            "imageGenerationConfig" => field(key, value).map(|v| m.image_generation_config = v),
            "backend" => field(key, value).map(|v| m.backend = v),
            "vertexTryOnParams" => field(key, value).map(|v| m.vertex_try_on_params = v),
            "geminiParams" => field(key, value).map(|v| m.gemini_params = v),
            "converseParams" => field(key, value).map(|v| m.converse_params = v),
            "instruction" => field(key, value).map(|v| m.instruction = v),
            "resultCache" => field(key, value).map(|v| m.result_cache = v),
            other => Err(format!(
                "unknown field `{other}`, expected one of `source`, `garment`, `backend`, `virtualTryOnParams`, `imageGenerationConfig`, `vertexTryOnParams`, `geminiParams`, `converseParams`, `instruction`, `resultCache`"
            )),
        };
        problems.extend(read.err());
    }
    let missing: Vec<&str> = ["source", "garment"].into_iter().filter(|k| !map.contains_key(*k)).collect();
    problems.extend(missing.iter().map(|k| format!("missing field `{k}`")));
    if let Err(e) = validate(m, "uploads/job/", default) {
        // An absent reference was already reported as missing, not as an empty name.
        problems.extend(e.0.into_iter().filter(|p| !missing.iter().any(|k| p.starts_with(k))));
    }
    problems
}

/// One top-level field read alone, its problem prefixed with its name.
fn field<T: serde::de::DeserializeOwned>(key: &str, value: &serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| match describe(e) {
        (None, what) => format!("{key}: {what}"),
        (Some(path), what) => format!("{key}.{path}: {what}"),
    })
}

/// The semantic step: references, combination rules and ranges. Reports every problem.
pub fn validate(m: Manifest, job_folder: &str, default: &[Backend]) -> Result<JobSpec, ManifestErrors> {
    let mut problems = Vec::new();
    let source_key = resolve_reference(job_folder, "source", &m.source).map_err(|e| problems.push(e)).ok();
    let garment_key = resolve_reference(job_folder, "garment", &m.garment).map_err(|e| problems.push(e)).ok();
    let chain = m.backend.clone().map_or_else(|| default.to_vec(), |c| c.0);
    let backend = chain[0];
    ownership::check_fit(&m, &chain, &mut problems);
    let (params, mask_key) = match chain.contains(&Backend::NovaCanvas) {
        true => nova_defaults(m.virtual_try_on_params, job_folder, &mut problems),
        false => (TryOnParams::default(), None),
    };
    for b in &chain {
        for p in generation_problems(&m.image_generation_config, *b) {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
    }
    let blocks: std::collections::BTreeMap<Backend, serde_json::Value> = [
        (Backend::VertexVto, m.vertex_try_on_params),
        (Backend::GeminiImage, m.gemini_params),
        (Backend::BedrockConverse, m.converse_params),
    ]
    .into_iter()
    .filter_map(|(b, v)| Some((b, v?)))
    .collect();
    let options = blocks.get(&backend).cloned();
    match (source_key, garment_key, problems.is_empty()) {
        (Some(source_key), Some(garment_key), true) => Ok(JobSpec {
            source_key,
            garment_key,
            mask_key,
            params,
            generation: m.image_generation_config,
            backend,
            chain,
            options,
            blocks,
            instruction: m.instruction,
            result_cache: m.result_cache.unwrap_or_default(),
        }),
        _ => Err(ManifestErrors(problems)),
    }
}

/// Nova Canvas' parameters as they are sent: the reference's defaults filled (`GARMENT`,
/// `UPPER_BODY`, `returnMask`) and the `imageBasedMask` image resolved in the job folder like
/// every other reference. The rules on combining them are Nova's own
/// (`crate::backends::nova::options`). Returns the parameters and the mask image's key.
fn nova_defaults(
    mut params: TryOnParams,
    job_folder: &str,
    problems: &mut Vec<String>,
) -> (TryOnParams, Option<String>) {
    let mask_type = params.mask_type.unwrap_or(MaskType::Garment);
    if mask_type == MaskType::Garment {
        let g = params.garment_based_mask.get_or_insert_with(GarmentBasedMask::default);
        g.garment_class.get_or_insert(GarmentClass::UpperBody);
    }
    let field = "virtualTryOnParams.imageBasedMask.maskImage";
    let mask_key = match &params.image_based_mask {
        Some(im) if mask_type == MaskType::Image => {
            resolve_reference(job_folder, field, &im.mask_image).map_err(|e| problems.push(e)).ok()
        }
        _ => None,
    };
    params.mask_type = Some(mask_type);
    params.return_mask = Some(params.return_mask.unwrap_or(true));
    (params, mask_key)
}

/// The ranges of `imageGenerationConfig` for `backend`, and the size fields try-on does not
/// take.
fn generation_problems(g: &GenerationConfig, backend: Backend) -> Vec<String> {
    let mut problems = Vec::new();
    let c = "imageGenerationConfig";
    if let Some(n) = g.number_of_images {
        let most = backend.max_images();
        if !(NUMBER_OF_IMAGES.start()..=&most).contains(&&n) {
            let per_call = match backend {
                Backend::NovaCanvas => String::new(),
                b => format!(" ({b} makes at most {most} per call; variants make more)"),
            };
            problems.push(format!("{c}.numberOfImages: {n} is out of range; use 1 to {most}{per_call}"));
        }
    }
    if let Some(s) = g.cfg_scale {
        if !CFG_SCALE.contains(&s) {
            problems.push(format!("{c}.cfgScale: {s} is out of range; use 1.1 to 10.0"));
        }
    }
    if let Some(s) = g.seed {
        if !SEED.contains(&s) {
            problems.push(format!("{c}.seed: {s} is out of range; use 0 to 2147483646"));
        }
    }
    for (given, name) in [(g.width.is_some(), "width"), (g.height.is_some(), "height")] {
        if given {
            problems
                .push(format!("{c}.{name}: not accepted for virtual try-on; the output takes the source image's size"));
        }
    }
    problems
}

/// Resolves an image reference inside the job folder. Anything that could name another
/// job's objects (`..`, absolute keys, URLs, backslashes) is rejected, never normalised.
pub fn resolve_reference(job_folder: &str, field: &str, name: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{field}: {name:?} {why}; name a file in the job folder, e.g. \"person.jpg\""));
    if name.is_empty() {
        return Err(format!("{field}: required; name a file in the job folder, e.g. \"person.jpg\""));
    }
    if name.len() > MAX_REFERENCE_BYTES {
        return bad(&format!("is longer than {MAX_REFERENCE_BYTES} bytes"));
    }
    if name.contains("://") || name.to_ascii_lowercase().starts_with("s3:") || name.starts_with("arn:") {
        return bad("is a URL or ARN; only keys inside the job folder are allowed");
    }
    if name.starts_with('/') {
        return bad("is absolute; references are relative to the job folder");
    }
    if name.contains('\\') || name.chars().any(char::is_control) {
        return bad("contains a backslash or control character");
    }
    if name.split('/').any(|s| s == ".." || s == "." || s.is_empty()) {
        return bad("has an empty, '.' or '..' path segment");
    }
    if name == MANIFEST_NAME {
        return bad("is the manifest itself");
    }
    Ok(format!("{job_folder}{name}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    const F: &str = "uploads/job 1/";

    fn check(v: serde_json::Value) -> Result<JobSpec, ManifestErrors> {
        parse(&serde_json::to_vec(&v).unwrap(), F, &[Backend::NovaCanvas])
    }

    fn err(v: serde_json::Value) -> String {
        check(v).unwrap_err().to_string()
    }

    #[test]
    fn minimal_manifest_gets_the_documented_defaults() {
        let s = check(json!({"source": "person.jpg", "garment": "hoodie.png"})).unwrap();
        assert_eq!(s.source_key, "uploads/job 1/person.jpg");
        assert_eq!(s.garment_key, "uploads/job 1/hoodie.png");
        assert_eq!(s.mask_key, None);
        assert_eq!(s.params.mask_type, Some(MaskType::Garment));
        assert_eq!(s.params.garment_based_mask.as_ref().unwrap().garment_class, Some(GarmentClass::UpperBody));
        assert_eq!(s.params.return_mask, Some(true));
        assert_eq!(s.params.merge_style, None);
        assert_eq!(s.params.mask_exclusions, None);
        assert_eq!(s.generation, GenerationConfig::default());
        assert_eq!(s.number_of_images(), 1);
    }

    #[test]
    fn full_example_from_the_readme_is_accepted_unchanged() {
        let v = json!({
          "source": "person.jpg", "garment": "hoodie.png",
          "virtualTryOnParams": {
            "maskType": "GARMENT",
            "garmentBasedMask": { "garmentClass": "UPPER_BODY", "maskShape": "DEFAULT",
              "garmentStyling": { "longSleeveStyle": "SLEEVE_DOWN", "tuckingStyle": "UNTUCKED", "outerLayerStyle": "OPEN" } },
            "maskExclusions": { "preserveBodyPose": "DEFAULT", "preserveHands": "DEFAULT", "preserveFace": "ON" },
            "mergeStyle": "SEAMLESS", "returnMask": true
          },
          "imageGenerationConfig": { "numberOfImages": 1, "quality": "premium", "cfgScale": 6.5, "seed": 42 }
        });
        let s = check(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&s.params).unwrap(), v["virtualTryOnParams"]);
        assert_eq!(serde_json::to_value(&s.generation).unwrap(), v["imageGenerationConfig"]);
    }

    #[test]
    fn every_enum_value_of_the_reference_parses() {
        assert_eq!(GarmentClass::ALL.len(), 18);
        for c in GarmentClass::ALL {
            let s = check(json!({"source": "a.jpg", "garment": "b.png",
                "virtualTryOnParams": {"garmentBasedMask": {"garmentClass": c.as_str()}}}))
            .unwrap();
            assert_eq!(s.params.garment_based_mask.unwrap().garment_class, Some(*c));
        }
        for shape in MaskShape::ALL {
            check(json!({"source": "a.jpg", "garment": "b.png", "virtualTryOnParams": {"maskType": "PROMPT",
                "promptBasedMask": {"maskPrompt": "the coat", "maskShape": shape.as_str()}}}))
            .unwrap();
        }
        for m in MergeStyle::ALL {
            check(json!({"source": "a.jpg", "garment": "b.png", "virtualTryOnParams": {"mergeStyle": m.as_str()}}))
                .unwrap();
        }
        for p in Preserve::ALL {
            check(json!({"source": "a.jpg", "garment": "b.png", "virtualTryOnParams": {"maskExclusions":
                {"preserveBodyPose": p.as_str(), "preserveHands": p.as_str(), "preserveFace": p.as_str()}}}))
            .unwrap();
        }
        for q in Quality::ALL {
            check(json!({"source": "a.jpg", "garment": "b.png", "imageGenerationConfig": {"quality": q.as_str()}}))
                .unwrap();
        }
    }

    #[test]
    fn result_cache_is_auto_unless_turned_off_and_strictly_checked() {
        let base = json!({"source": "a.jpg", "garment": "b.png"});
        assert_eq!(check(base.clone()).unwrap().result_cache, CacheMode::Auto);
        for (v, want) in [("auto", CacheMode::Auto), ("off", CacheMode::Off)] {
            let spec = check(json!({"source": "a.jpg", "garment": "b.png", "resultCache": v})).unwrap();
            assert_eq!(spec.result_cache, want);
        }
        let e = err(json!({"source": "a.jpg", "garment": "b.png", "resultCache": "OFF", "colour": 1}));
        assert!(e.contains("resultCache: unknown variant `OFF`, expected `auto` or `off`"), "{e}");
        assert!(e.contains("unknown field `colour`"), "every problem at once: {e}");
        let e = err(json!({"source": "a.jpg", "garment": "b.png", "resultCache": false}));
        assert!(e.contains("resultCache"), "{e}");
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let e = err(json!({"source": "a.jpg", "garment": "b.png", "colour": "red"}));
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = err(
            json!({"source": "a.jpg", "garment": "b.png", "virtualTryOnParams": {"garmentBasedMask": {"garmentClas": "UPPER_BODY"}}}),
        );
        assert!(e.contains("virtualTryOnParams.garmentBasedMask") && e.contains("`garmentClas`"), "{e}");
    }

    #[test]
    fn wrong_enum_values_are_named_with_their_path_and_choices() {
        let e = err(
            json!({"source": "a.jpg", "garment": "b.png", "virtualTryOnParams": {"garmentBasedMask": {"garmentClass": "TOP"}}}),
        );
        assert!(
            e.contains("virtualTryOnParams.garmentBasedMask.garmentClass")
                && e.contains("`TOP`")
                && e.contains("UPPER_BODY"),
            "{e}"
        );
        let e = err(json!({"source": "a.jpg", "garment": "b.png", "imageGenerationConfig": {"quality": "PREMIUM"}}));
        assert!(e.contains("imageGenerationConfig.quality") && e.contains("premium"), "{e}");
    }

    #[test]
    fn missing_required_fields_and_bad_json_are_reported() {
        assert!(err(json!({"garment": "b.png"})).contains("missing field `source`"));
        assert!(err(json!({"source": "a.jpg"})).contains("missing field `garment`"));
        let e = parse(b"{\"source\": ", F, &[Backend::NovaCanvas]).unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
        let e = parse(b"[1]", F, &[Backend::NovaCanvas]).unwrap_err().to_string();
        assert!(e.contains("must be a JSON object"), "{e}");
        assert!(parse(br#" ["a.jpg", "b.png"]"#, F, &[Backend::NovaCanvas]).is_err());
        assert!(
            parse(b"\xEF\xBB\xBF{\"source\": \"a.jpg\", \"garment\": \"b.png\"}", F, &[Backend::NovaCanvas]).is_ok()
        );
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes(), F, &[Backend::NovaCanvas]).is_err());
        let e = err(json!({"source": 5, "garment": "b.png"}));
        assert!(e.contains("source") && e.contains("invalid type"), "{e}");
    }

    /// Ways a file can hold more than one JSON document, each after a valid manifest.
    pub(crate) const TRAILING: &[(&str, &[u8])] = &[
        ("a second object", b"{\"source\": \"c.jpg\", \"garment\": \"d.png\"}"),
        ("an empty array", b"[]"),
        ("garbage", b"garbage"),
        ("NUL bytes", b"\0\0"),
        ("a stray brace", b"}"),
        ("a trailing comma", b","),
        ("a second BOM", b"\xEF\xBB\xBF"),
    ];

    #[test]
    fn anything_after_the_document_is_refused_as_invalid_json() {
        let doc = br#"{"source": "a.jpg", "garment": "b.png"}"#;
        for (what, tail) in TRAILING {
            for sep in [&b""[..], b" ", b"\n"] {
                let bytes = [&doc[..], sep, tail].concat();
                let e = parse(&bytes, F, &[Backend::NovaCanvas]).unwrap_err().to_string();
                assert!(
                    e.starts_with("is not valid JSON (unexpected data after the JSON document at line"),
                    "{what}: {e}"
                );
            }
        }
        let e = parse(&[&doc[..], b"\n\n  }"].concat(), F, &[Backend::NovaCanvas]).unwrap_err().to_string();
        assert!(e.ends_with("at line 3 column 3)"), "the position of the first byte after the document: {e}");
        let e = JobError::from(parse(&[&doc[..], b"x"].concat(), F, &[Backend::NovaCanvas]).unwrap_err());
        assert_eq!(e.code, ErrorCode::InvalidManifest);
        assert!(e.message.starts_with("job.json: is not valid JSON (unexpected data after"), "{}", e.message);
    }

    #[test]
    fn whitespace_around_the_document_and_one_bom_are_accepted() {
        let doc = r#"{"source": "a.jpg", "garment": "b.png"}"#;
        for text in [format!(" \r\n\t{doc}\n \t\r\n"), format!("\u{feff}{doc}"), format!("\u{feff}\n{doc}\n")] {
            assert!(parse(text.as_bytes(), F, &[Backend::NovaCanvas]).is_ok(), "{text:?}");
            assert!(parse_object(text.as_bytes()).is_ok(), "{text:?}");
        }
        let e = parse(format!("\u{feff}\u{feff}{doc}").as_bytes(), F, &[Backend::NovaCanvas]).unwrap_err().to_string();
        assert!(e.contains("not valid JSON") && e.contains("more than one byte-order mark"), "{e}");
        assert!(parse_object(format!("\u{feff}\u{feff}{doc}").as_bytes()).is_err());
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_even_where_serde_would_skip_it() {
        let e = parse(b"{\"source\": \"a.jpg\", \"garment\": \"b.png\", \"x\": \"\xFF\"}", F, &[Backend::NovaCanvas])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "is not valid JSON (not UTF-8 text at byte 46; save it as UTF-8)");
        let e = parse(b"\xEF\xBB\xBF{\"source\": \"\xC3\"}", F, &[Backend::NovaCanvas]).unwrap_err().to_string();
        assert!(e.contains("at byte 15;"), "the offset counts the BOM: {e}");
        let utf16: Vec<u8> = "\u{feff}{}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(parse(&utf16, F, &[Backend::NovaCanvas]).unwrap_err().to_string().contains("not UTF-8"));
    }

    #[test]
    fn a_field_problem_and_trailing_data_are_both_reported() {
        let e = parse(br#"{"source": "a.jpg", "garment": "b.png", "colour": 1} {}"#, F, &[Backend::NovaCanvas])
            .unwrap_err();
        assert_eq!(e.0.len(), 2, "{e}");
        assert!(e.0[0].contains("unknown field `colour`") && e.0[1].contains("unexpected data after"), "{e}");
        let e = parse(br#"{"source": "a.jpg", "garment": 5} x"#, F, &[Backend::NovaCanvas]).unwrap_err().to_string();
        assert!(e.contains("garment: invalid type") && e.contains("unexpected data after"), "{e}");
    }

    #[test]
    fn structural_and_range_problems_are_reported_together() {
        let e = check(json!({"garment": "b.png", "imageGenerationConfig": {"numberOfImages": 9, "cfgScale": 20},
            "virtualTryOnParams": {"mergeStyle": "SOFT"}, "colour": "red"}))
        .unwrap_err();
        let all = e.0.join("\n");
        for part in [
            "missing field `source`",
            "numberOfImages: 9 is out of range",
            "cfgScale: 20 is out of range",
            "virtualTryOnParams.mergeStyle: unknown variant `SOFT`",
            "unknown field `colour`",
        ] {
            assert!(all.contains(part), "{part} missing from:\n{all}");
        }
        assert_eq!(e.0.len(), 5, "{all}");
        // One problem keeps serde's own message.
        assert_eq!(check(json!({"source": "a.jpg"})).unwrap_err().0, ["missing field `garment`"]);
    }

    #[test]
    fn ranges_are_enforced_and_all_problems_reported_at_once() {
        let e = err(json!({"source": "a.jpg", "garment": "b.png", "imageGenerationConfig":
            {"numberOfImages": 6, "cfgScale": 10.5, "seed": 2147483647}}));
        assert!(e.contains("numberOfImages: 6 is out of range"), "{e}");
        assert!(e.contains("cfgScale: 10.5 is out of range"), "{e}");
        assert!(e.contains("seed: 2147483647 is out of range"), "{e}");
        for ok in [
            json!({"numberOfImages": 5, "cfgScale": 1.1, "seed": 0}),
            json!({"numberOfImages": 1, "cfgScale": 10.0, "seed": 2147483646}),
        ] {
            check(json!({"source": "a.jpg", "garment": "b.png", "imageGenerationConfig": ok})).unwrap();
        }
        for bad in [
            json!({"numberOfImages": 0}),
            json!({"cfgScale": 1.0}),
            json!({"seed": -1}),
            json!({"numberOfImages": -1}),
            json!({"numberOfImages": 1.5}),
        ] {
            assert!(
                check(json!({"source": "a.jpg", "garment": "b.png", "imageGenerationConfig": bad.clone()})).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn width_and_height_are_refused_with_the_reason() {
        let e = err(
            json!({"source": "a.jpg", "garment": "b.png", "imageGenerationConfig": {"width": 1024, "height": 1024}}),
        );
        assert!(
            e.contains("width: not accepted")
                && e.contains("height: not accepted")
                && e.contains("source image's size"),
            "{e}"
        );
    }

    #[test]
    fn references_cannot_leave_the_job_folder() {
        for bad in [
            "../other/person.jpg",
            "/uploads/x/a.jpg",
            "s3://bucket/a.jpg",
            "S3://b/a.jpg",
            "a/../../b.jpg",
            "./a.jpg",
            "a//b.jpg",
            "a\\..\\b.jpg",
            "",
            "job.json",
            "https://example.com/a.jpg",
            "a\u{0}.jpg",
            "arn:aws:s3:::b/a.jpg",
        ] {
            let e = err(json!({"source": bad, "garment": "b.png"}));
            assert!(e.starts_with("source: "), "{bad:?}: {e}");
        }
        let long = "a".repeat(600);
        assert!(err(json!({"source": long, "garment": "b.png"})).contains("longer than"));
        let s = check(json!({"source": "people/ana maría.jpg", "garment": "衣服.png"})).unwrap();
        assert_eq!(s.source_key, "uploads/job 1/people/ana maría.jpg");
        assert_eq!(s.garment_key, "uploads/job 1/衣服.png");
    }
}
