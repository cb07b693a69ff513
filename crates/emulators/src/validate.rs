//! Strict validation of an `InvokeModel` body against the Nova Canvas `VIRTUAL_TRY_ON`
//! reference: keys, types, enums, combinations, ranges and every input image's format,
//! size, pixel count and aspect. Errors read like Nova's.

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{DynamicImage, ExtendedColorType, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde_json::{Map, Value};

use crate::reference::{region_of, BodyRegion, GARMENT_CLASSES, MAX_ASPECT, MAX_PIXELS, MAX_SIDE, MIN_SIDE};

/// A request that passed validation.
pub(super) struct Valid {
    pub(super) source: RgbImage,
    pub(super) reference: RgbImage,
    pub(super) mask: Region,
    pub(super) number_of_images: u32,
    pub(super) seed: u64,
    pub(super) return_mask: bool,
}

/// Where the emulator paints: from the garment class, the prompt box or the given mask.
pub(super) enum Region {
    Garment { region: BodyRegion, shape: String, preserve_face: bool },
    Prompt { shape: String, preserve_face: bool },
    Image(GrayImage),
}

fn schema(path: &str, what: &str) -> String {
    format!("Malformed input request: #/{path}: {what}, please reformat your input and try again.")
}

fn check_keys(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), String> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(schema(path, &format!("extraneous key [{k}] is not permitted")));
        }
    }
    Ok(())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| schema(path, &format!("expected type: JSONObject, found: {}", type_name(v))))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn enum_value<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
    required: bool,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None if required => Err(schema(path, &format!("required key [{key}] not found"))),
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Some(v) => Err(schema(&format!("{path}/{key}"), &format!("{v} is not a valid enum value"))),
    }
}

const PRESERVE: &[&str] = &["ON", "OFF", "DEFAULT"];
const SHAPES: &[&str] = &["CONTOUR", "BOUNDING_BOX", "DEFAULT"];

const VP: &str = "virtualTryOnParams";
const GP: &str = "imageGenerationConfig";

pub(super) fn validate(body: &[u8]) -> Result<Valid, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!("Malformed input request: the body is not valid JSON ({e}), please reformat your input and try again.")
    })?;
    let top = object(&v, "")?;
    check_keys(top, "", &["taskType", "virtualTryOnParams", "imageGenerationConfig"])?;
    check_task_type(top)?;
    let p = object(top.get(VP).ok_or_else(|| schema("", "required key [virtualTryOnParams] not found"))?, VP)?;
    let mask_type = check_params(p)?;
    let preserve_face = mask_exclusions(p)?;
    let return_mask = match p.get("returnMask") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(schema(
                &format!("{VP}/returnMask"),
                &format!("expected type: Boolean, found: {}", type_name(other)),
            ))
        }
    };
    let (number_of_images, seed) = generation_config(top)?;
    let source = input_image(p.get("sourceImage"), "sourceImage")?;
    let reference = input_image(p.get("referenceImage"), "referenceImage")?;
    let mask = match mask_type {
        "GARMENT" => garment_mask(p, preserve_face)?,
        "PROMPT" => prompt_mask(p, preserve_face)?,
        _ => image_mask(p, &source)?,
    };
    Ok(Valid { source, reference, mask, number_of_images, seed, return_mask })
}

/// `taskType` must be `VIRTUAL_TRY_ON`; the other Nova Canvas tasks are named as unserved.
fn check_task_type(top: &Map<String, Value>) -> Result<(), String> {
    const OTHER_TASKS: &[&str] = &[
        "TEXT_IMAGE",
        "INPAINTING",
        "OUTPAINTING",
        "IMAGE_VARIATION",
        "COLOR_GUIDED_GENERATION",
        "BACKGROUND_REMOVAL",
    ];
    match top.get("taskType") {
        Some(Value::String(t)) if t == "VIRTUAL_TRY_ON" => Ok(()),
        Some(Value::String(t)) if OTHER_TASKS.contains(&t.as_str()) => {
            Err(format!("The emulator serves VIRTUAL_TRY_ON only, not {t}."))
        }
        Some(other) => Err(schema("taskType", &format!("{other} is not a valid enum value"))),
        None => Err(schema("", "required key [taskType] not found")),
    }
}

