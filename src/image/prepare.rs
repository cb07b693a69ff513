//! Image preparation: turns untrusted upload bytes into what Nova Canvas accepts, and the
//! model's outputs back into what the job promised. Pure and synchronous.
//!
//! Order of work for an input: sniff the format from the bytes, read the header with decode
//! limits in place (dimensions, pixels, allocation), decode, flatten alpha onto white as
//! 8-bit RGB, resize to the planned size in the stored orientation (cheaper than rotating
//! the full-size image), apply the EXIF orientation, then pad a too-thin image with white.

use std::io::Cursor;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::{headers, jpeg};
use crate::budget;
use crate::config::{Limits, RequestEncoding};
use crate::error::{ErrorCode, JobError};

pub use crate::limits::{MAX_ASPECT, MAX_PIXELS, MAX_SIDE, MIN_SIDE};
use crate::limits::{MAX_ICC_BYTES, MAX_JPEG_SCANS};

/// What the PNG decoder may allocate for chunks other than pixels (colour profiles inflated,
/// text): real files need kilobytes; a compressed profile can inflate to gigabytes.
const MAX_PNG_METADATA_BYTES: u64 = 2 * MAX_ICC_BYTES;

/// Formats accepted as uploads, detected from bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Jpeg,
    Png,
    Webp,
}

impl InputFormat {
    fn image_format(self) -> ImageFormat {
        match self {
            InputFormat::Jpeg => ImageFormat::Jpeg,
            InputFormat::Png => ImageFormat::Png,
            InputFormat::Webp => ImageFormat::WebP,
        }
    }
}

/// Encodings sent to Nova Canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Jpeg,
    Png,
}

/// JPEG quality for request images: visually lossless for photos.
pub const JPEG_QUALITY: u8 = 95;

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Where an image of a given size goes on the canvas sent to Nova.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub canvas_width: u32,
    pub canvas_height: u32,
    /// The image itself, scaled; the rest of the canvas is white padding.
    pub content: Rect,
}

impl Layout {
    pub fn padded(&self) -> bool {
        self.content.width != self.canvas_width || self.content.height != self.canvas_height
    }
}

/// Lays out the canvas for a `w`×`h` image (as displayed): keep the aspect ratio, shrink to
/// ≤ 4096 px per side and < 4,194,304 px, enlarge to ≥ 320 px per side, and pad the short
/// side with white when the image is thinner than 1:4.
pub fn layout(w: u32, h: u32) -> Layout {
    let (long, short) = (w.max(h).max(1) as u64, w.min(h).max(1) as u64);
    // The canvas in source pixels: the short side grows to a quarter of the long one if needed.
    let canvas_short_src = (short as f64).max(long as f64 / MAX_ASPECT as f64);
    let mut s =
        (MAX_PIXELS as f64 / (long as f64 * canvas_short_src)).sqrt().min(MAX_SIDE as f64 / long as f64).min(1.0);
    if canvas_short_src * s < MIN_SIDE as f64 {
        s = MIN_SIDE as f64 / canvas_short_src;
    }
    let mut content_long = ((long as f64 * s).round() as u64).clamp(MIN_SIDE as u64, MAX_SIDE as u64);
    let (content_short, canvas_short) = loop {
        let content_short = ((short * content_long) as f64 / long as f64).round().max(1.0) as u64;
        let canvas_short = content_short.max(content_long.div_ceil(MAX_ASPECT as u64)).max(MIN_SIDE as u64);
        if content_long * canvas_short <= MAX_PIXELS {
            break (content_short.min(canvas_short), canvas_short);
        }
        content_long -= 1;
    };
    let (cl, cs, kl, ks) = (content_long as u32, canvas_short as u32, content_long as u32, content_short as u32);
    if w >= h {
        Layout { canvas_width: cl, canvas_height: cs, content: Rect { x: 0, y: (cs - ks) / 2, width: kl, height: ks } }
    } else {
        Layout { canvas_width: cs, canvas_height: cl, content: Rect { x: (cs - ks) / 2, y: 0, width: ks, height: kl } }
    }
}

/// What was uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputInfo {
    pub format: InputFormat,
    /// As displayed (after the EXIF orientation).
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// EXIF orientation 1–8 (1 when absent).
    pub orientation: u8,
    pub had_alpha: bool,
    /// A JPEG whose chroma was stored at reduced resolution (4:2:0, 4:2:2): re-encoding it
    /// 4:2:0 loses nothing the upload still had.
    #[serde(default)]
    pub chroma_subsampled: bool,
    /// What was done with an embedded ICC profile: `converted to sRGB from <name>`, `sRGB`,
    /// `ignored (<reason>)`; absent when the file has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_profile: Option<String>,
}

/// Milliseconds spent in each step of [`prepare_timed`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    pub decode: f64,
    pub convert: f64,
    pub resize: f64,
    pub orient: f64,
    pub color: f64,
    pub pad: f64,
}

/// An input ready to encode: the canvas and where the picture sits on it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub canvas: RgbImage,
    pub layout: Layout,
    pub input: InputInfo,
    /// The canvas as 4:2:0 planes, when it was made from them (a 4:2:0 JPEG prepared with
    /// [`Chroma::Half`]): a 4:2:0 JPEG request is encoded straight from these.
    pub planes: Option<Arc<jpeg::Planes420>>,
}

impl Prepared {
    /// Bytes this prepared image holds.
    pub fn footprint(&self) -> u64 {
        let planes = self.planes.as_ref().map_or(0, |p| (p.y.len() + p.u.len() + p.v.len()) as u64);
        self.canvas.as_raw().len() as u64 + planes
    }
}

/// Detects the format from magic bytes, naming what was found when it is not accepted.
pub fn sniff(bytes: &[u8]) -> Result<InputFormat, JobError> {
    if bytes.is_empty() {
        return Err(JobError::new(ErrorCode::InvalidImage, "the file is empty (0 bytes)"));
    }
    let unsupported = |what: &str| {
        Err(JobError::new(
            ErrorCode::UnsupportedImage,
            format!("{what} is not supported; upload a JPEG, PNG or WebP image"),
        ))
    };
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return match brand {
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => unsupported("HEIC/HEIF"),
            b"avif" | b"avis" => unsupported("AVIF"),
            _ => unsupported("an ISO media file"),
        };
    }
    // SOI alone marks a JPEG, even when what follows is damaged (decoding says how).
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(InputFormat::Jpeg);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(InputFormat::Jpeg),
        Ok(ImageFormat::Png) => Ok(InputFormat::Png),
        Ok(ImageFormat::WebP) => Ok(InputFormat::Webp),
        Ok(other) => unsupported(&format!("{other:?}").to_uppercase()),
        Err(_) => {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
            if head.contains("<svg") || (head.trim_start().starts_with("<?xml") && head.contains("svg")) {
                unsupported("SVG")
            } else {
                unsupported("this file type (not a recognised image)")
            }
        }
    }
}

