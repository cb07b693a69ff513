//! Reading an upload before any pixel is allocated, with every limit in place: what the
//! container declares (JPEG coding process, scan count and end; WebP chunk sizes), the
//! dimensions against the side and pixel limits, the decoder's allocation and the memory
//! budget, then the EXIF orientation and the colour profile. What it learns is the
//! [`InputInfo`] recorded in `status.json`.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{ImageDecoder, ImageError, ImageReader};
use serde::{Deserialize, Serialize};

use super::format::{sniff, InputFormat};
use super::orient::{exif_value, swaps_axes};
use super::{headers, jpeg};
use crate::core::budget;
use crate::core::error::{ErrorCode, JobError};
use crate::core::input_limits::Limits;
use crate::core::limits::{MAX_ICC_BYTES, MAX_JPEG_SCANS};

/// What the PNG decoder may allocate for chunks other than pixels (colour profiles inflated,
/// text): real files need kilobytes; a compressed profile can inflate to gigabytes.
const MAX_PNG_METADATA_BYTES: u64 = 2 * MAX_ICC_BYTES;

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

/// An input whose headers were read and checked against every limit, not yet decoded.
pub struct Probe<'a> {
    /// The `image` crate's decoder, its limits set, ready to decode.
    pub decoder: Box<dyn ImageDecoder + 'a>,
    /// libjpeg-turbo's reading of a JPEG it can decode (the fast path).
    pub jpeg: Option<jpeg::Header>,
    pub orientation: Orientation,
    /// `had_alpha` is the decoder's colour type's; the pipeline records what decoding found.
    pub info: InputInfo,
    /// The embedded ICC profile of an RGB image, when small enough to apply.
    pub icc: Option<Vec<u8>>,
}

/// Reads and checks the headers of an upload (`what` names it in messages).
pub fn probe<'a>(bytes: &'a [u8], limits: &Limits, what: &str) -> Result<Probe<'a>, JobError> {
    let format = sniff(bytes).map_err(|e| JobError::new(e.code, format!("{what}: {}", e.message)))?;
    let (declared_icc, chroma_subsampled) = check_container(format, bytes, what)?;
    let mut decoder = open(format, bytes, limits, what)?;
    let (w, h) = decoder.dimensions();
    check_pixels((w, h), limits, what)?;
    let color = decoder.color_type();
    check_budget(&decoder, format, (bytes.len() as u64, declared_icc), limits, what)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (icc, icc_note) = profile(&mut decoder, declared_icc);
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
        chroma_subsampled,
        color_profile: icc_note,
    };
    Ok(Probe { decoder: Box::new(decoder), jpeg, orientation, info, icc })
}

/// The `image` crate's decoder for the file, with its side and allocation limits set.
fn open<'a>(
    format: InputFormat,
    bytes: &'a [u8],
    limits: &Limits,
    what: &str,
) -> Result<impl ImageDecoder + 'a, JobError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_input_side);
    l.max_image_height = Some(limits.max_input_side);
    // The PNG decoder charges colour profiles (inflated), text and other chunks to this; the
    // pixels are checked against the budget below, before any decoder allocates them.
    l.max_alloc = Some(limits.max_decode_alloc.min(MAX_PNG_METADATA_BYTES));
    reader.limits(l);
    reader.into_decoder().map_err(|e| decode_error(e, what))
}

fn check_pixels((w, h): (u32, u32), limits: &Limits, what: &str) -> Result<(), JobError> {
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
    Ok(())
}

/// Refuses an input whose preparation would not fit the memory left for it, before any
/// decoder allocates its pixels.
fn check_budget(
    decoder: &impl ImageDecoder,
    format: InputFormat,
    (file_bytes, declared_icc): (u64, u64),
    limits: &Limits,
    what: &str,
) -> Result<(), JobError> {
    let (w, h) = decoder.dimensions();
    let color = decoder.color_type();
    let cost = budget::prepare_cost(&budget::Decode {
        width: w,
        height: h,
        decoded_bytes: decoder.total_bytes(),
        // WebP decoders keep frame buffers of their own beside the output.
        rgb8: color == image::ColorType::Rgb8 && format != InputFormat::Webp,
        // The JPEG decoder holds a copy of the file; profiles come on top.
        metadata_bytes: declared_icc + if format == InputFormat::Jpeg { file_bytes } else { 0 },
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
    Ok(())
}

/// The colour profile to apply and, when one is ignored for its size, the note saying so.
fn profile(decoder: &mut impl ImageDecoder, declared_icc: u64) -> (Option<Vec<u8>>, Option<String>) {
    let channels = decoder.color_type().channel_count();
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
    (icc.filter(|p| p.len() as u64 <= MAX_ICC_BYTES), icc_note)
}

/// Checks what the container declares before a decoder sees it: the JPEG coding process,
/// its scan count and its end; WebP chunk sizes. Returns the declared colour profile size
/// (JPEG, WebP; a PNG's is compressed and bounded by the decoder's limit instead) and whether
/// a JPEG's chroma is subsampled, from the one reading of its frame header.
fn check_container(format: InputFormat, bytes: &[u8], what: &str) -> Result<(u64, bool), JobError> {
    match format {
        InputFormat::Jpeg => {
            let frame = headers::jpeg_frame(bytes);
            if let Some(frame) = frame {
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
            Ok((headers::jpeg_icc_bytes(bytes), frame.is_some_and(|f| f.chroma_subsampled)))
        }
        InputFormat::Webp => headers::webp_chunks(bytes)
            .map(|icc| (icc, false))
            .map_err(|e| JobError::new(ErrorCode::InvalidImage, format!("{what} is a damaged WebP file: {e}"))),
        InputFormat::Png => Ok((0, false)),
    }
}

/// The error for what a decoder said about an upload: too large, unsupported or damaged.
pub fn decode_error(e: ImageError, what: &str) -> JobError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn refused(bytes: &[u8], limits: &Limits) -> JobError {
        match probe(bytes, limits, "the photo") {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn every_limit_is_checked_from_the_headers() {
        let img = RgbImage::from_fn(600, 500, |x, y| Rgb([x as u8, y as u8, 9]));
        let jpeg = crate::core::image::jpeg::encode_rgb(&img, 90, true).unwrap();
        let p = probe(&jpeg, &Limits::default(), "the photo").unwrap();
        assert_eq!((p.info.width, p.info.height, p.info.format), (600, 500, InputFormat::Jpeg));
        assert!(p.info.chroma_subsampled && p.jpeg.is_some() && p.icc.is_none());
        let tight = Limits { max_input_pixels: 100_000, ..Limits::default() };
        assert!(refused(&jpeg, &tight).message.contains("600x500 (0.3 MP); at most 0.1 MP"));
        let narrow = Limits { max_input_side: 550, ..Limits::default() };
        assert_eq!(refused(&jpeg, &narrow).code, ErrorCode::ImageTooLarge);
        let small = Limits { max_decode_alloc: 2_000_000, ..Limits::default() };
        let e = refused(&jpeg, &small);
        assert!(e.code == ErrorCode::ImageTooLarge && e.message.contains("MAX_DECODE_ALLOC_BYTES"), "{e}");
        let e = refused(&jpeg[..jpeg.len() - 100], &Limits::default());
        assert!(e.code == ErrorCode::InvalidImage && e.message.contains("truncated JPEG"), "{e}");
        let e = refused(b"GIF89a\x01\x00\x01\x00", &Limits::default());
        assert_eq!(e.message, "the photo: GIF is not supported; upload a JPEG, PNG or WebP image");
    }
}
