//! The request-encoding policy: how each prepared image is encoded for the model, and the
//! request body built from them within the backend's size caps.

use crate::backends::{self, EncodedImage, Request, RequestImages};
use crate::core::error::{ErrorCode, JobError};
use crate::core::image::{self as images, Encoding, InputFormat, Prepared};
use crate::core::input_limits::RequestEncoding;
use crate::core::manifest::JobSpec;

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

/// Encodes the images and builds the backend's body. PNG images are re-encoded as JPEG when
/// one would pass the backend's per-image cap or the body its size cap (two 4.19 MP JPEGs at
/// q95 stay far below Bedrock's 25 MB); what still does not fit is `image_too_large`.
pub fn build_body(
    spec: &JobSpec,
    src: &Prepared,
    gar: &Prepared,
    mask: Option<&image::RgbImage>,
    choice: RequestEncoding,
) -> Result<(Request, EncodedSizes), JobError> {
    let b = backends::of(spec.backend);
    let per_image = spec.backend.canvas().max_image_bytes;
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
        let fits = s.len() <= per_image && g.len() <= per_image && body_size(&sizes) <= b.max_body_bytes();
        if !fits && encodings.contains(&Encoding::Png) {
            encodings = [Encoding::Jpeg, Encoding::Jpeg];
            continue;
        }
        for (what, n) in [("source image", s.len()), ("garment image", g.len())] {
            if n > per_image {
                return Err(JobError::new(
                    ErrorCode::ImageTooLarge,
                    format!(
                        "the prepared {what} is {n} bytes, over {}'s {per_image}-byte limit per image",
                        spec.backend
                    ),
                ));
            }
        }
        let image = |bytes, e: Encoding, p: &Prepared| EncodedImage {
            bytes,
            mime: e.mime(),
            width: p.layout.canvas_width,
            height: p.layout.canvas_height,
        };
        let images = RequestImages {
            source: image(&s, encodings[0], src),
            reference: image(&g, encodings[1], gar),
            mask: mask_png.as_deref(),
        };
        let request = b.request(spec, images)?;
        if request.body.len() > b.max_body_bytes() {
            return Err(JobError::new(
                ErrorCode::ImageTooLarge,
                format!(
                    "the request would be {} bytes, over {}'s {}-byte limit",
                    request.body.len(),
                    spec.backend,
                    b.max_body_bytes()
                ),
            ));
        }
        let sizes = EncodedSizes {
            source: (encodings[0], s.len() as u64),
            garment: (encodings[1], g.len() as u64),
            mask: mask_png.as_ref().map(|m| m.len() as u64),
        };
        return Ok((request, sizes));
    }
}

/// The body size for encoded images of these sizes, within a few hundred bytes of options.
fn body_size(image_bytes: &[usize]) -> usize {
    image_bytes.iter().map(|n| backends::base64_len(*n)).sum::<usize>() + 4096
}