fn decode_error(e: ImageError, what: &str) -> JobError {
    match e {
        ImageError::Limits(l) => {
            JobError::new(ErrorCode::ImageTooLarge, format!("{what} is too large to decode safely ({l})"))
        }
        ImageError::Unsupported(u) => {
            JobError::new(ErrorCode::UnsupportedImage, format!("{what} uses an unsupported image feature ({u})"))
        }
        other => JobError::new(
            ErrorCode::InvalidImage,
            format!("{what} could not be decoded; it is truncated or corrupt ({other})"),
        ),
    }
}

/// An input decoded to 8-bit RGB in its stored orientation.
pub struct Decoded {
    pub rgb: RgbImage,
    pub orientation: image::metadata::Orientation,
    pub info: InputInfo,
    /// The embedded ICC profile of an RGB image.
    pub icc: Option<Vec<u8>>,
}

/// Decodes with every limit in place before any pixel is allocated.
pub fn decode(bytes: &[u8], limits: &Limits, what: &str) -> Result<Decoded, JobError> {
    decode_timed(bytes, limits, what, &mut StageTimes::default())
}

fn decode_timed(bytes: &[u8], limits: &Limits, what: &str, times: &mut StageTimes) -> Result<Decoded, JobError> {
    let t = std::time::Instant::now();
    let probe = probe(bytes, limits, what)?;
    let (rgb, had_alpha) = pixels(probe.decoder, bytes, probe.jpeg.as_ref(), what, times, t)?;
    let info = InputInfo { had_alpha, ..probe.info };
    Ok(Decoded { rgb, orientation: probe.orientation, info, icc: probe.icc })
}

/// An input whose headers were read and checked against every limit, not yet decoded.
struct Probe<'a> {
    decoder: Box<dyn ImageDecoder + 'a>,
    /// libjpeg-turbo's reading of a JPEG it can decode (the fast path).
    jpeg: Option<jpeg::Header>,
    orientation: image::metadata::Orientation,
    info: InputInfo,
    icc: Option<Vec<u8>>,
}

fn probe<'a>(bytes: &'a [u8], limits: &Limits, what: &str) -> Result<Probe<'a>, JobError> {
    let format = sniff(bytes).map_err(|e| JobError::new(e.code, format!("{what}: {}", e.message)))?;
    let declared_icc = check_container(format, bytes, what)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_input_side);
    l.max_image_height = Some(limits.max_input_side);
    // The PNG decoder charges colour profiles (inflated), text and other chunks to this; the
    // pixels are checked against the budget below, before any decoder allocates them.
    l.max_alloc = Some(limits.max_decode_alloc.min(MAX_PNG_METADATA_BYTES));
    reader.limits(l);
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(e, what))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(JobError::new(ErrorCode::InvalidImage, format!("{what} has no pixels ({w}x{h})")));
    }
    if w as u64 * h as u64 > limits.max_input_pixels {
        return Err(JobError::new(
            ErrorCode::ImageTooLarge,
            format!(
                "{what} is {w}x{h} ({:.1} MP); at most {:.1} MP is accepted",
                (w as f64 * h as f64) / 1e6,
                limits.max_input_pixels as f64 / 1e6
            ),
        ));
    }
    let color = decoder.color_type();
    let cost = budget::prepare_cost(&budget::Decode {
        width: w,
        height: h,
        decoded_bytes: decoder.total_bytes(),
        // WebP decoders keep frame buffers of their own beside the output.
        rgb8: color == image::ColorType::Rgb8 && format != InputFormat::Webp,
        // The JPEG decoder holds a copy of the file; profiles come on top.
        metadata_bytes: declared_icc + if format == InputFormat::Jpeg { bytes.len() as u64 } else { 0 },
    });
    if cost > limits.max_decode_alloc {
        return Err(JobError::new(
            ErrorCode::ImageTooLarge,
            format!(
                "{what} ({w}x{h}, {color:?}) is too large to prepare in this function's memory: it needs about {} MiB and {} MiB are available for it (MAX_DECODE_ALLOC_BYTES and the memory budget of AWS_LAMBDA_FUNCTION_MEMORY_SIZE); raise the function's MemorySize or upload a smaller image",
                budget::mib(cost),
                limits.max_decode_alloc >> 20
            ),
        ));
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let channels = color.channel_count();
    let icc = match declared_icc {
        n if n > MAX_ICC_BYTES => None,
        _ if matches!(channels, 3 | 4) => decoder.icc_profile().ok().flatten(),
        _ => None,
    };
    let icc_note =
        (declared_icc > MAX_ICC_BYTES || icc.as_ref().is_some_and(|p| p.len() as u64 > MAX_ICC_BYTES)).then(|| {
            format!(
                "ignored (a {} MiB profile; at most {} MiB is applied)",
                budget::mib(declared_icc.max(icc.as_ref().map_or(0, |p| p.len() as u64))),
                MAX_ICC_BYTES >> 20
            )
        });
    let icc = icc.filter(|p| p.len() as u64 <= MAX_ICC_BYTES);
    // Both decoders must agree on what the file is before the fast one is trusted with it.
    let jpeg =
        (format == InputFormat::Jpeg).then(|| jpeg::header(bytes)).flatten().filter(|j| (j.width, j.height) == (w, h));
    let (dw, dh) = if swaps_axes(orientation) { (h, w) } else { (w, h) };
    let info = InputInfo {
        format,
        width: dw,
        height: dh,
        bytes: bytes.len() as u64,
        orientation: exif_value(orientation),
        had_alpha: color.has_alpha(),
        chroma_subsampled: format == InputFormat::Jpeg
            && headers::jpeg_frame(bytes).is_some_and(|f| f.chroma_subsampled),
        color_profile: icc_note,
    };
    Ok(Probe { decoder: Box::new(decoder), jpeg, orientation, info, icc })
}

