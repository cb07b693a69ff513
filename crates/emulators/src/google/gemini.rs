//! Gemini image `:generateContent`: strict validation against the Gemini reference (§2
//! request, §4 limits, per model) and the deterministic answer (§3): a short text part when
//! TEXT is asked for, then the try-on picture at the tier's pixel size, with Google's
//! `usageMetadata` token counts (§4, §5). One code for Vertex AI and the Gemini API: where
//! they differ, it asks the call's [`Dialect`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{DynamicImage, ImageFormat};
use serde_json::{json, Value};

use super::dialect::Dialect;
use super::faults::Fault;
use super::fields::{labels, Naming, Node};
use super::inline;
use super::models::{self, Model};
use super::paint::{self, Encoding};
use super::wire::{parse_json, GoogleError};

/// A request that passed validation.
struct Request {
    images: Vec<DynamicImage>,
    text_chars: usize,
    want_text: bool,
    size: String,
    ratio: Option<String>,
    seed: i64,
    max_tokens: Option<i64>,
    encoding: Encoding,
    /// Output tokens of the picture (the model's table, or the dialect's).
    image_tokens: u32,
}

/// At most 14 input images per prompt for every 3.x image model (§4).
const MAX_IMAGES: usize = 14;

const CATEGORIES: &[&str] = &[
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_JAILBREAK",
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
];
const THRESHOLDS: &[&str] = &["BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"];

/// The text part the emulated model writes beside its picture.
const REPLY: &str = "Here is the person from the first image wearing the garment.";

/// Validates `body` for `model_id` and answers it, shaped by `fault`, as `d`'s API does.
pub(super) fn answer(
    d: &Dialect,
    model_id: &str,
    body: &[u8],
    fault: Option<&Fault>,
    response_id: &str,
) -> Result<Value, GoogleError> {
    let model = models::model(model_id)
        .ok_or_else(|| GoogleError::new(404, "NOT_FOUND", format!("emulator: no limits known for {model_id}")))?;
    let v = parse_json(body)?;
    let req = validate(d, model_id, &model, &v)?;
    let mut reply = respond(d, &model, &req, fault)?;
    reply["modelVersion"] = json!(model_id);
    if d.create_time {
        reply["createTime"] = json!(humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string());
    }
    if let Some(c) = reply.get_mut("candidates").and_then(|c| c.get_mut(0)).filter(|_| d.candidate_index) {
        c["index"] = json!(0);
    }
    reply["responseId"] = json!(response_id);
    Ok(reply)
}

/// `node.only(allowed)`, saying so when the refused field belongs to the other API.
fn only(d: &Dialect, node: &Node, allowed: &[&str]) -> Result<(), GoogleError> {
    node.only(allowed).map_err(|mut e| {
        let foreign = node.obj.keys().find(|k| !allowed.contains(&k.as_str()) && d.foreign.contains(&k.as_str()));
        if foreign.is_some() {
            e.message = format!("{} {}", e.message, d.foreign_note);
        }
        e
    })
}

fn validate(d: &Dialect, model_id: &str, model: &Model, v: &Value) -> Result<Request, GoogleError> {
    let root = Node::root(v, Naming::Proto)?;
    only(d, &root, d.root)?;
    labels(&root)?;
    root.one_of("serviceTier", &["flex", "standard", "priority", "FLEX", "STANDARD", "PRIORITY"])?;
    root.boolean("store")?;
    let (images, mut text_chars) = contents(d, &root)?;
    if let Some(si) = root.child("systemInstruction")? {
        text_chars += system_instruction(&si)?;
    }
    safety_settings(d, &root)?;
    // The Vertex default for responseModalities is not documented (only the Gemini API's
    // is), so there a client must ask for the image explicitly.
    let config = root.child("generationConfig")?;
    let (want_text, seed, max_tokens) = match &config {
        Some(c) => generation(d, model, c)?,
        None if d.default_modalities => (true, 0, None),
        None => {
            let why = "generationConfig.responseModalities must be set and include IMAGE.";
            return Err(root.invalid("generationConfig", why));
        }
    };
    let image = config.as_ref().map(|c| c.child("imageConfig")).transpose()?.flatten();
    let (size, ratio, encoding) = image_config(d, model_id, model, image)?;
    let image_tokens = d.image_tokens_for(model_id, &size).unwrap_or_else(|| model.tokens_for(&size));
    Ok(Request { images, text_chars, want_text, size, ratio, seed, max_tokens, encoding, image_tokens })
}