/// The keys of `virtualTryOnParams`, `maskType` and the one mask object it calls for.
/// Returns the mask type.
fn check_params(p: &Map<String, Value>) -> Result<&str, String> {
    check_keys(
        p,
        VP,
        &[
            "sourceImage",
            "referenceImage",
            "maskType",
            "imageBasedMask",
            "garmentBasedMask",
            "promptBasedMask",
            "maskExclusions",
            "mergeStyle",
            "returnMask",
        ],
    )?;
    let mask_type = enum_value(p, "maskType", VP, &["IMAGE", "GARMENT", "PROMPT"], true)?.unwrap_or_default();
    for (key, wanted) in [("imageBasedMask", "IMAGE"), ("garmentBasedMask", "GARMENT"), ("promptBasedMask", "PROMPT")] {
        match (p.contains_key(key), mask_type == wanted) {
            (false, true) => {
                return Err(schema(VP, &format!("required key [{key}] not found (maskType is {mask_type})")))
            }
            (true, false) => {
                return Err(schema(
                    VP,
                    &format!("extraneous key [{key}] is not permitted when maskType is {mask_type}"),
                ))
            }
            _ => {}
        }
    }
    enum_value(p, "mergeStyle", VP, &["BALANCED", "SEAMLESS", "DETAILED"], false)?;
    Ok(mask_type)
}

/// `maskExclusions`: returns whether the face is preserved.
fn mask_exclusions(p: &Map<String, Value>) -> Result<bool, String> {
    let Some(ex) = p.get("maskExclusions") else { return Ok(false) };
    let path = format!("{VP}/maskExclusions");
    let ex = object(ex, &path)?;
    check_keys(ex, &path, &["preserveBodyPose", "preserveHands", "preserveFace"])?;
    let mut preserve_face = false;
    for k in ["preserveBodyPose", "preserveHands", "preserveFace"] {
        let value = enum_value(ex, k, &path, PRESERVE, false)?;
        if k == "preserveFace" {
            preserve_face = value == Some("ON");
        }
    }
    Ok(preserve_face)
}

/// `imageGenerationConfig`: returns (numberOfImages, seed), defaults 1 and 12.
fn generation_config(top: &Map<String, Value>) -> Result<(u32, u64), String> {
    let Some(g) = top.get(GP) else { return Ok((1, 12)) };
    let g = object(g, GP)?;
    if g.contains_key("width") || g.contains_key("height") {
        return Err(
            "width and height are not supported for VIRTUAL_TRY_ON: the output takes the source image's size.".into()
        );
    }
    check_keys(g, GP, &["numberOfImages", "quality", "cfgScale", "seed"])?;
    let mut number_of_images = 1;
    if let Some(n) = g.get("numberOfImages") {
        number_of_images = n
            .as_u64()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| schema(&format!("{GP}/numberOfImages"), &format!("{n} is not in the range 1 to 5")))?
            as u32;
    }
    enum_value(g, "quality", GP, &["standard", "premium"], false)?;
    if let Some(c) = g.get("cfgScale") {
        c.as_f64()
            .filter(|c| (1.1..=10.0).contains(c))
            .ok_or_else(|| schema(&format!("{GP}/cfgScale"), &format!("{c} is not in the range 1.1 to 10.0")))?;
    }
    let mut seed = 12;
    if let Some(s) = g.get("seed") {
        seed = s
            .as_u64()
            .filter(|s| *s <= 2_147_483_646)
            .ok_or_else(|| schema(&format!("{GP}/seed"), &format!("{s} is not in the range 0 to 2147483646")))?;
    }
    Ok((number_of_images, seed))
}

/// `garmentBasedMask`: the garment class picks the body region.
fn garment_mask(p: &Map<String, Value>, preserve_face: bool) -> Result<Region, String> {
    let path = format!("{VP}/garmentBasedMask");
    let gm = object(&p["garmentBasedMask"], &path)?;
    check_keys(gm, &path, &["garmentClass", "maskShape", "garmentStyling"])?;
    let class_names: Vec<&str> = GARMENT_CLASSES.iter().map(|(c, _)| *c).collect();
    let class = enum_value(gm, "garmentClass", &path, &class_names, true)?.unwrap_or_default();
    let shape = enum_value(gm, "maskShape", &path, SHAPES, false)?.unwrap_or("DEFAULT").to_owned();
    if let Some(st) = gm.get("garmentStyling") {
        let sp = format!("{path}/garmentStyling");
        let st = object(st, &sp)?;
        check_keys(st, &sp, &["longSleeveStyle", "tuckingStyle", "outerLayerStyle"])?;
        enum_value(st, "longSleeveStyle", &sp, &["SLEEVE_DOWN", "SLEEVE_UP"], false)?;
        enum_value(st, "tuckingStyle", &sp, &["UNTUCKED", "TUCKED"], false)?;
        enum_value(st, "outerLayerStyle", &sp, &["CLOSED", "OPEN"], false)?;
    }
    Ok(Region::Garment { region: region_of(class), shape, preserve_face })
}