/// Checks what the container declares before a decoder sees it: the JPEG coding process,
/// its scan count and its end; WebP chunk sizes. Returns the declared colour profile size
/// (JPEG, WebP; a PNG's is compressed and bounded by the decoder's limit instead).
fn check_container(format: InputFormat, bytes: &[u8], what: &str) -> Result<u64, JobError> {
    match format {
        InputFormat::Jpeg => {
            if let Some(frame) = headers::jpeg_frame(bytes) {
                if let Some(kind) = frame.unsupported() {
                    return Err(JobError::new(
                        ErrorCode::UnsupportedImage,
                        format!("{what} is {kind}, which is not supported; save it as an 8-bit JPEG or a PNG"),
                    ));
                }
                if frame.too_many_scans() {
                    return Err(JobError::new(
                        ErrorCode::ImageTooLarge,
                        format!(
                            "{what} is a progressive JPEG of {} scans; at most {MAX_JPEG_SCANS} are accepted (so many scans make decoding a bomb); save it again",
                            frame.scans
                        ),
                    ));
                }
            }
            if !headers::jpeg_is_complete(bytes) {
                return Err(JobError::new(
                    ErrorCode::InvalidImage,
                    format!("{what} is a truncated JPEG (its end-of-image marker is missing); upload the file again"),
                ));
            }
            Ok(headers::jpeg_icc_bytes(bytes))
        }
        InputFormat::Webp => headers::webp_chunks(bytes)
            .map_err(|e| JobError::new(ErrorCode::InvalidImage, format!("{what} is a damaged WebP file: {e}"))),
        InputFormat::Png => Ok(0),
    }
}

/// Decodes to 8-bit RGB on white: libjpeg-turbo for the JPEGs it reads, the `image` crate
/// for everything else and for any JPEG libjpeg-turbo declines (which then decodes it or
/// says why not).
fn pixels<'a>(
    decoder: Box<dyn ImageDecoder + 'a>,
    bytes: &[u8],
    jpeg: Option<&jpeg::Header>,
    what: &str,
    times: &mut StageTimes,
    t: std::time::Instant,
) -> Result<(RgbImage, bool), JobError> {
    if let Some(rgb) = jpeg.and_then(|j| jpeg::decode_rgb(bytes, j)) {
        times.decode += ms_since(t);
        return Ok((rgb, false));
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, what))?;
    times.decode += ms_since(t);
    let t = std::time::Instant::now();
    let had_alpha = img.color().has_alpha();
    let rgb = into_rgb_on_white(img);
    times.convert += ms_since(t);
    Ok((rgb, had_alpha))
}

fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Converts pixels from an embedded ICC profile to sRGB (Nova Canvas, like browsers, reads
/// untagged RGB as sRGB). Phones tag photos Display P3, cameras Adobe RGB: sent as they are,
/// their colours would shift. Profiles with sRGB primaries are left alone; a profile that
/// cannot be parsed or converted is ignored and said so.
pub fn to_srgb(img: &mut RgbImage, icc: &[u8]) -> String {
    let profile = match moxcms::ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => return format!("ignored (unreadable ICC profile: {e:?})"),
    };
    let name = profile_name(&profile);
    let srgb = moxcms::ColorProfile::new_srgb();
    if has_srgb_primaries(&profile) {
        return "sRGB".to_owned();
    }
    let options = moxcms::TransformOptions::default();
    let transform = match profile.create_transform_8bit(moxcms::Layout::Rgb, &srgb, moxcms::Layout::Rgb, options) {
        Ok(t) => t,
        Err(e) => return format!("ignored ({name}: cannot convert: {e:?})"),
    };
    // In bands, so the extra memory is a few rows, not a second image.
    let band = img.width() as usize * 3 * 64;
    let mut out = vec![0u8; band];
    for chunk in img.chunks_mut(band) {
        let dst = &mut out[..chunk.len()];
        if transform.transform(chunk, dst).is_err() {
            return format!("ignored ({name}: conversion failed)");
        }
        chunk.copy_from_slice(dst);
    }
    format!("converted to sRGB from {name}")
}

fn has_srgb_primaries(profile: &moxcms::ColorProfile) -> bool {
    let srgb = moxcms::ColorProfile::new_srgb();
    let close = |a: moxcms::Xyzd, b: moxcms::Xyzd| (a.x - b.x).abs() + (a.y - b.y).abs() + (a.z - b.z).abs() < 0.003;
    close(profile.red_colorant, srgb.red_colorant)
        && close(profile.green_colorant, srgb.green_colorant)
        && close(profile.blue_colorant, srgb.blue_colorant)
}

/// Whether [`to_srgb`] would change pixels for this profile.
fn icc_needs_conversion(icc: &[u8]) -> bool {
    moxcms::ColorProfile::new_from_slice(icc).is_ok_and(|p| !has_srgb_primaries(&p))
}

