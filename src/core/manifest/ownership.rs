//! Which manifest fields belong to which backend: a field of another backend is refused by
//! name, saying which backend takes it, and the instruction of prompt-based backends is
//! checked here. Each backend checks the inside of its own block ([`crate::backends`]).

use super::fields::{BodyRegion, GarmentStyling, Instruction, Manifest, TryOnParams};
use crate::core::backend::Backend;

/// Longest `instruction.prompt`.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Longest `instruction.garmentDescription`.
pub const MAX_GARMENT_DESCRIPTION_CHARS: usize = 300;

/// Refuses every option `backend` does not take, naming the backend that would.
pub(super) fn check_fit(m: &Manifest, backend: Backend, problems: &mut Vec<String>) {
    let mut refuse = |field: &str, owner: &str| {
        problems.push(format!(
            "{field}: {owner} option; the {backend} backend does not take it (remove it, or choose a backend that does)"
        ))
    };
    let nova = Backend::NovaCanvas;
    if backend != nova && m.virtual_try_on_params != TryOnParams::default() {
        refuse("virtualTryOnParams", "a nova-canvas");
    }
    let g = &m.image_generation_config;
    if backend != nova && g.quality.is_some() {
        refuse("imageGenerationConfig.quality", "a nova-canvas");
    }
    if backend != nova && g.cfg_scale.is_some() {
        refuse("imageGenerationConfig.cfgScale", "a nova-canvas");
    }
    if !backend.takes_seed() && g.seed.is_some() {
        refuse("imageGenerationConfig.seed", "a nova-canvas, vertex-vto and gemini-image");
    }
    for (given, field, owner) in [
        (m.vertex_try_on_params.is_some(), "vertexTryOnParams", Backend::VertexVto),
        (m.gemini_params.is_some(), "geminiParams", Backend::GeminiImage),
        (m.converse_params.is_some(), "converseParams", Backend::BedrockConverse),
    ] {
        if given && backend != owner {
            refuse(field, &format!("a {owner}"));
        }
    }
    match &m.instruction {
        Some(_) if !backend.prompt_based() => refuse("instruction", "a gemini-image and bedrock-converse"),
        Some(i) => check_instruction(i, problems),
        None => {}
    }
}

