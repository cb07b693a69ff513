//! Encoding for Nova Canvas and for outputs: a prepared image as a JPEG (straight from its
//! 4:2:0 planes when it has them) or a PNG, any RGB picture likewise, and PNG with fast
//! compression.

use image::{DynamicImage, RgbImage};

use super::format::Encoding;
use super::jpeg;
use super::prepare::Prepared;
use crate::core::error::{ErrorCode, JobError};

/// JPEG quality for request images: visually lossless for photos.
pub const JPEG_QUALITY: u8 = 95;

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

/// [`encode_png_rgb`] for any decoded picture: greyscale stays greyscale.
pub fn encode_dynamic_png(img: &DynamicImage) -> Result<Vec<u8>, JobError> {
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

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;
    use crate::core::image::headers;
    use crate::core::image::prepare::{prepare_with, Chroma};
    use crate::core::input_limits::Limits;

    fn headers_subsampled(bytes: &[u8]) -> bool {
        headers::jpeg_frame(bytes).is_some_and(|f| f.chroma_subsampled)
    }

    fn limits() -> Limits {
        Limits::default()
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
    fn jpeg_chroma_sampling_is_read_from_the_header() {
        let img = RgbImage::from_pixel(64, 64, Rgb([1, 2, 3]));
        assert!(!headers_subsampled(&encode_with(&img, Encoding::Jpeg, false).unwrap()));
        assert!(headers_subsampled(&encode_with(&img, Encoding::Jpeg, true).unwrap()));
        assert!(!headers_subsampled(b"\xFF\xD8garbage"));
    }

    #[test]
    fn pngs_keep_greyscale_and_decode_to_the_same_pixels() {
        let img = RgbImage::from_fn(33, 17, |x, y| Rgb([x as u8, y as u8, 200]));
        let png = encode(&img, Encoding::Png).unwrap();
        assert_eq!(image::load_from_memory(&png).unwrap().to_rgb8(), img);
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(5, 5, image::Luma([7])));
        let png = encode_dynamic_png(&grey).unwrap();
        assert_eq!(image::load_from_memory(&png).unwrap().color(), image::ColorType::L8);
    }
}
