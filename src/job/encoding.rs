//! The request-encoding policy: how each prepared image is encoded for the model, and the
//! request body built from them within Bedrock's size cap.

use crate::config::RequestEncoding;
use crate::error::{ErrorCode, JobError};
use crate::image::{self as images, Encoding, InputFormat, Prepared};
use crate::manifest::JobSpec;
use crate::nova::{self, RequestImages, MAX_BODY_BYTES};

/// Encoded sizes of the request images.
pub struct EncodedSizes {
    pub source: (Encoding, u64),
    pub garment: (Encoding, u64),
    pub mask: Option<u64>,
}

/// The request encoding of an input: JPEG q95 for JPEG uploads (they are photos, already
/// lossy), fast PNG for PNG and WebP uploads (cut-outs, graphics, logos keep every pixel).
pub fn choose_encoding(input: InputFormat) -> Encoding {
    match input {
        InputFormat::Jpeg => Encoding::Jpeg,
        InputFormat::Png | InputFormat::Webp => Encoding::Png,
    }
}

/// Whether a JPEG request image gets 4:2:0 chroma. `auto` keeps what the upload had (a 4:4:4
/// JPEG stays 4:4:4); `jpeg` asks for size and speed, and 4:2:0 halves the chroma data:
/// measured on the shared garment cut-out, 17% fewer bytes and 35% less encode time for
/// 46.3 dB PSNR instead of 47.1 (docs/performance.md, "Request encoding").
pub fn subsample(choice: RequestEncoding, input: &images::InputInfo) -> bool {
    choice == RequestEncoding::Jpeg || input.chroma_subsampled
}

/// Encodes the images and builds the body; if the body would pass Bedrock's 25 MB cap,
/// PNG images are re-encoded as JPEG (two 4.19 MP JPEGs at q95 stay far below it).
pub fn build_body(
    spec: &JobSpec,
    src: &Prepared,
    gar: &Prepared,
    mask: Option<&image::RgbImage>,
    choice: RequestEncoding,
) -> Result<(Vec<u8>, EncodedSizes), JobError> {
    let mask_png = mask.map(images::encode_png_rgb).transpose()?;
    let mut encodings = match choice {
        RequestEncoding::Auto => [choose_encoding(src.input.format), choose_encoding(gar.input.format)],
        RequestEncoding::Jpeg => [Encoding::Jpeg, Encoding::Jpeg],
        RequestEncoding::Png => [Encoding::Png, Encoding::Png],
    };
    loop {
        let s = images::encode_prepared(src, encodings[0], subsample(choice, &src.input))?;
        let g = images::encode_prepared(gar, encodings[1], subsample(choice, &gar.input))?;
        let mut sizes = vec![s.len(), g.len()];
        sizes.extend(mask_png.as_ref().map(Vec::len));
        if nova::body_size(&sizes) > MAX_BODY_BYTES && encodings.contains(&Encoding::Png) {
            encodings = [Encoding::Jpeg, Encoding::Jpeg];
            continue;
        }
        let body = nova::request_body(spec, RequestImages { source: &s, reference: &g, mask: mask_png.as_deref() });
        if body.len() > MAX_BODY_BYTES {
            return Err(JobError::new(
                ErrorCode::ImageTooLarge,
                format!("the request would be {} bytes, over Bedrock's {MAX_BODY_BYTES}-byte limit", body.len()),
            ));
        }
        let sizes = EncodedSizes {
            source: (encodings[0], s.len() as u64),
            garment: (encodings[1], g.len() as u64),
            mask: mask_png.as_ref().map(|m| m.len() as u64),
        };
        return Ok((body, sizes));
    }
}
