//! Nova Canvas' own rules on `virtualTryOnParams` (reference §2): the mask type's block
//! required, the other blocks refused, styling only for upper-body garments, the mask prompt's
//! length. The defaults are filled by the manifest before these run.

use crate::core::manifest::{BodyRegion, GarmentStyling, JobSpec, MaskType};

/// Longest `promptBasedMask.maskPrompt` (reference §2.3).
pub const MAX_MASK_PROMPT_CHARS: usize = 1024;

/// Every problem with the parameters of `spec`, each as `path: what to fix`.
pub fn check(spec: &JobSpec) -> Vec<String> {
    let params = &spec.params;
    let mut problems = Vec::new();
    let mask_type = params.mask_type.unwrap_or(MaskType::Garment);
    let p = "virtualTryOnParams";
    match mask_type {
        MaskType::Garment => {
            if let Some(g) = &params.garment_based_mask {
                let styled = g.garment_styling.as_ref().is_some_and(|s| s != &GarmentStyling::default());
                let class = g.garment_class.unwrap_or(crate::core::manifest::GarmentClass::UpperBody);
                if styled && matches!(class.region(), BodyRegion::Lower | BodyRegion::Feet) {
                    problems.push(format!(
                        "{p}.garmentBasedMask.garmentStyling: applies to upper-body garments only, not garmentClass {}",
                        class.as_str()
                    ));
                }
            }
        }
        MaskType::Prompt => match &params.prompt_based_mask {
            None => problems.push(format!("{p}.promptBasedMask: required when maskType is PROMPT (give maskPrompt)")),
            Some(pm) if pm.mask_prompt.trim().is_empty() => problems.push(format!(
                "{p}.promptBasedMask.maskPrompt: required; describe the item to replace, e.g. \"the jacket\""
            )),
            Some(pm) if pm.mask_prompt.chars().count() > MAX_MASK_PROMPT_CHARS => {
                problems.push(format!("{p}.promptBasedMask.maskPrompt: at most {MAX_MASK_PROMPT_CHARS} characters"))
            }
            Some(_) => {}
        },
        MaskType::Image if params.image_based_mask.is_none() => problems.push(format!(
            "{p}.imageBasedMask: required when maskType is IMAGE (give maskImage, a key in the job folder)"
        )),
        MaskType::Image => {}
    }
    let mt = mask_type.as_str();
    for (present, name, wanted) in [
        (params.garment_based_mask.is_some(), "garmentBasedMask", MaskType::Garment),
        (params.prompt_based_mask.is_some(), "promptBasedMask", MaskType::Prompt),
        (params.image_based_mask.is_some(), "imageBasedMask", MaskType::Image),
    ] {
        if present && mask_type != wanted {
            problems.push(format!("{p}.{name}: only allowed when maskType is {} (maskType is {mt})", wanted.as_str()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::Backend;
    use crate::core::manifest;
    use serde_json::json;

    /// Every problem the manifest and Nova's rules find, one per line.
    fn err(v: serde_json::Value) -> String {
        match manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/job 1/", &[Backend::NovaCanvas]) {
            Ok(spec) => check(&spec).join("\n"),
            Err(e) => e.0.join("\n"),
        }
    }

    fn check_ok(v: serde_json::Value) -> Result<JobSpec, String> {
        let spec = manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/job 1/", &[Backend::NovaCanvas])
            .map_err(|e| e.0.join("\n"))?;
        match check(&spec).as_slice() {
            [] => Ok(spec),
            problems => Err(problems.join("\n")),
        }
    }

    #[test]
    fn mask_type_combinations() {
        let base = |p: serde_json::Value| json!({"source": "a.jpg", "garment": "b.png", "virtualTryOnParams": p});
        assert!(err(base(json!({"maskType": "PROMPT"}))).contains("promptBasedMask: required"));
        assert!(err(base(json!({"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": "  "}})))
            .contains("maskPrompt: required"));
        assert!(err(base(json!({"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": "x".repeat(1025)}})))
            .contains("at most 1024"));
        assert!(err(base(json!({"maskType": "IMAGE"}))).contains("imageBasedMask: required"));
        let e = err(base(json!({"promptBasedMask": {"maskPrompt": "coat"}})));
        assert!(e.contains("promptBasedMask: only allowed when maskType is PROMPT (maskType is GARMENT)"), "{e}");
        let e = err(base(
            json!({"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": "coat"}, "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
        ));
        assert!(e.contains("garmentBasedMask: only allowed when maskType is GARMENT"), "{e}");
        let e = err(base(
            json!({"maskType": "IMAGE", "imageBasedMask": {"maskImage": "m.png"}, "promptBasedMask": {"maskPrompt": "x"}}),
        ));
        assert!(e.contains("promptBasedMask: only allowed"), "{e}");
        let e = err(base(
            json!({"garmentBasedMask": {"garmentClass": "LONG_PANTS", "garmentStyling": {"tuckingStyle": "TUCKED"}}}),
        ));
        assert!(e.contains("upper-body garments only"), "{e}");

        let s = check_ok(base(json!({"maskType": "IMAGE", "imageBasedMask": {"maskImage": "masks/m.png"}}))).unwrap();
        assert_eq!(s.mask_key.as_deref(), Some("uploads/job 1/masks/m.png"));
        assert_eq!(s.params.garment_based_mask, None);
        let s = check_ok(base(
            json!({"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": "the coat"}, "returnMask": false}),
        ))
        .unwrap();
        assert_eq!(s.params.garment_based_mask, None);
        assert!(!s.return_mask());
    }
}