fn profile_name(p: &moxcms::ColorProfile) -> String {
    let text = match &p.description {
        Some(moxcms::ProfileText::PlainString(s)) => s.clone(),
        Some(moxcms::ProfileText::Localizable(v)) => v.first().map(|l| l.value.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    let text = text.trim_matches(char::from(0)).trim().to_owned();
    if text.is_empty() {
        "an unnamed profile".to_owned()
    } else {
        text
    }
}

/// How much colour resolution a prepared photo keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// All of it: the picture may be sent losslessly (PNG).
    Full,
    /// Half in each direction for a 4:2:0 JPEG upload, kept as planes and sent as they are
    /// when the request is a 4:2:0 JPEG anyway (which keeps no more): about 40 ms less per
    /// 12 MP photo.
    Half,
}

impl Chroma {
    /// What a request with this encoding setting needs: `png` sends every upload losslessly;
    /// `auto` and `jpeg` send a 4:2:0 JPEG upload as a 4:2:0 JPEG.
    pub fn for_request(choice: RequestEncoding) -> Chroma {
        match choice {
            RequestEncoding::Png => Chroma::Full,
            RequestEncoding::Auto | RequestEncoding::Jpeg => Chroma::Half,
        }
    }
}

/// Prepares a source or garment image for Nova Canvas, keeping all its colour resolution.
pub fn prepare(bytes: &[u8], limits: &Limits, what: &str) -> Result<Prepared, JobError> {
    prepare_with(bytes, limits, what, Chroma::Full)
}

/// [`prepare`] for a request that needs only `chroma`.
pub fn prepare_with(bytes: &[u8], limits: &Limits, what: &str, chroma: Chroma) -> Result<Prepared, JobError> {
    prepare_timed(bytes, limits, what, chroma, &mut StageTimes::default())
}

/// [`prepare_with`], recording the time of each step (for the benchmark).
pub fn prepare_timed(
    bytes: &[u8],
    limits: &Limits,
    what: &str,
    chroma: Chroma,
    times: &mut StageTimes,
) -> Result<Prepared, JobError> {
    let t = std::time::Instant::now();
    let probe = probe(bytes, limits, what)?;
    let orientation = probe.orientation;
    let layout = layout(probe.info.width, probe.info.height);
    let (cw, ch) = (layout.content.width, layout.content.height);
    let stored = if swaps_axes(orientation) { (ch, cw) } else { (cw, ch) };
    // A 4:2:0 photo: decoded, resized and turned upright as planes (timed as decode).
    // Half chroma only where the planes can be sent as they are: no colour conversion to
    // make, no padding to add.
    let half = chroma == Chroma::Half && !layout.padded() && !probe.icc.as_deref().is_some_and(icc_needs_conversion);
    let fast = probe.jpeg.as_ref().and_then(|j| jpeg::decode_resized(bytes, j, stored, orientation, half));
    let mut planes = None;
    let (mut upright, mut input, icc) = match fast {
        Some(resized) => {
            times.decode += ms_since(t);
            let rgb = match resized {
                jpeg::Resized::Rgb(rgb) => rgb,
                jpeg::Resized::Planes(p, rgb) => {
                    planes = Some(Arc::new(p));
                    rgb
                }
            };
            (rgb, InputInfo { had_alpha: false, ..probe.info }, probe.icc)
        }
        None => {
            let (rgb, had_alpha) = pixels(probe.decoder, bytes, probe.jpeg.as_ref(), what, times, t)?;
            let t = std::time::Instant::now();
            let resized = resize_rgb(rgb, stored.0, stored.1)?;
            times.resize += ms_since(t);
            let t = std::time::Instant::now();
            let upright = orient(resized, orientation);
            times.orient += ms_since(t);
            (upright, InputInfo { had_alpha, ..probe.info }, probe.icc)
        }
    };
    let t = std::time::Instant::now();
    if let Some(icc) = icc {
        input.color_profile = Some(to_srgb(&mut upright, &icc));
    }
    times.color += ms_since(t);
    let t = std::time::Instant::now();
    let canvas = pad(upright, &layout);
    times.pad += ms_since(t);
    Ok(Prepared { canvas, layout, input, planes })
}

/// Converts an `imageBasedMask` upload into a pure black/white mask on the source's canvas.
/// The mask must have the source's aspect ratio (it is usually drawn on the source photo);
/// grey anti-aliasing is thresholded, but a picture that is not black and white is refused.
pub fn prepare_mask(bytes: &[u8], limits: &Limits, source: &InputInfo, layout: &Layout) -> Result<RgbImage, JobError> {
    let what = "the mask image";
    let Decoded { rgb, orientation, info, .. } = decode(bytes, limits, what).map_err(|e| match e.code {
        ErrorCode::InvalidImage | ErrorCode::UnsupportedImage => JobError::new(ErrorCode::InvalidMask, e.message),
        _ => e,
    })?;
    let (mw, mh) = (info.width as f64, info.height as f64);
    let (sw, sh) = (source.width as f64, source.height as f64);
    if ((mw / mh) / (sw / sh) - 1.0).abs() > 0.01 {
        return Err(JobError::new(
            ErrorCode::InvalidMask,
            format!(
                "the mask is {}x{} but the source photo is {}x{}; draw the mask at the source photo's size",
                info.width, info.height, source.width, source.height
            ),
        ));
    }
    let luma: Vec<u8> = rgb
        .pixels()
        .map(|p| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114 + 500) / 1000) as u8)
        .collect();
    let total = luma.len().max(1);
    let grey = luma.iter().filter(|&&v| (32..224).contains(&v)).count();
    if grey * 20 > total {
        return Err(JobError::new(
            ErrorCode::InvalidMask,
            format!("the mask is not black and white ({:.0}% of pixels are grey or coloured); use pure black (0,0,0) for the area to change and white for the rest", grey as f64 * 100.0 / total as f64),
        ));
    }
    if !luma.iter().any(|&v| v < 128) {
        return Err(JobError::new(
            ErrorCode::InvalidMask,
            "the mask has no black area; paint the area to change in pure black",
        ));
    }
    let (w, h) = rgb.dimensions();
    drop(rgb);
    let (cw, ch) = (layout.content.width, layout.content.height);
    let stored = if swaps_axes(orientation) { (ch, cw) } else { (cw, ch) };
    let resized = resize_u8(luma, w, h, stored.0, stored.1, fr::PixelType::U8)?;
    let mut bw = RgbImage::new(stored.0, stored.1);
    for (p, v) in bw.pixels_mut().zip(resized) {
        let c = if v < 128 { 0 } else { 255 };
        *p = image::Rgb([c, c, c]);
    }
    Ok(pad(orient(bw, orientation), layout))
}