/// One `user` turn: ≥1 inline image (≤14) and a text instruction. Returns the images and
/// the text's length.
fn contents(d: &Dialect, root: &Node) -> Result<(Vec<DynamicImage>, usize), GoogleError> {
    let turns = root.objects("contents")?.ok_or_else(|| root.missing("contents"))?;
    if turns.len() != 1 {
        let n = turns.len();
        return Err(root.invalid("contents", format!("one user turn is expected, got {n}.")));
    }
    let turn = &turns[0];
    turn.only(&["role", "parts"])?;
    // Google's own REST sample sends "USER".
    match turn.string("role")? {
        Some(r) if r.eq_ignore_ascii_case("user") => {}
        Some(r) => return Err(turn.invalid("role", format!("the turn must have role user, got \"{r}\"."))),
        None => return Err(turn.invalid("role", "Please use a valid role: user, model.")),
    }
    let parts = turn.objects("parts")?.ok_or_else(|| turn.missing("parts"))?;
    let count = parts.iter().filter(|p| p.obj.contains_key("inlineData")).count();
    if count > MAX_IMAGES {
        return Err(turn.invalid("parts", format!("{count} images; at most {MAX_IMAGES} input images are allowed.")));
    }
    let (mut images, mut text_chars, mut texts) = (Vec::new(), 0, 0);
    for p in &parts {
        match part(d, p)? {
            Part::Text(n) => (text_chars, texts) = (text_chars + n, texts + 1),
            Part::Image(img) => images.push(img),
        }
    }
    if images.is_empty() {
        return Err(turn.invalid("parts", "at least one inlineData image (the person) is required."));
    }
    if texts == 0 {
        return Err(turn.invalid("parts", "a text part with the instruction is required."));
    }
    Ok((images, text_chars))
}

enum Part {
    Text(usize),
    Image(DynamicImage),
}

/// A part holds exactly one of `text`, `inlineData` (png/jpeg/webp) or `fileData`.
fn part(d: &Dialect, p: &Node) -> Result<Part, GoogleError> {
    const KINDS: &[&str] = &["text", "inlineData", "fileData"];
    p.only(KINDS)?;
    let set: Vec<&str> = KINDS.iter().copied().filter(|k| p.obj.contains_key(*k)).collect();
    match set.as_slice() {
        ["text"] => {
            let t = p.string("text")?.unwrap_or_default();
            if t.trim().is_empty() {
                return Err(p.invalid("text", "the text part is empty."));
            }
            Ok(Part::Text(t.chars().count()))
        }
        ["inlineData"] => inline_image(d, &p.need_child("inlineData")?).map(Part::Image),
        ["fileData"] => Err(p.invalid("fileData", d.file_data)),
        _ => Err(GoogleError::invalid(
            p.here(),
            format!("Invalid value at '{}': a part holds exactly one of text, inline_data, file_data.", p.here()),
        )),
    }
}

/// `inlineData{mimeType,data}`: 3.x models take png, jpeg, webp, heic, heif (§4); the
/// emulator decodes the first three and says so for the others.
fn inline_image(dialect: &Dialect, d: &Node) -> Result<DynamicImage, GoogleError> {
    only(dialect, d, &["mimeType", "data"])?;
    let mime = d.string("mimeType")?.ok_or_else(|| d.missing("mimeType"))?;
    match mime {
        "image/png" | "image/jpeg" | "image/webp" => {}
        "image/heic" | "image/heif" => {
            return Err(
                d.invalid("mimeType", format!("{mime} is accepted by Google but the emulator cannot decode it."))
            )
        }
        other => {
            return Err(d.invalid(
                "mimeType",
                format!("\"{other}\" is not a supported image type (png, jpeg, webp, heic, heif)."),
            ))
        }
    }
    let data = d.string("data")?.ok_or_else(|| d.missing("data"))?;
    let formats = [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP];
    inline::decode_within(data, Some(mime), &formats, &d.field("data"), dialect.inline_cap)
}

/// `systemInstruction`: text parts only (§2). Returns the text's length.
fn system_instruction(si: &Node) -> Result<usize, GoogleError> {
    si.only(&["role", "parts"])?;
    si.string("role")?;
    let mut chars = 0;
    for p in si.objects("parts")?.ok_or_else(|| si.missing("parts"))? {
        p.only(&["text"])?;
        chars += p.string("text")?.ok_or_else(|| p.missing("text"))?.chars().count();
    }
    Ok(chars)
}

