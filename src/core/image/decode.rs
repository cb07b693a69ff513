//! Decoding a probed input to 8-bit RGB on white: libjpeg-turbo for the JPEGs it reads, the
//! `image` crate for everything else and for any JPEG libjpeg-turbo declines (which then
//! decodes it or says why not); alpha is composited onto white, and grey, 16-bit and
//! palette images become 8-bit RGB.

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbImage};

use super::jpeg;
use super::probe::{decode_error, probe, InputInfo};
use crate::core::error::{ErrorCode, JobError};
use crate::core::input_limits::Limits;

/// The pixels of a probed input in its stored orientation, as its decoder made them.
/// `jpeg` is the probe's libjpeg-turbo reading (the fast decoder, tried first).
pub fn decode_pixels<'a>(
    decoder: Box<dyn ImageDecoder + 'a>,
    bytes: &[u8],
    jpeg: Option<&jpeg::Header>,
    what: &str,
) -> Result<DynamicImage, JobError> {
    if let Some(rgb) = jpeg.and_then(|j| jpeg::decode_rgb(bytes, j)) {
        return Ok(DynamicImage::ImageRgb8(rgb));
    }
    DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, what))
}

/// Decoded pixels as 8-bit RGB on white, and whether they had alpha.
pub fn flatten(img: DynamicImage) -> Result<(RgbImage, bool), JobError> {
    let had_alpha = img.color().has_alpha();
    Ok((into_rgb_on_white(img)?, had_alpha))
}

/// Composites any alpha onto white and converts to 8-bit RGB (grey, 16-bit and palette
/// images included).
pub fn into_rgb_on_white(img: DynamicImage) -> Result<RgbImage, JobError> {
    if !img.color().has_alpha() {
        return Ok(img.into_rgb8());
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
    RgbImage::from_raw(w, h, buf).ok_or_else(|| {
        JobError::new(ErrorCode::Internal, format!("flattening a {w}x{h} image produced a buffer of the wrong size"))
    })
}

/// An input decoded to 8-bit RGB in its stored orientation.
pub struct Decoded {
    pub rgb: RgbImage,
    pub orientation: Orientation,
    pub info: InputInfo,
    /// The embedded ICC profile of an RGB image.
    pub icc: Option<Vec<u8>>,
}

/// Probes and decodes at full size, with every limit in place before any pixel is allocated.
pub fn decode(bytes: &[u8], limits: &Limits, what: &str) -> Result<Decoded, JobError> {
    let probe = probe(bytes, limits, what)?;
    let (rgb, had_alpha) = flatten(decode_pixels(probe.decoder, bytes, probe.jpeg.as_ref(), what)?)?;
    let info = InputInfo { had_alpha, ..probe.info };
    Ok(Decoded { rgb, orientation: probe.orientation, info, icc: probe.icc })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgba, RgbaImage};

    #[test]
    fn flattening_is_exact_per_pixel() {
        let img = RgbaImage::from_fn(3, 1, |x, _| Rgba([0, 0, 0, [0, 128, 255][x as usize]]));
        let rgb = into_rgb_on_white(DynamicImage::ImageRgba8(img)).unwrap();
        assert_eq!(rgb.as_raw(), &[255, 255, 255, 127, 127, 127, 0, 0, 0]);
        let grey = into_rgb_on_white(DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(1, 1, Luma([65535u16]))))
            .unwrap();
        assert_eq!(grey.as_raw(), &[255, 255, 255]);
    }

    #[test]
    fn both_decoders_give_rgb_and_say_whether_there_was_alpha() {
        let img = RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 77]));
        let jpeg = crate::core::image::jpeg::encode_rgb(&img, 90, true).unwrap();
        let d = decode(&jpeg, &Limits::default(), "photo").unwrap();
        assert_eq!((d.rgb.dimensions(), d.info.had_alpha), ((40, 30), false));
        let mut png = Vec::new();
        let cut_out =
            RgbaImage::from_fn(40, 30, |x, y| Rgba([x as u8 * 6, y as u8 * 8, 30, if x < 20 { 0 } else { 255 }]));
        DynamicImage::ImageRgba8(cut_out)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let d = decode(&png, &Limits::default(), "garment").unwrap();
        assert!(d.info.had_alpha);
        assert_eq!(d.rgb.get_pixel(5, 5).0, [255, 255, 255]);
        assert_eq!(d.rgb.get_pixel(25, 5).0, [150, 40, 30]);
        let e = decode(&png[..png.len() / 2], &Limits::default(), "garment").err().unwrap();
        assert_eq!(e.code, crate::core::error::ErrorCode::InvalidImage, "{e}");
    }
}