fn check_instruction(i: &Instruction, problems: &mut Vec<String>) {
    if let Some(p) = &i.prompt {
        if p.trim().is_empty() {
            problems.push("instruction.prompt: empty; write the instruction, or leave prompt out to have it written from the garment".into());
        } else if p.chars().count() > MAX_PROMPT_CHARS {
            problems.push(format!("instruction.prompt: at most {MAX_PROMPT_CHARS} characters"));
        }
        if i.garment_class.is_some() || i.garment_styling.is_some() || i.garment_description.is_some() {
            problems.push("instruction.prompt: replaces the written instruction; garmentClass, garmentStyling and garmentDescription would be ignored, so give either prompt or those".into());
        }
    }
    if let Some(d) = &i.garment_description {
        if d.trim().is_empty() || d.chars().count() > MAX_GARMENT_DESCRIPTION_CHARS {
            problems.push(format!("instruction.garmentDescription: 1 to {MAX_GARMENT_DESCRIPTION_CHARS} characters"));
        }
    }
    if let (Some(class), Some(styling)) = (i.garment_class, &i.garment_styling) {
        if class.region() != BodyRegion::Upper
            && class.region() != BodyRegion::Full
            && styling != &GarmentStyling::default()
        {
            problems.push(format!(
                "instruction.garmentStyling: applies to upper-body garments only, not garmentClass {}",
                class.as_str()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use crate::core::backend::Backend;

    fn problems(v: serde_json::Value, default: Backend) -> Vec<String> {
        match parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", default) {
            Ok(_) => vec![],
            Err(e) => e.0,
        }
    }

    #[test]
    fn another_backends_options_are_refused_by_name_saying_who_takes_them() {
        let p = problems(
            serde_json::json!({
                "source": "p.jpg", "garment": "g.png", "backend": "gemini-image",
                "virtualTryOnParams": {"mergeStyle": "SEAMLESS"},
                "imageGenerationConfig": {"quality": "premium", "cfgScale": 5.0},
                "vertexTryOnParams": {"baseSteps": 40},
                "converseParams": {"temperature": 0.2}
            }),
            Backend::NovaCanvas,
        );
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(p[0].starts_with("virtualTryOnParams: a nova-canvas option; the gemini-image backend"), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("imageGenerationConfig.quality: a nova-canvas option")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("imageGenerationConfig.cfgScale: a nova-canvas option")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("vertexTryOnParams: a vertex-vto option")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("converseParams: a bedrock-converse option")), "{p:?}");
    }

    #[test]
    fn the_deployment_default_applies_when_the_manifest_names_no_backend() {
        let m = serde_json::json!({"source": "p.jpg", "garment": "g.png", "geminiParams": {"imageSize": "2K"}});
        assert!(problems(m.clone(), Backend::GeminiImage).is_empty());
        let p = problems(m, Backend::NovaCanvas);
        assert_eq!(p, ["geminiParams: a gemini-image option; the nova-canvas backend does not take it (remove it, or choose a backend that does)"]);
        let p = problems(
            serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": "dall-e"}),
            Backend::NovaCanvas,
        );
        assert!(p[0].contains("unknown variant `dall-e`") && p[0].contains("vertex-vto"), "{p:?}");
    }

    #[test]
    fn number_of_images_and_seed_follow_each_backend() {
        let m = |backend: &str, n: u32| serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": backend, "imageGenerationConfig": {"numberOfImages": n}});
        assert!(problems(m("nova-canvas", 5), Backend::NovaCanvas).is_empty());
        assert!(problems(m("vertex-vto", 4), Backend::NovaCanvas).is_empty());
        let p = problems(m("vertex-vto", 5), Backend::NovaCanvas);
        assert!(p[0].contains("use 1 to 4 (vertex-vto makes at most 4 per call; variants make more)"), "{p:?}");
        let p = problems(m("gemini-image", 2), Backend::NovaCanvas);
        assert!(p[0].contains("use 1 to 1"), "{p:?}");
        let seeded = serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": "bedrock-converse", "imageGenerationConfig": {"seed": 7}});
        let p = problems(seeded, Backend::NovaCanvas);
        assert!(p[0].starts_with("imageGenerationConfig.seed: a nova-canvas, vertex-vto and gemini-image option; the bedrock-converse backend"), "{p:?}");
    }

    #[test]
    fn the_instruction_belongs_to_prompt_based_backends_and_is_checked() {
        let m = |backend: &str, i: serde_json::Value| serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": backend, "instruction": i});
        let p = problems(m("vertex-vto", serde_json::json!({"prompt": "x"})), Backend::NovaCanvas);
        assert!(
            p[0].starts_with("instruction: a gemini-image and bedrock-converse option; the vertex-vto backend"),
            "{p:?}"
        );
        assert!(problems(
            m("bedrock-converse", serde_json::json!({"garmentClass": "LONG_DRESS"})),
            Backend::NovaCanvas
        )
        .is_empty());
        let p = problems(m("gemini-image", serde_json::json!({"prompt": " "})), Backend::NovaCanvas);
        assert!(p[0].starts_with("instruction.prompt: empty"), "{p:?}");
        let p = problems(m("gemini-image", serde_json::json!({"prompt": "x".repeat(2001)})), Backend::NovaCanvas);
        assert_eq!(p, ["instruction.prompt: at most 2000 characters"]);
        let p = problems(
            m("gemini-image", serde_json::json!({"prompt": "x", "garmentClass": "SHOES"})),
            Backend::NovaCanvas,
        );
        assert!(p[0].contains("give either prompt or those"), "{p:?}");
        let p = problems(
            m(
                "gemini-image",
                serde_json::json!({"garmentClass": "SHOES", "garmentStyling": {"tuckingStyle": "TUCKED"}}),
            ),
            Backend::NovaCanvas,
        );
        assert_eq!(p, ["instruction.garmentStyling: applies to upper-body garments only, not garmentClass SHOES"]);
        let p = problems(m("gemini-image", serde_json::json!({"colour": "red"})), Backend::NovaCanvas);
        assert!(p[0].starts_with("instruction.colour: unknown field `colour`"), "{p:?}");
    }
}