/// `safetySettings[]`: category and threshold required, method optional (§2).
fn safety_settings(d: &Dialect, root: &Node) -> Result<(), GoogleError> {
    for s in root.objects("safetySettings")?.unwrap_or_default() {
        only(d, &s, d.safety)?;
        s.one_of("category", CATEGORIES)?.ok_or_else(|| s.missing("category"))?;
        s.one_of("threshold", THRESHOLDS)?.ok_or_else(|| s.missing("threshold"))?;
        s.one_of("method", &["SEVERITY", "PROBABILITY"])?;
    }
    Ok(())
}

/// `generationConfig` (§2): modalities with IMAGE, one candidate, sampling ranges, the
/// model's thinking levels. Returns (TEXT asked, seed, maxOutputTokens).
fn generation(d: &Dialect, model: &Model, c: &Node) -> Result<(bool, i64, Option<i64>), GoogleError> {
    only(d, c, d.generation)?;
    let modalities = match c.strings("responseModalities")? {
        Some(m) => m,
        None if d.default_modalities => vec!["TEXT", "IMAGE"],
        None => return Err(c.invalid("responseModalities", "responseModalities must be set and include IMAGE.")),
    };
    if let Some(m) = modalities.iter().find(|m| !["TEXT", "IMAGE"].contains(m)) {
        let why = if *m == "AUDIO" { "image models do not produce AUDIO" } else { "not one of TEXT, IMAGE, AUDIO" };
        return Err(c.invalid("responseModalities", format!("\"{m}\": {why}.")));
    }
    if !modalities.contains(&"IMAGE") {
        return Err(c.invalid("responseModalities", "responseModalities must include IMAGE for an image model."));
    }
    c.int("candidateCount", 1, 1)?;
    c.number("temperature", 0.0, 2.0)?;
    c.number("topP", 0.0, 1.0)?;
    c.int("topK", 1, i32::MAX as i64)?;
    let seed = c.int("seed", i32::MIN as i64, i32::MAX as i64)?.unwrap_or(0);
    let max_tokens = c.int("maxOutputTokens", 1, model.max_output_tokens)?;
    if let Some(t) = c.child("thinkingConfig")? {
        t.only(&["thinkingLevel", "includeThoughts"])?;
        if model.thinking_levels.is_empty() && t.obj.contains_key("thinkingLevel") {
            return Err(t.invalid("thinkingLevel", "thinking levels are not supported by this model."));
        }
        t.one_of("thinkingLevel", model.thinking_levels)?;
        t.boolean("includeThoughts")?;
    }
    Ok((modalities.contains(&"TEXT"), seed, max_tokens))
}

/// `imageConfig` (§2): the model's sizes and ratios, the person and output options.
fn image_config(
    d: &Dialect,
    model_id: &str,
    model: &Model,
    c: Option<Node>,
) -> Result<(String, Option<String>, Encoding), GoogleError> {
    let Some(c) = c else { return Ok(("1K".into(), None, d.output.unwrap_or(Encoding::Png))) };
    only(d, &c, d.image_config)?;
    let ratio = c.string("aspectRatio")?;
    if let Some(r) = ratio.filter(|r| !model.ratios.contains(r) || d.refuses_ratio(model_id, r)) {
        let list =
            model.ratios.iter().filter(|x| !d.refuses_ratio(model_id, x)).copied().collect::<Vec<_>>().join(", ");
        return Err(c.invalid("aspectRatio", format!("\"{r}\" is not supported by {model_id}; it takes {list}.")));
    }
    let size = c.string("imageSize")?.unwrap_or("1K");
    if !model.sizes.contains(&size) {
        let list = model.sizes.join(", ");
        return Err(c.invalid("imageSize", format!("\"{size}\" is not supported by {model_id}; it takes {list}.")));
    }
    c.one_of("personGeneration", &["ALLOW_ALL", "ALLOW_ADULT", "ALLOW_NONE"])?;
    c.one_of("prominentPeople", &["ALLOW_PROMINENT_PEOPLE", "BLOCK_PROMINENT_PEOPLE"])?;
    let encoding = match d.output {
        Some(fixed) => fixed,
        None => paint::encoding(c.child("imageOutputOptions")?)?,
    };
    Ok((size.to_owned(), ratio.map(str::to_owned), encoding))
}

fn text_tokens(chars: usize) -> u32 {
    chars.div_ceil(4) as u32
}

