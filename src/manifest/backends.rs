//! Which manifest fields belong to which backend: a field of another backend is refused by
//! name, saying which backend takes it, and the instruction of prompt-based backends is
//! checked here. Each backend checks the inside of its own block ([`crate::backend`]).

use serde::{Deserialize, Serialize};

use super::{GarmentClass, GarmentStyling, Manifest, TryOnParams};
use crate::catalog::Backend;

/// Longest `instruction.prompt`.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Longest `instruction.garmentDescription`.
pub const MAX_GARMENT_DESCRIPTION_CHARS: usize = 300;

/// `instruction`: what prompt-based backends are told. Without `prompt`, the function
/// writes the instruction from the garment class, styling and description.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Instruction {
    /// The whole instruction, sent as given (the images come first: person, then garment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What the garment is, in Nova Canvas' classes (`UPPER_BODY`, `LONG_DRESS`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_class: Option<GarmentClass>,
    /// How an upper-body garment is worn, in Nova Canvas' terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_styling: Option<GarmentStyling>,
    /// A few words on the garment ("a red wool hoodie").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garment_description: Option<String>,
}

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
        if class.region() != super::BodyRegion::Upper
            && class.region() != super::BodyRegion::Full
            && styling != &GarmentStyling::default()
        {
            problems.push(format!(
                "instruction.garmentStyling: applies to upper-body garments only, not garmentClass {}",
                class.as_str()
            ));
        }
    }
}
