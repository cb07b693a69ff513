//! Resizing 8-bit pictures and planes with fast_image_resize, in bands of output rows so the
//! resizer's temporary stays small whatever the source size.

use fast_image_resize as fr;
use image::RgbImage;

use crate::core::error::{ErrorCode, JobError};

/// Bytes of fast_image_resize's temporary (source row × output rows) per band of
/// [`resize_region`]: a band costs a fixed setup, so bands are as large as this allows.
const RESIZE_BAND_BYTES: usize = 8 << 20;

/// An RGB picture resized to `w`×`h` (Lanczos3); the same picture when it has that size.
pub fn resize_rgb(img: RgbImage, w: u32, h: u32) -> Result<RgbImage, JobError> {
    if img.dimensions() == (w, h) {
        return Ok(img);
    }
    let (sw, sh) = img.dimensions();
    let out = resize_u8(img.into_raw(), sw, sh, w, h, fr::PixelType::U8x3)?;
    RgbImage::from_raw(w, h, out)
        .ok_or_else(|| JobError::new(ErrorCode::Internal, "resize produced a buffer of the wrong size"))
}

/// A `sw`×`sh` buffer of `pixel`s resized to `w`×`h` (Lanczos3).
pub fn resize_u8(buf: Vec<u8>, sw: u32, sh: u32, w: u32, h: u32, pixel: fr::PixelType) -> Result<Vec<u8>, JobError> {
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
pub fn resize_region(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