/// The answer without its envelope ids: candidates (or prompt feedback) and usage.
fn respond(d: &Dialect, model: &Model, req: &Request, fault: Option<&Fault>) -> Result<Value, GoogleError> {
    let image_in = req.images.len() as u32 * model.input_image_tokens;
    let prompt = (image_in, text_tokens(req.text_chars));
    let image_tokens = req.image_tokens;
    let (candidate, out_image, out_text) = match fault {
        Some(Fault::PromptBlocked { reason }) => {
            let reason = reason.as_deref().unwrap_or("SAFETY");
            let message = format!("The prompt was blocked ({reason}).");
            let feedback = json!({ "blockReason": reason, "blockReasonMessage": message });
            return Ok(json!({ "promptFeedback": feedback, "usageMetadata": usage(d, prompt, 0, 0) }));
        }
        Some(Fault::TextOnly { text }) => {
            let text = text.as_deref().unwrap_or("I can't help with that.");
            (
                json!({ "content": { "role": "model", "parts": [{ "text": text }] }, "finishReason": "STOP" }),
                0,
                text_tokens(text.chars().count()),
            )
        }
        Some(Fault::ImageSafety) => {
            (stopped("IMAGE_SAFETY", "The generated image was blocked by the image safety filter."), 0, 0)
        }
        Some(Fault::NoImage) => {
            (stopped("NO_IMAGE", "The model was expected to generate an image, but none was generated."), 0, 0)
        }
        _ if req.max_tokens.is_some_and(|m| m < image_tokens as i64) => {
            (stopped("MAX_TOKENS", "maxOutputTokens is smaller than one image."), 0, 0)
        }
        _ => {
            let parts = image_parts(model, req, fault)?;
            let text = if req.want_text { text_tokens(REPLY.len()) } else { 0 };
            (json!({ "content": { "role": "model", "parts": parts }, "finishReason": "STOP" }), image_tokens, text)
        }
    };
    Ok(json!({ "candidates": [candidate], "usageMetadata": usage(d, prompt, out_image, out_text) }))
}

/// A candidate that stopped without content.
fn stopped(reason: &str, message: &str) -> Value {
    json!({ "finishReason": reason, "finishMessage": message })
}

/// `usageMetadata` (§3): prompt = images × the model's per-image tokens + text; candidates =
/// the tier's image tokens + the reply's text.
fn usage(d: &Dialect, (image_in, text_in): (u32, u32), image_out: u32, text_out: u32) -> Value {
    let mut out_details = Vec::new();
    if image_out > 0 {
        out_details.push(json!({ "modality": "IMAGE", "tokenCount": image_out }));
    }
    if text_out > 0 {
        out_details.push(json!({ "modality": "TEXT", "tokenCount": text_out }));
    }
    let (prompt, candidates) = (image_in + text_in, image_out + text_out);
    let mut usage = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates,
        "promptTokensDetails": [
            { "modality": "TEXT", "tokenCount": text_in },
            { "modality": "IMAGE", "tokenCount": image_in },
        ],
        "candidatesTokensDetails": out_details,
    });
    if d.traffic_type {
        usage["trafficType"] = json!("ON_DEMAND");
    }
    // The emulated model does not think aloud: no thought tokens, as §3's example shows.
    if d.thoughts_count {
        usage["thoughtsTokenCount"] = json!(0);
    }
    usage
}

/// The reply's parts: the text (if asked), an interim thought picture (under the fault),
/// and the try-on picture, malformed as a fault asks.
fn image_parts(model: &Model, req: &Request, fault: Option<&Fault>) -> Result<Vec<Value>, GoogleError> {
    let person = req.images[0].to_rgb8();
    let ratio = req.ratio.clone().unwrap_or_else(|| model.nearest_ratio(person.width(), person.height()).to_owned());
    let (w, h) = models::pixels(&ratio, &req.size);
    let framed = paint::cover(&person, w, h);
    let picture = paint::dress(&framed, req.images.get(1), paint::tint(req.seed as u64, 0));
    let mime = req.encoding.mime();
    let mut parts = Vec::new();
    if req.want_text {
        parts.push(json!({ "text": REPLY }));
    }
    if let Some(Fault::ThoughtImage) = fault {
        let draft = paint::encode(&framed, req.encoding)?;
        parts.push(json!({ "inlineData": { "mimeType": mime, "data": B64.encode(draft) }, "thought": true }));
    }
    let bytes = paint::encode(&picture, req.encoding)?;
    let data = match fault {
        Some(Fault::BadBase64) => json!({ "mimeType": mime, "data": "iVBORw0K%%not*base64%%" }),
        Some(Fault::WrongMime) => json!({ "mimeType": "text/plain", "data": B64.encode(bytes) }),
        Some(Fault::OversizedImage) => {
            json!({ "mimeType": "image/png", "data": B64.encode(paint::claimed_png(20_000, 20_000)) })
        }
        _ => json!({ "mimeType": mime, "data": B64.encode(bytes) }),
    };
    parts.push(json!({ "inlineData": data }));
    Ok(parts)
}