/// `promptBasedMask`: a prompt of 1 to 1024 characters.
fn prompt_mask(p: &Map<String, Value>, preserve_face: bool) -> Result<Region, String> {
    let path = format!("{VP}/promptBasedMask");
    let pm = object(&p["promptBasedMask"], &path)?;
    check_keys(pm, &path, &["maskPrompt", "maskShape"])?;
    match pm.get("maskPrompt") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 1024 => {}
        Some(Value::String(_)) => {
            return Err(schema(&format!("{path}/maskPrompt"), "expected a string of 1 to 1024 characters"))
        }
        Some(other) => {
            return Err(schema(
                &format!("{path}/maskPrompt"),
                &format!("expected type: String, found: {}", type_name(other)),
            ))
        }
        None => return Err(schema(&path, "required key [maskPrompt] not found")),
    }
    let shape = enum_value(pm, "maskShape", &path, SHAPES, false)?.unwrap_or("BOUNDING_BOX").to_owned();
    Ok(Region::Prompt { shape, preserve_face })
}

/// `imageBasedMask`: pure black and white, the source image's size.
fn image_mask(p: &Map<String, Value>, source: &RgbImage) -> Result<Region, String> {
    let path = format!("{VP}/imageBasedMask");
    let im = object(&p["imageBasedMask"], &path)?;
    check_keys(im, &path, &["maskImage"])?;
    let m = input_image(im.get("maskImage"), "maskImage")?;
    if m.dimensions() != source.dimensions() {
        return Err(format!(
            "The mask image must be the same size as the source image: maskImage is {}x{}, sourceImage is {}x{}.",
            m.width(),
            m.height(),
            source.width(),
            source.height()
        ));
    }
    if let Some(p) = m.pixels().find(|p| !(p.0 == [0, 0, 0] || p.0 == [255, 255, 255])) {
        return Err(format!(
            "The mask image must contain only pure black (0,0,0) and pure white (255,255,255) pixels; found {:?}.",
            p.0
        ));
    }
    Ok(Region::Image(GrayImage::from_fn(m.width(), m.height(), |x, y| image::Luma([m.get_pixel(x, y)[0]]))))
}