/// Takes a model output (the canvas) back to the picture: crops the padding and returns PNG
/// bytes. An unpadded PNG of the canvas size is passed through untouched.
pub fn finish_output(bytes: &[u8], layout: &Layout, limits: &Limits, what: &str) -> Result<Vec<u8>, JobError> {
    let bad = |m: String| JobError::new(ErrorCode::Internal, format!("the model returned an unusable {what}: {m}"));
    let format = image::guess_format(bytes).map_err(|_| bad("not an image".into()))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut l = image::Limits::default();
    l.max_image_width = Some(MAX_SIDE * 2);
    l.max_image_height = Some(MAX_SIDE * 2);
    l.max_alloc = Some(limits.max_decode_alloc);
    reader.limits(l);
    let decoder = reader.into_decoder().map_err(|e| bad(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    // Nothing to crop: a PNG goes out as it came, whatever its size.
    if format == ImageFormat::Png && !layout.padded() {
        return Ok(bytes.to_vec());
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| bad(e.to_string()))?;
    // The output should be the canvas size; if it is not, map the content rectangle onto it.
    let sx = w as f64 / layout.canvas_width as f64;
    let sy = h as f64 / layout.canvas_height as f64;
    let c = layout.content;
    let x = ((c.x as f64 * sx).round() as u32).min(w.saturating_sub(1));
    let y = ((c.y as f64 * sy).round() as u32).min(h.saturating_sub(1));
    let cw = ((c.width as f64 * sx).round() as u32).clamp(1, w - x);
    let ch = ((c.height as f64 * sy).round() as u32).clamp(1, h - y);
    let cropped = img.crop_imm(x, y, cw, ch);
    encode_dynamic_png(&cropped).map_err(|e| bad(e.message))
}

/// Encodes a prepared image for the request: a 4:2:0 JPEG straight from its planes when it
/// has them, else from the canvas.
pub fn encode_prepared(p: &Prepared, encoding: Encoding, subsample: bool) -> Result<Vec<u8>, JobError> {
    match (&p.planes, encoding, subsample) {
        (Some(planes), Encoding::Jpeg, true) => planes.encode(JPEG_QUALITY).map_err(|e| {
            JobError::new(
                ErrorCode::Internal,
                format!("encoding a {}x{} image failed: {e}", planes.width, planes.height),
            )
        }),
        _ => encode_with(&p.canvas, encoding, subsample),
    }
}

/// Encodes an RGB image for the request.
pub fn encode(img: &RgbImage, encoding: Encoding) -> Result<Vec<u8>, JobError> {
    encode_with(img, encoding, false)
}

/// [`encode`], with 4:2:0 chroma for a JPEG when `subsample` (the upload was subsampled).
pub fn encode_with(img: &RgbImage, encoding: Encoding, subsample: bool) -> Result<Vec<u8>, JobError> {
    let (w, h) = img.dimensions();
    let fail = |e: String| JobError::new(ErrorCode::Internal, format!("encoding a {w}x{h} image failed: {e}"));
    match encoding {
        Encoding::Jpeg => jpeg::encode_rgb(img, JPEG_QUALITY, subsample).map_err(fail),
        Encoding::Png => encode_dynamic_png(&DynamicImage::ImageRgb8(img.clone())).map_err(|e| fail(e.message)),
    }
}

/// Encodes as PNG with fast compression (zlib level 6 costs seconds per photo for a few
/// percent of size).
pub fn encode_png_rgb(img: &RgbImage) -> Result<Vec<u8>, JobError> {
    png_bytes(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
}

fn encode_dynamic_png(img: &DynamicImage) -> Result<Vec<u8>, JobError> {
    match img {
        DynamicImage::ImageRgb8(i) => encode_png_rgb(i),
        DynamicImage::ImageLuma8(i) => png_bytes(i.as_raw(), i.width(), i.height(), image::ExtendedColorType::L8),
        other => encode_png_rgb(&other.to_rgb8()),
    }
}

fn png_bytes(raw: &[u8], w: u32, h: u32, color: image::ExtendedColorType) -> Result<Vec<u8>, JobError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut out = Vec::with_capacity(raw.len() / 2);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(raw, w, h, color)
        .map_err(|e| JobError::new(ErrorCode::Internal, format!("PNG encoding failed: {e}")))?;
    Ok(out)
}

/// Composites any alpha onto white and converts to 8-bit RGB (grey, 16-bit and palette
/// images included).
pub fn into_rgb_on_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    // In place: pixel i's RGB (at 3i) never passes its RGBA (at 4i), so no second buffer.
    let mut buf = rgba.into_raw();
    let n = w as usize * h as usize;
    for i in 0..n {
        let a = buf[4 * i + 3] as u32;
        // Cut-outs are mostly opaque or fully transparent: both without arithmetic.
        if a == 255 {
            buf.copy_within(4 * i..4 * i + 3, 3 * i);
            continue;
        }
        if a == 0 {
            buf[3 * i..3 * i + 3].fill(255);
            continue;
        }
        for c in 0..3 {
            // (v·a + 255·(255−a)) / 255, rounded: exact for every 8-bit v and a.
            let x = buf[4 * i + c] as u32 * a + 255 * (255 - a) + 128;
            buf[3 * i + c] = ((x + (x >> 8)) >> 8) as u8;
        }
    }
    buf.truncate(n * 3);
    buf.shrink_to_fit();
    RgbImage::from_raw(w, h, buf).unwrap_or_default()
}

fn swaps_axes(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation::*;
    matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
}

fn exif_value(o: image::metadata::Orientation) -> u8 {
    o.to_exif()
}

fn orient(img: RgbImage, o: image::metadata::Orientation) -> RgbImage {
    use image::metadata::Orientation::*;
    match o {
        NoTransforms => return img,
        // Phones store portraits as 6 or 8: a cache-blocked quarter turn.
        Rotate90 => return rotate_quarter(&img, true),
        Rotate270 => return rotate_quarter(&img, false),
        _ => {}
    }
    let mut d = DynamicImage::ImageRgb8(img);
    d.apply_orientation(o);
    d.into_rgb8()
}

/// A quarter turn (clockwise or not) in blocks, so both images stream through the cache
/// instead of striding across a 12 MB buffer per pixel. Each destination row of a block is
/// one source column: written sequentially, read with a fixed stride.
fn rotate_quarter(src: &RgbImage, clockwise: bool) -> RgbImage {
    const B: usize = 64;
    let (w, h) = (src.width() as usize, src.height() as usize);
    let s = src.as_raw();
    let mut out = vec![0u8; s.len()];
    // Destination is h wide and w tall. Clockwise: dst(x', y') = src(y', h-1-x');
    // counter-clockwise: dst(x', y') = src(w-1-y', x').
    for by in (0..w).step_by(B) {
        for bx in (0..h).step_by(B) {
            let xe = (bx + B).min(h);
            for dy in by..(by + B).min(w) {
                let sx = if clockwise { dy } else { w - 1 - dy };
                let drow = &mut out[(dy * h + bx) * 3..(dy * h + xe) * 3];
                for (i, d) in drow.chunks_exact_mut(3).enumerate() {
                    let dx = bx + i;
                    let sy = if clockwise { h - 1 - dx } else { dx };
                    let si = (sy * w + sx) * 3;
                    d.copy_from_slice(&s[si..si + 3]);
                }
            }
        }
    }
    RgbImage::from_raw(h as u32, w as u32, out).unwrap_or_default()
}

fn resize_rgb(img: RgbImage, w: u32, h: u32) -> Result<RgbImage, JobError> {
    if img.dimensions() == (w, h) {
        return Ok(img);
    }
    let (sw, sh) = img.dimensions();
    let out = resize_u8(img.into_raw(), sw, sh, w, h, fr::PixelType::U8x3)?;
    RgbImage::from_raw(w, h, out)
        .ok_or_else(|| JobError::new(ErrorCode::Internal, "resize produced a buffer of the wrong size"))
}

/// The largest size with `size`'s aspect ratio that fits in `bounds`, at least 1×1.
pub fn fit_in_box((w, h): (u32, u32), (bw, bh): (u32, u32)) -> (u32, u32) {
    let s = (bw as f64 / w.max(1) as f64).min(bh as f64 / h.max(1) as f64);
    (((w as f64 * s).round() as u32).clamp(1, bw.max(1)), ((h as f64 * s).round() as u32).clamp(1, bh.max(1)))
}

/// The picture without padding, scaled into `bounds` (for previews such as the comparison
/// sheet). Cheap: the source is borrowed and the output is small.
pub fn preview(canvas: &RgbImage, content: Rect, bounds: (u32, u32)) -> Result<RgbImage, JobError> {
    let (width, height) = fit_in_box((content.width, content.height), bounds);
    let fail = |e: String| JobError::new(ErrorCode::Internal, format!("making a preview failed: {e}"));
    let src = fr::images::ImageRef::new(canvas.width(), canvas.height(), canvas.as_raw(), fr::PixelType::U8x3)
        .map_err(|e| fail(e.to_string()))?;
    let mut dst = fr::images::Image::new(width, height, fr::PixelType::U8x3);
    let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear)).crop(
        content.x as f64,
        content.y as f64,
        content.width as f64,
        content.height as f64,
    );
    fr::Resizer::new().resize(&src, &mut dst, &opts).map_err(|e| fail(e.to_string()))?;
    RgbImage::from_raw(width, height, dst.into_vec()).ok_or_else(|| fail("size".into()))
}

