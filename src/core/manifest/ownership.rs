//! Which manifest fields belong to which backend: a field of another backend is refused by
//! name, saying which backend takes it, and the instruction of prompt-based backends is
//! checked here. Each backend checks the inside of its own block ([`crate::backends`]).

use super::fields::{BodyRegion, GarmentStyling, Instruction, Manifest, TryOnParams};
use crate::core::backend::Backend;

/// Longest `instruction.prompt`.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Longest `instruction.garmentDescription`.
pub const MAX_GARMENT_DESCRIPTION_CHARS: usize = 300;

/// Refuses every option no backend of the chain takes, naming the backend that would.
/// Each option goes only to the backends that take it.
pub(super) fn check_fit(m: &Manifest, chain: &[Backend], problems: &mut Vec<String>) {
    let names: Vec<&str> = chain.iter().map(|b| b.name()).collect();
    let who = match names.as_slice() {
        [one] => format!("the {one} backend does not"),
        many => format!("none of the chain's backends ({}) does", many.join(", ")),
    };
    let mut refuse = |field: &str, owner: &str| {
        problems.push(format!("{field}: {owner} option; {who} take it (remove it, or choose a backend that does)"))
    };
    let has = |b: Backend| chain.contains(&b);
    let nova = has(Backend::NovaCanvas);
    if !nova && m.virtual_try_on_params != TryOnParams::default() {
        refuse("virtualTryOnParams", "a nova-canvas");
    }
    let g = &m.image_generation_config;
    if !nova && g.quality.is_some() {
        refuse("imageGenerationConfig.quality", "a nova-canvas");
    }
    if !nova && g.cfg_scale.is_some() {
        refuse("imageGenerationConfig.cfgScale", "a nova-canvas");
    }
    if !chain.iter().any(|b| b.takes_seed()) && g.seed.is_some() {
        refuse("imageGenerationConfig.seed", "a nova-canvas, vertex-vto and gemini-image");
    }
    for (given, field, owner) in [
        (m.vertex_try_on_params.is_some(), "vertexTryOnParams", Backend::VertexVto),
        (m.gemini_params.is_some(), "geminiParams", Backend::GeminiImage),
        (m.converse_params.is_some(), "converseParams", Backend::BedrockConverse),
    ] {
        if given && !has(owner) {
            refuse(field, &format!("a {owner}"));
        }
    }
    match &m.instruction {
        Some(_) if !chain.iter().any(|b| b.prompt_based()) => {
            refuse("instruction", "a gemini-image and bedrock-converse")
        }
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
        match parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[default]) {
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
        assert!(p[0].contains("unknown backend \"dall-e\"") && p[0].contains("vertex-vto"), "{p:?}");
    }

    #[test]
    fn a_chain_takes_what_any_of_its_backends_takes_and_what_each_can_make() {
        let m = serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": ["vertex-vto", "gemini-image"],
            "vertexTryOnParams": {"baseSteps": 40}, "geminiParams": {"imageSize": "2K"}, "instruction": {"garmentClass": "UPPER_BODY"}});
        assert!(problems(m, Backend::NovaCanvas).is_empty());
        let nova_only = serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": ["vertex-vto", "gemini-image"],
            "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}});
        let p = problems(nova_only, Backend::NovaCanvas);
        assert!(p[0].starts_with("virtualTryOnParams: a nova-canvas option; none of the chain's backends (vertex-vto, gemini-image) does take it"), "{p:?}");
        // Every backend of the chain may serve: the count must fit each.
        let four = serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": ["vertex-vto", "gemini-image"],
            "imageGenerationConfig": {"numberOfImages": 4}});
        let p = problems(four, Backend::NovaCanvas);
        assert!(p.iter().any(|x| x.contains("gemini-image makes at most 1 per call")), "{p:?}");
        for bad in [serde_json::json!([]), serde_json::json!(["gemini-image", "gemini-image"]), serde_json::json!(7)] {
            let m = serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": bad});
            assert!(problems(m, Backend::NovaCanvas)[0].starts_with("backend: "), "{bad}");
        }
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