/// Decodes and checks one input image: base64, PNG or JPEG, 8-bit RGB, no translucent
/// alpha, Nova's size, pixel and aspect limits.
fn input_image(v: Option<&Value>, field: &str) -> Result<RgbImage, String> {
    let s = match v {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(schema(
                &format!("virtualTryOnParams/{field}"),
                &format!("expected type: String, found: {}", type_name(other)),
            ))
        }
        None => return Err(schema("virtualTryOnParams", &format!("required key [{field}] not found"))),
    };
    let bytes = B64.decode(s.as_bytes()).map_err(|e| format!("Invalid base64 in {field}: {e}."))?;
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        Ok(f) => {
            return Err(format!("Unsupported image format for {field}: {f:?}. Supported formats are PNG and JPEG."))
        }
        Err(_) => return Err(format!("Unable to read {field}: it is not a PNG or JPEG image.")),
    };
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE * 4);
    limits.max_image_height = Some(MAX_SIDE * 4);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| format!("Unable to read {field}: {e}."))?;
    let (w, h) = decoder.dimensions();
    if !(MIN_SIDE..=MAX_SIDE).contains(&w) || !(MIN_SIDE..=MAX_SIDE).contains(&h) {
        return Err(format!("{field} is {w}x{h}: each side must be between {MIN_SIDE} and {MAX_SIDE} pixels."));
    }
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(format!(
            "{field} is {w}x{h} ({} pixels): images must have fewer than 4194304 pixels.",
            w as u64 * h as u64
        ));
    }
    if w > MAX_ASPECT * h || h > MAX_ASPECT * w {
        return Err(format!("{field} is {w}x{h}: the aspect ratio must be between 1:4 and 4:1."));
    }
    let original = decoder.original_color_type();
    if !matches!(original, ExtendedColorType::Rgb8 | ExtendedColorType::Rgba8) {
        return Err(format!("{field} must be an 8-bit RGB image; it is {original:?}."));
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| format!("Unable to read {field}: {e}."))?;
    match img {
        DynamicImage::ImageRgb8(i) => Ok(i),
        DynamicImage::ImageRgba8(i) => {
            if i.pixels().any(|p| p[3] != 255) {
                return Err(format!(
                    "{field} has transparent or translucent pixels; the alpha channel must be fully opaque."
                ));
            }
            Ok(DynamicImage::ImageRgba8(i).into_rgb8())
        }
        other => Err(format!("{field} must be an 8-bit RGB image; it is {:?}.", other.color())),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;

    pub(crate) fn png(w: u32, h: u32) -> String {
        B64.encode(crate::reference::png(&RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]))))
    }

    pub(crate) fn body(params: Value, config: Option<Value>) -> Vec<u8> {
        let mut p = json!({"sourceImage": png(400, 600), "referenceImage": png(320, 320)});
        p.as_object_mut().unwrap().extend(params.as_object().unwrap().clone());
        let mut b = json!({"taskType": "VIRTUAL_TRY_ON", "virtualTryOnParams": p});
        if let Some(c) = config {
            b["imageGenerationConfig"] = c;
        }
        serde_json::to_vec(&b).unwrap()
    }

    #[test]
    fn rejects_what_nova_rejects() {
        let cases = [
            body(json!({"maskType": "GARMENT"}), None),
            body(json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "HAT"}}), None),
            body(json!({"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": ""}}), None),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "promptBasedMask": {"maskPrompt": "x"}}),
                None,
            ),
            body(json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "extra": 1}), None),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"width": 512})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"numberOfImages": 6})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"cfgScale": 1.0})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"seed": 2147483647u64})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "mergeStyle": "SMOOTH"}),
                None,
            ),
            body(json!({"maskType": "IMAGE", "imageBasedMask": {"maskImage": png(400, 600)}}), None),
            body(json!({"maskType": "IMAGE", "imageBasedMask": {"maskImage": png(320, 600)}}), None),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": png(300, 600)}),
                None,
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": png(2048, 2048)}),
                None,
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": png(320, 1300)}),
                None,
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": "not base64!"}),
                None,
            ),
        ];
        // Each case must fail for its own reason, not merely fail.
        let expected = [
            "required key [garmentBasedMask] not found (maskType is GARMENT)",
            "#/virtualTryOnParams/garmentBasedMask/garmentClass: \"HAT\" is not a valid enum value",
            "#/virtualTryOnParams/promptBasedMask/maskPrompt: expected a string of 1 to 1024 characters",
            "extraneous key [promptBasedMask] is not permitted when maskType is GARMENT",
            "#/virtualTryOnParams: extraneous key [extra] is not permitted",
            "width and height are not supported for VIRTUAL_TRY_ON",
            "#/imageGenerationConfig/numberOfImages: 6 is not in the range 1 to 5",
            "#/imageGenerationConfig/cfgScale: 1.0 is not in the range 1.1 to 10.0",
            "#/imageGenerationConfig/seed: 2147483647 is not in the range 0 to 2147483646",
            "#/virtualTryOnParams/mergeStyle: \"SMOOTH\" is not a valid enum value",
            "must contain only pure black (0,0,0) and pure white (255,255,255) pixels; found [10, 20, 30]",
            "maskImage is 320x600, sourceImage is 400x600",
            "sourceImage is 300x600: each side must be between 320 and 4096 pixels",
            "sourceImage is 2048x2048 (4194304 pixels): images must have fewer than 4194304 pixels",
            "sourceImage is 320x1300: the aspect ratio must be between 1:4 and 4:1",
            "Invalid base64 in sourceImage",
        ];
        assert_eq!(cases.len(), expected.len());
        for (i, (b, want)) in cases.iter().zip(expected).enumerate() {
            match validate(b) {
                Ok(_) => panic!("case {i} was accepted"),
                Err(e) => assert!(e.contains(want), "case {i}: expected {want:?}, got {e:?}"),
            }
        }
    }

    #[test]
    fn rejects_translucent_grey_and_sixteen_bit_inputs() {
        let enc = |img: DynamicImage| {
            let mut out = Vec::new();
            img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
            B64.encode(out)
        };
        let translucent =
            enc(DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(400, 400, image::Rgba([1, 2, 3, 200]))));
        let grey = enc(DynamicImage::ImageLuma8(GrayImage::from_pixel(400, 400, image::Luma([9]))));
        let deep = enc(DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(400, 400, image::Rgb([9u16, 9, 9]))));
        let opaque = enc(DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(400, 400, image::Rgba([1, 2, 3, 255]))));
        let cases = [
            (translucent, Some("sourceImage has transparent or translucent pixels")),
            (grey, Some("sourceImage must be an 8-bit RGB image; it is L8")),
            (deep, Some("sourceImage must be an 8-bit RGB image; it is Rgb16")),
            (opaque, None),
        ];
        for (img, want) in cases {
            let b = body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": img}),
                None,
            );
            match (validate(&b), want) {
                (Ok(_), None) => {}
                (Ok(_), Some(w)) => panic!("accepted; expected {w:?}"),
                (Err(e), None) => panic!("refused an opaque RGBA image: {e}"),
                (Err(e), Some(w)) => assert!(e.contains(w), "expected {w:?}, got {e:?}"),
            }
        }
    }
}