/// Bytes of fast_image_resize's temporary (source row × output rows) per band of
/// [`resize_region`]: a band costs a fixed setup, so bands are as large as this allows.
const RESIZE_BAND_BYTES: usize = 8 << 20;

fn resize_u8(buf: Vec<u8>, sw: u32, sh: u32, w: u32, h: u32, pixel: fr::PixelType) -> Result<Vec<u8>, JobError> {
    if (sw, sh) == (w, h) {
        return Ok(buf);
    }
    let fail = |e: String| JobError::new(ErrorCode::Internal, format!("resizing {sw}x{sh} to {w}x{h} failed: {e}"));
    let src = fr::images::ImageRef::new(sw, sh, &buf, pixel).map_err(|e| fail(e.to_string()))?;
    resize_region(&src, (sw as f64, sh as f64), w, h, pixel, fr::FilterType::Lanczos3)
}

/// Resize of the `region` (width, height from the top-left corner) of `src` onto `w`×`h` with
/// `filter`, in bands of output rows. fast_image_resize keeps a temporary of `source width ×
/// destination height` (21 MB for a 12 MP RGB photo); each band here is a crop of the region
/// whose sample positions equal the full resize's (kernels are clamped to the image, not to
/// the crop), so the output is the same with a temporary of one band (at most 8 MB).
pub(crate) fn resize_region(
    src: &impl fr::IntoImageView,
    region: (f64, f64),
    w: u32,
    h: u32,
    pixel: fr::PixelType,
    filter: fr::FilterType,
) -> Result<Vec<u8>, JobError> {
    let fail = |e: String| {
        JobError::new(ErrorCode::Internal, format!("resizing {:.0}x{:.0} to {w}x{h} failed: {e}", region.0, region.1))
    };
    let row = w as usize * pixel.size();
    let mut out = vec![0u8; row * h as usize];
    let src_row = (region.0.ceil() as usize).max(1) * pixel.size();
    let band_rows = u32::try_from(RESIZE_BAND_BYTES / src_row).unwrap_or(u32::MAX).max(64);
    let mut resizer = fr::Resizer::new();
    let step = region.1 / h as f64;
    let mut y = 0;
    while y < h {
        let rows = band_rows.min(h - y);
        let band = &mut out[y as usize * row..(y + rows) as usize * row];
        let mut dst = fr::images::Image::from_slice_u8(w, rows, band, pixel).map_err(|e| fail(e.to_string()))?;
        let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter)).crop(
            0.0,
            y as f64 * step,
            region.0,
            (rows as f64 * step).min(region.1 - y as f64 * step),
        );
        resizer.resize(src, &mut dst, &opts).map_err(|e| fail(e.to_string()))?;
        y += rows;
    }
    Ok(out)
}

