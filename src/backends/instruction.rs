//! The words prompt-based backends (`gemini-image`, `bedrock-converse`) are given: the
//! manifest's own `instruction.prompt`, or an instruction written from the garment's class,
//! styling and description, after Google's virtual try-on recipe (person first, garment
//! second, then the text; images named by position; what must not change said plainly).

use crate::core::manifest::{
    BodyRegion, GarmentClass, GarmentStyling, JobSpec, LongSleeveStyle, OuterLayerStyle, TuckingStyle,
};

/// The instruction for `spec`, sent after the person's and the garment's images.
pub fn instruction(spec: &JobSpec) -> String {
    let i = spec.instruction.clone().unwrap_or_default();
    if let Some(p) = i.prompt {
        return p.trim().to_owned();
    }
    let garment = match (&i.garment_description, i.garment_class) {
        (Some(d), _) => d.trim().to_owned(),
        (None, Some(c)) => format!("the {}", noun(c)),
        (None, None) => "the garment".to_owned(),
    };
    let mut s = format!(
        "Dress the person in the first image in {garment} shown in the second image, as a realistic photograph."
    );
    if let Some(region) = i.garment_class.map(GarmentClass::region) {
        s.push(' ');
        s.push_str(replaces(region));
    }
    for sentence in i.garment_styling.as_ref().map(styling).unwrap_or_default() {
        s.push(' ');
        s.push_str(sentence);
    }
    for sentence in [
        "Keep the person's face, identity, hair, body shape, pose and hands, and the background, exactly as they are in the first image.",
        "Keep the garment's colours, pattern, logos and fabric as they are in the second image, fitted to the person's body with natural folds, lighting and shadows.",
        "Answer with one image with the same framing and aspect ratio as the first image.",
    ] {
        s.push(' ');
        s.push_str(sentence);
    }
    s
}

fn noun(c: GarmentClass) -> &'static str {
    use GarmentClass::*;
    match c {
        UpperBody | OtherUpperBody => "top",
        LongSleeveShirt => "long-sleeved shirt",
        ShortSleeveShirt => "short-sleeved shirt",
        NoSleeveShirt => "sleeveless top",
        LowerBody | OtherLowerBody => "bottoms",
        LongPants => "trousers",
        ShortPants => "shorts",
        FullBody | OtherFullBody => "outfit",
        LongDress => "long dress",
        ShortDress => "short dress",
        FullBodyOutfit => "full outfit",
        Footwear | OtherFootwear => "footwear",
        Shoes => "shoes",
        Boots => "boots",
    }
}

fn replaces(region: BodyRegion) -> &'static str {
    match region {
        BodyRegion::Upper => "Replace only the clothing on the upper body; keep the trousers, skirt and shoes.",
        BodyRegion::Lower => "Replace only the clothing on the lower body; keep the top and the shoes.",
        BodyRegion::Full => "Replace the clothing from the shoulders down; keep the shoes.",
        BodyRegion::Feet => "Replace only the footwear; keep all the clothing.",
    }
}

fn styling(s: &GarmentStyling) -> Vec<&'static str> {
    let mut out = Vec::new();
    match s.long_sleeve_style {
        Some(LongSleeveStyle::SleeveUp) => out.push("Roll the sleeves up to the forearms."),
        Some(LongSleeveStyle::SleeveDown) => out.push("Wear the sleeves down to the wrists."),
        None => {}
    }
    match s.tucking_style {
        Some(TuckingStyle::Tucked) => out.push("Tuck the top into the waistband."),
        Some(TuckingStyle::Untucked) => out.push("Leave the top untucked."),
        None => {}
    }
    match s.outer_layer_style {
        Some(OuterLayerStyle::Open) => out.push("Wear it open, unbuttoned and unzipped."),
        Some(OuterLayerStyle::Closed) => out.push("Wear it closed, buttoned or zipped."),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::Backend;

    fn spec(v: serde_json::Value) -> JobSpec {
        crate::core::manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[Backend::GeminiImage]).unwrap()
    }

    #[test]
    fn a_given_prompt_is_sent_as_it_is() {
        let s = spec(
            serde_json::json!({"source": "p.jpg", "garment": "g.png", "instruction": {"prompt": "  Put the coat on her.  "}}),
        );
        assert_eq!(instruction(&s), "Put the coat on her.");
    }

    #[test]
    fn the_written_instruction_names_the_images_by_position_and_says_what_stays() {
        let s = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png"}));
        let t = instruction(&s);
        assert!(t.starts_with("Dress the person in the first image in the garment shown in the second image"), "{t}");
        assert!(t.contains("face") && t.contains("pose") && t.contains("background"), "{t}");
        assert!(t.contains("same framing"), "{t}");
        // Sentences are separated by one space, never run together.
        assert!(!t.contains(".K") && !t.contains(".A") && !t.contains("  "), "{t}");
    }

    #[test]
    fn class_styling_and_description_are_written_out() {
        let s = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "instruction": {
            "garmentClass": "LONG_SLEEVE_SHIRT",
            "garmentStyling": {"longSleeveStyle": "SLEEVE_UP", "tuckingStyle": "TUCKED", "outerLayerStyle": "OPEN"}
        }}));
        let t = instruction(&s);
        assert!(t.contains("the long-sleeved shirt shown in the second image"), "{t}");
        assert!(t.contains("upper body") && t.contains("Roll the sleeves up") && t.contains("Tuck the top"), "{t}");
        assert!(t.contains("Wear it open"), "{t}");
        let s = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "instruction": {
            "garmentClass": "BOOTS", "garmentDescription": "the brown leather boots"
        }}));
        let t = instruction(&s);
        assert!(t.contains("in the brown leather boots shown") && t.contains("only the footwear"), "{t}");
    }
}
