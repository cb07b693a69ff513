//! The `:generateContent` body (reference §2): one user turn of the person's image, the
//! garment's image and the instruction, in that order, as Google's try-on recipe has it.

use serde::Serialize;

use super::options::{AspectRatio, Options, PersonGeneration, ThinkingLevel, Threshold, BLOCK};
use crate::backends::body::{body_with_images, image_placeholder};
use crate::backends::google_common::checked_block;
use crate::backends::try_on::RequestImages;
use crate::core::error::JobError;
use crate::core::manifest::JobSpec;

/// The harm categories `safetyThreshold` applies to: the four of the v1 API that judge
/// pictures. `HARM_CATEGORY_JAILBREAK` is about prompt attacks, not pictures; the
/// `HARM_CATEGORY_IMAGE_*` names exist only in the SDK (v1beta1), not in the v1 proto, so
/// the v1 endpoint could refuse them (reference §2).
const HARM_CATEGORIES: [&str; 4] = [
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    contents: [Content<'a>; 1],
    generation_config: GenerationConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    safety_settings: Vec<SafetySetting>,
}

#[derive(Serialize)]
struct Content<'a> {
    role: &'static str,
    parts: [Part<'a>; 3],
}

/// A `text` or an `inlineData` part.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_data: Option<InlineData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InlineData {
    mime_type: &'static str,
    /// An image placeholder of [`body_with_images`].
    data: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    response_modalities: [&'static str; 2],
    candidate_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    image_config: ImageConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageConfig {
    aspect_ratio: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_size: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    person_generation: Option<PersonGeneration>,
    image_output_options: OutputOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputOptions {
    mime_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    thinking_level: ThinkingLevel,
}

#[derive(Serialize)]
struct SafetySetting {
    category: &'static str,
    threshold: Threshold,
}

/// The body for these images and `instruction`. Only what the manifest gave is sent,
/// except: `TEXT` and `IMAGE` modalities (so a refusal can say why in words, §6), one
/// candidate (all 3.x models take only one), PNG output (lossless, so the result is encoded
/// once, by us), and always an aspect ratio. Without one the output follows "the input's
/// size" (§2), but with two inputs Google does not say which, and the garment photo's
/// shape must not decide the person's picture: when the manifest gives none, the offered
/// ratio closest to the source keeps the person's framing.
pub fn request_body(spec: &JobSpec, images: RequestImages<'_>, instruction: &str) -> Result<Vec<u8>, JobError> {
    let o: Options = checked_block(BLOCK, spec.options.as_ref())?;
    let source = images.source;
    let aspect = o.aspect_ratio.unwrap_or_else(|| AspectRatio::closest(source.width, source.height));
    let image = |i: usize, mime| Part {
        inline_data: Some(InlineData { mime_type: mime, data: image_placeholder(i) }),
        text: None,
    };
    let body = Body {
        contents: [Content {
            role: "user",
            parts: [
                image(0, source.mime),
                image(1, images.reference.mime),
                Part { inline_data: None, text: Some(instruction) },
            ],
        }],
        generation_config: GenerationConfig {
            response_modalities: ["TEXT", "IMAGE"],
            candidate_count: 1,
            seed: spec.generation.seed,
            temperature: o.temperature,
            image_config: ImageConfig {
                aspect_ratio: aspect.name(),
                image_size: o.image_size.map(|s| s.as_str()),
                person_generation: o.person_generation,
                image_output_options: OutputOptions { mime_type: "image/png" },
            },
            thinking_config: o.thinking_level.map(|thinking_level| ThinkingConfig { thinking_level }),
        },
        safety_settings: o
            .safety_threshold
            .map(|threshold| Vec::from(HARM_CATEGORIES.map(|category| SafetySetting { category, threshold })))
            .unwrap_or_default(),
    };
    body_with_images(&body, &[source.bytes, images.reference.bytes])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::gemini::tests::spec;
    use crate::backends::gemini::GeminiImage;
    use crate::backends::{instruction, EncodedImage, TryOn};
    use serde_json::json;

    fn images(width: u32, height: u32) -> RequestImages<'static> {
        RequestImages {
            source: EncodedImage { bytes: b"SOURCE", mime: "image/jpeg", width, height },
            reference: EncodedImage { bytes: b"GARMENT", mime: "image/png", width: 300, height: 900 },
            mask: None,
        }
    }

    #[test]
    fn body_matches_golden_files() {
        let cases = crate::backends::golden_cases("gemini-image");
        assert!(cases.len() >= 3, "expected golden cases, found {}", cases.len());
        for (name, manifest, want) in cases {
            let s = spec(manifest);
            assert_eq!(GeminiImage.check_options(&s), Vec::<String>::new(), "golden {name}");
            let req = GeminiImage.request(&s, images(640, 480)).unwrap();
            let got: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(got, want, "golden {name}");
            assert_eq!(req.instruction.as_deref(), want["contents"][0]["parts"][2]["text"].as_str(), "{name}");
            let text = String::from_utf8(req.body).unwrap();
            let start =
                r#"{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/jpeg","data":"U09VUkNF"}}"#;
            assert!(text.starts_with(start), "{name}");
        }
    }

    fn body(manifest: serde_json::Value, width: u32, height: u32) -> serde_json::Value {
        let req = GeminiImage.request(&spec(manifest), images(width, height)).unwrap();
        serde_json::from_slice(&req.body).unwrap()
    }

    #[test]
    fn the_written_instruction_is_sent_after_the_images_and_recorded() {
        let m = json!({"source": "p.jpg", "garment": "g.png", "instruction": {"garmentClass": "LONG_DRESS"}});
        let s = spec(m.clone());
        let req = GeminiImage.request(&s, images(640, 480)).unwrap();
        let want = instruction::instruction(&s);
        assert!(want.contains("long dress"), "{want}");
        assert_eq!(req.instruction.as_deref(), Some(want.as_str()));
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(v["contents"][0]["parts"][2]["text"], want.as_str());
        assert_eq!(v["contents"][0]["parts"][1]["inlineData"]["data"], "R0FSTUVOVA==");
    }

    #[test]
    fn without_a_ratio_the_sources_framing_is_kept() {
        let m = json!({"source": "p.jpg", "garment": "g.png"});
        assert_eq!(body(m.clone(), 480, 640)["generationConfig"]["imageConfig"]["aspectRatio"], "3:4");
        assert_eq!(body(m.clone(), 1080, 1920)["generationConfig"]["imageConfig"]["aspectRatio"], "9:16");
        let given = json!({"source": "p.jpg", "garment": "g.png", "geminiParams": {"aspectRatio": "1:1"}});
        assert_eq!(body(given, 1080, 1920)["generationConfig"]["imageConfig"]["aspectRatio"], "1:1");
    }

    #[test]
    fn a_prompt_that_looks_like_a_placeholder_is_sent_as_text() {
        let m = json!({"source": "p.jpg", "garment": "g.png", "instruction": {"prompt": "\"@IMAGE0@\" @IMAGE1@"}});
        let v = body(m, 640, 480);
        assert_eq!(v["contents"][0]["parts"][2]["text"], "\"@IMAGE0@\" @IMAGE1@");
        assert_eq!(v["contents"][0]["parts"][0]["inlineData"]["data"], "U09VUkNF");
    }

    #[test]
    fn unchecked_options_are_an_internal_error_not_a_request() {
        let s = spec(json!({"source": "p.jpg", "garment": "g.png", "geminiParams": {"imageSize": "8K"}}));
        let e = GeminiImage.request(&s, images(640, 480)).unwrap_err();
        assert_eq!(e.code, crate::core::error::ErrorCode::Internal);
    }
}