fn pad(img: RgbImage, layout: &Layout) -> RgbImage {
    if !layout.padded() {
        return img;
    }
    let mut canvas = RgbImage::from_pixel(layout.canvas_width, layout.canvas_height, image::Rgb([255, 255, 255]));
    image::imageops::replace(&mut canvas, &img, layout.content.x as i64, layout.content.y as i64);
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_subsampled(bytes: &[u8]) -> bool {
        headers::jpeg_frame(bytes).is_some_and(|f| f.chroma_subsampled)
    }
    use image::{GrayImage, Luma, Rgb, Rgba, RgbaImage};

    fn within_nova(p: &Layout) {
        let (w, h) = (p.canvas_width as u64, p.canvas_height as u64);
        assert!(
            (MIN_SIDE as u64..=MAX_SIDE as u64).contains(&w) && (MIN_SIDE as u64..=MAX_SIDE as u64).contains(&h),
            "{p:?}"
        );
        assert!(w * h <= MAX_PIXELS, "{p:?}");
        assert!(w <= 4 * h && h <= 4 * w, "{p:?}");
        let c = p.content;
        assert!(c.x + c.width <= p.canvas_width && c.y + c.height <= p.canvas_height, "{p:?}");
    }

    fn keeps_aspect(w: u32, h: u32, p: &Layout) {
        // ±1 px: the content's short side equals the exact scaled value rounded.
        let c = p.content;
        let exact_h = c.width as f64 * h as f64 / w as f64;
        let exact_w = c.height as f64 * w as f64 / h as f64;
        assert!(
            (c.height as f64 - exact_h).abs() <= 1.0 || (c.width as f64 - exact_w).abs() <= 1.0,
            "{w}x{h} -> {p:?}"
        );
    }

    #[test]
    fn layout_examples() {
        let p = layout(3024, 4032);
        assert_eq!((p.canvas_width, p.canvas_height), (1773, 2364));
        assert!(!p.padded());
        let p = layout(1024, 1024);
        assert_eq!((p.canvas_width, p.canvas_height, p.padded()), (1024, 1024, false));
        let p = layout(100, 150);
        assert_eq!((p.canvas_width, p.canvas_height), (320, 480));
        let p = layout(2048, 2048);
        assert_eq!((p.canvas_width, p.canvas_height), (2047, 2047));
        let p = layout(1, 10_000);
        assert!(p.padded());
        assert_eq!(p.content.width, 1);
        assert_eq!(p.canvas_height, 4095);
        let p = layout(5000, 1000);
        assert!(p.padded());
        assert_eq!(p.content.height * 5, p.content.width);
    }

    #[test]
    fn layout_always_fits_nova_and_keeps_the_aspect_ratio() {
        let mut sizes = vec![];
        for w in [
            1, 2, 3, 79, 80, 319, 320, 321, 1000, 1279, 1280, 1281, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 16384,
            65535,
        ] {
            for h in [1, 2, 5, 80, 319, 320, 321, 999, 1024, 2048, 3023, 4096, 5000, 16384, 65535] {
                sizes.push((w, h));
            }
        }
        let mut x: u64 = 0x9E3779B97F4A7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            sizes.push(((x % 20_000 + 1) as u32, ((x >> 32) % 20_000 + 1) as u32));
        }
        for (w, h) in sizes {
            let p = layout(w, h);
            within_nova(&p);
            keeps_aspect(w, h, &p);
            if w <= 4 * h && h <= 4 * w {
                assert!(
                    !p.padded()
                        || p.content.width.abs_diff(p.canvas_width) <= 1
                            && p.content.height.abs_diff(p.canvas_height) <= 1,
                    "{w}x{h} {p:?}"
                );
            }
        }
    }

    fn jpeg(img: &RgbImage) -> Vec<u8> {
        encode(img, Encoding::Jpeg).unwrap()
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn sniffs_formats_from_bytes_not_names() {
        let img = RgbImage::from_pixel(4, 4, Rgb([1, 2, 3]));
        assert_eq!(sniff(&jpeg(&img)).unwrap(), InputFormat::Jpeg);
        assert_eq!(sniff(&encode_png_rgb(&img).unwrap()).unwrap(), InputFormat::Png);
        assert_eq!(sniff(b"").unwrap_err().code, ErrorCode::InvalidImage);
        for (bytes, name) in [
            (&b"GIF89a\x01\x00\x01\x00"[..], "GIF"),
            (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
            (b"<?xml version=\"1.0\"?><svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
            (b"hello, this is text", "not a recognised image"),
        ] {
            let e = sniff(bytes).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnsupportedImage);
            assert!(e.message.contains(name), "{}", e.message);
        }
    }

    #[test]
    fn small_photo_is_upscaled_and_alpha_flattened_on_white() {
        let mut img = RgbaImage::from_pixel(100, 200, Rgba([255, 0, 0, 255]));
        img.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, Rgba([0, 0, 0, 128]));
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(img).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let p = prepare(&png, &limits(), "garment").unwrap();
        assert_eq!(p.canvas.dimensions(), (320, 640));
        assert!(p.input.had_alpha);
        assert_eq!(p.input.format, InputFormat::Png);
        // Red stays red; the transparent corner became white.
        assert_eq!(p.canvas.get_pixel(160, 320), &Rgb([255, 0, 0]));
        let corner = p.canvas.get_pixel(0, 0);
        assert!(corner[1] > 200 && corner[2] > 200, "{corner:?}");
    }

    #[test]
    fn flattening_is_exact_per_pixel() {
        let img = RgbaImage::from_fn(3, 1, |x, _| Rgba([0, 0, 0, [0, 128, 255][x as usize]]));
        let rgb = into_rgb_on_white(DynamicImage::ImageRgba8(img));
        assert_eq!(rgb.as_raw(), &[255, 255, 255, 127, 127, 127, 0, 0, 0]);
        let grey = into_rgb_on_white(DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(1, 1, Luma([65535u16]))));
        assert_eq!(grey.as_raw(), &[255, 255, 255]);
    }

    #[test]
    fn thin_image_is_padded_with_white_and_cropped_back() {
        let img = RgbImage::from_pixel(2000, 400, Rgb([0, 0, 200]));
        let p = prepare(&encode_png_rgb(&img).unwrap(), &limits(), "source").unwrap();
        assert!(p.layout.padded());
        assert_eq!(p.canvas.dimensions(), (2000, 500));
        let c = p.layout.content;
        assert_eq!((c.x, c.y, c.width, c.height), (0, 50, 2000, 400));
        assert_eq!(p.canvas.get_pixel(800, 10), &Rgb([255, 255, 255]));
        assert_eq!(p.canvas.get_pixel(800, 250), &Rgb([0, 0, 200]));
        assert_eq!(p.canvas.get_pixel(800, 490), &Rgb([255, 255, 255]));
        let out = finish_output(&encode_png_rgb(&p.canvas).unwrap(), &p.layout, &limits(), "result").unwrap();
        let back = image::load_from_memory(&out).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (c.width, c.height));
        assert!(back.pixels().all(|px| px == &Rgb([0, 0, 200])));
    }

    #[test]
    fn unpadded_png_outputs_pass_through_untouched() {
        let img = RgbImage::from_pixel(400, 400, Rgb([9, 9, 9]));
        let png = encode_png_rgb(&img).unwrap();
        assert_eq!(finish_output(&png, &layout(400, 400), &limits(), "result").unwrap(), png);
    }

    #[test]
    fn decode_limits_apply_before_pixels() {
        let img = RgbImage::from_pixel(600, 500, Rgb([9, 9, 9]));
        let png = encode_png_rgb(&img).unwrap();
        let tight = Limits { max_input_pixels: 100_000, ..limits() };
        assert_eq!(prepare(&png, &tight, "source").unwrap_err().code, ErrorCode::ImageTooLarge);
        let narrow = Limits { max_input_side: 550, ..limits() };
        assert_eq!(prepare(&png, &narrow, "source").unwrap_err().code, ErrorCode::ImageTooLarge);
        let truncated = &png[..png.len() / 2];
        assert_eq!(prepare(truncated, &limits(), "source").unwrap_err().code, ErrorCode::InvalidImage);
        let jpg = jpeg(&img);
        assert_eq!(prepare(&jpg[..jpg.len() - 100], &limits(), "source").unwrap_err().code, ErrorCode::InvalidImage);
        let mut trailer = jpg.clone();
        trailer.extend(b"camera trailer data after EOI");
        assert!(prepare(&trailer, &limits(), "source").is_ok());
    }

    #[test]
    fn masks_become_pure_black_and_white_on_the_canvas() {
        let source = InputInfo {
            format: InputFormat::Jpeg,
            width: 800,
            height: 1000,
            bytes: 0,
            orientation: 1,
            had_alpha: false,
            chroma_subsampled: false,
            color_profile: None,
        };
        let layout = layout(800, 1000);
        let mut m = GrayImage::from_pixel(400, 500, Luma([255]));
        for y in 100..300 {
            for x in 100..300 {
                m.put_pixel(x, y, Luma([if x == 100 { 90 } else { 0 }]));
            }
        }
        let mut png = Vec::new();
        DynamicImage::ImageLuma8(m).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let out = prepare_mask(&png, &limits(), &source, &layout).unwrap();
        assert_eq!(out.dimensions(), (layout.canvas_width, layout.canvas_height));
        assert!(out.pixels().all(|p| p == &Rgb([0, 0, 0]) || p == &Rgb([255, 255, 255])));
        assert_eq!(out.get_pixel(400, 400), &Rgb([0, 0, 0]));
        assert_eq!(out.get_pixel(10, 10), &Rgb([255, 255, 255]));

        let wrong = encode_png_rgb(&RgbImage::from_pixel(500, 500, Rgb([0, 0, 0]))).unwrap();
        let e = prepare_mask(&wrong, &limits(), &source, &layout).unwrap_err();
        assert!(e.code == ErrorCode::InvalidMask && e.message.contains("500x500"), "{e}");
        let photo = encode_png_rgb(&RgbImage::from_fn(400, 500, |x, _| Rgb([(x % 256) as u8, 100, 50]))).unwrap();
        assert_eq!(prepare_mask(&photo, &limits(), &source, &layout).unwrap_err().code, ErrorCode::InvalidMask);
        let white = encode_png_rgb(&RgbImage::from_pixel(400, 500, Rgb([255, 255, 255]))).unwrap();
        assert!(prepare_mask(&white, &limits(), &source, &layout).unwrap_err().message.contains("no black area"));
    }

    #[test]
    fn fast_quarter_turns_equal_the_image_crates() {
        let img = RgbImage::from_fn(67, 45, |x, y| Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8]));
        for (o, cw) in
            [(image::metadata::Orientation::Rotate90, true), (image::metadata::Orientation::Rotate270, false)]
        {
            let mut d = DynamicImage::ImageRgb8(img.clone());
            d.apply_orientation(o);
            assert_eq!(rotate_quarter(&img, cw), d.into_rgb8(), "{o:?}");
        }
    }

    #[test]
    fn half_chroma_planes_are_kept_only_where_they_can_be_sent_as_they_are() {
        let photo = |w: u32, h: u32| {
            let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]));
            encode_with(&img, Encoding::Jpeg, true).unwrap()
        };
        let jpeg = photo(900, 700);
        let p = prepare_with(&jpeg, &limits(), "photo", Chroma::Half).unwrap();
        let planes = p.planes.as_ref().expect("a 4:2:0 JPEG keeps its planes");
        assert_eq!((planes.width as u32, planes.height as u32), p.canvas.dimensions());
        let sent = encode_prepared(&p, Encoding::Jpeg, true).unwrap();
        assert!(headers_subsampled(&sent));
        assert_eq!(image::load_from_memory(&sent).unwrap().to_rgb8().dimensions(), p.canvas.dimensions());
        // PNG requests and 4:4:4 requests use the canvas.
        assert!(image::load_from_memory(&encode_prepared(&p, Encoding::Png, false).unwrap()).is_ok());
        assert!(prepare_with(&jpeg, &limits(), "photo", Chroma::Full).unwrap().planes.is_none());
        // A panorama is padded: the padding exists only on the canvas.
        let wide = prepare_with(&photo(2000, 400), &limits(), "panorama", Chroma::Half).unwrap();
        assert!(wide.layout.padded() && wide.planes.is_none());
    }

    #[test]
    fn the_decode_allocation_cap_holds_for_libjpeg_turbo_too() {
        let img = RgbImage::from_pixel(1000, 800, Rgb([9, 99, 199]));
        let jpeg = encode_with(&img, Encoding::Jpeg, true).unwrap();
        let small = Limits { max_decode_alloc: 2_000_000, ..limits() };
        for chroma in [Chroma::Full, Chroma::Half] {
            let e = prepare_with(&jpeg, &small, "the photo", chroma).unwrap_err();
            assert_eq!(e.code, ErrorCode::ImageTooLarge, "{e:?}");
            assert!(e.message.contains("MAX_DECODE_ALLOC_BYTES"), "{}", e.message);
        }
        assert!(prepare_with(&jpeg, &limits(), "the photo", Chroma::Half).is_ok());
    }

    #[test]
    fn jpeg_chroma_sampling_is_read_from_the_header() {
        let img = RgbImage::from_pixel(64, 64, Rgb([1, 2, 3]));
        assert!(!headers_subsampled(&encode_with(&img, Encoding::Jpeg, false).unwrap()));
        assert!(headers_subsampled(&encode_with(&img, Encoding::Jpeg, true).unwrap()));
        assert!(!headers_subsampled(b"\xFF\xD8garbage"));
    }

    #[test]
    fn banded_resize_equals_a_whole_resize() {
        let (sw, sh, w, h) = (1003u32, 777u32, 587u32, 455u32);
        let img: Vec<u8> = (0..(sw * sh * 3) as u64).map(|i| ((i * 7919) % 251) as u8).collect();
        let banded = resize_u8(img.clone(), sw, sh, w, h, fr::PixelType::U8x3).unwrap();
        let src = fr::images::Image::from_vec_u8(sw, sh, img, fr::PixelType::U8x3).unwrap();
        let mut dst = fr::images::Image::new(w, h, fr::PixelType::U8x3);
        let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
        fr::Resizer::new().resize(&src, &mut dst, &opts).unwrap();
        let whole = dst.into_vec();
        let max_diff = banded.iter().zip(&whole).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(max_diff <= 1, "banded and whole resizes differ by up to {max_diff}");
        let upscaled = resize_u8(vec![7u8; 10 * 20 * 3], 10, 20, 320, 640, fr::PixelType::U8x3).unwrap();
        assert!(upscaled.iter().all(|&v| v == 7));
    }

    #[test]
    fn all_eight_exif_orientations_come_out_upright() {
        // An asymmetric picture: a red block top-left, a blue block bottom-right.
        let upright = RgbImage::from_fn(360, 480, |x, y| match (x < 120 && y < 120, x >= 240 && y >= 360) {
            (true, _) => Rgb([220, 20, 20]),
            (_, true) => Rgb([20, 20, 220]),
            _ => Rgb([240, 240, 240]),
        });
        for o in 1..=8u16 {
            let jpeg = crate::samples::phone_jpeg(&upright, o).unwrap();
            let p = prepare(&jpeg, &limits(), "source").unwrap();
            assert_eq!(p.input.orientation as u16, o);
            assert_eq!((p.input.width, p.input.height), (360, 480), "orientation {o}");
            assert_eq!(p.canvas.dimensions(), (360, 480), "orientation {o}");
            let tl = p.canvas.get_pixel(40, 40);
            let br = p.canvas.get_pixel(320, 440);
            assert!(tl[0] > 180 && tl[2] < 80, "orientation {o}: top-left is {tl:?}");
            assert!(br[2] > 180 && br[0] < 80, "orientation {o}: bottom-right is {br:?}");
        }
    }
}
