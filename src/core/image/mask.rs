//! Masks: an `imageBasedMask` upload checked and turned into a pure black/white mask on the
//! source's canvas.

use fast_image_resize as fr;
use image::RgbImage;

use super::decode::{decode, Decoded};
use super::geometry::{pad, Layout};
use super::orient::{orient, swaps_axes};
use super::probe::InputInfo;
use super::resize::resize_u8;
use crate::core::error::{ErrorCode, JobError};
use crate::core::input_limits::Limits;

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

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb};

    use super::*;
    use crate::core::image::encode::encode_png_rgb;
    use crate::core::image::format::InputFormat;
    use crate::core::image::geometry::layout;

    fn limits() -> Limits {
        Limits::default()
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
        let canvas = layout(800, 1000, &crate::core::backend::Backend::NovaCanvas.canvas());
        let mut m = GrayImage::from_pixel(400, 500, Luma([255]));
        for y in 100..300 {
            for x in 100..300 {
                m.put_pixel(x, y, Luma([if x == 100 { 90 } else { 0 }]));
            }
        }
        let mut png = Vec::new();
        DynamicImage::ImageLuma8(m).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let out = prepare_mask(&png, &limits(), &source, &canvas).unwrap();
        assert_eq!(out.dimensions(), (canvas.canvas_width, canvas.canvas_height));
        assert!(out.pixels().all(|p| p == &Rgb([0, 0, 0]) || p == &Rgb([255, 255, 255])));
        assert_eq!(out.get_pixel(400, 400), &Rgb([0, 0, 0]));
        assert_eq!(out.get_pixel(10, 10), &Rgb([255, 255, 255]));

        let wrong = encode_png_rgb(&RgbImage::from_pixel(500, 500, Rgb([0, 0, 0]))).unwrap();
        let e = prepare_mask(&wrong, &limits(), &source, &canvas).unwrap_err();
        assert!(e.code == ErrorCode::InvalidMask && e.message.contains("500x500"), "{e}");
        let photo = encode_png_rgb(&RgbImage::from_fn(400, 500, |x, _| Rgb([(x % 256) as u8, 100, 50]))).unwrap();
        assert_eq!(prepare_mask(&photo, &limits(), &source, &canvas).unwrap_err().code, ErrorCode::InvalidMask);
        let white = encode_png_rgb(&RgbImage::from_pixel(400, 500, Rgb([255, 255, 255]))).unwrap();
        assert!(prepare_mask(&white, &limits(), &source, &canvas).unwrap_err().message.contains("no black area"));
    }
}
