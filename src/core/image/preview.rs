//! Previews: the picture part of a canvas, scaled into a box (the comparison sheet's tiles).

use fast_image_resize as fr;
use image::RgbImage;

use super::geometry::{fit_in_box, Rect};
use crate::core::error::{ErrorCode, JobError};

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

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    #[test]
    fn a_preview_leaves_the_padding_out() {
        let mut canvas = RgbImage::from_pixel(2000, 500, Rgb([255, 255, 255]));
        for y in 50..450 {
            for x in 0..2000 {
                canvas.put_pixel(x, y, Rgb([0, 0, 200]));
            }
        }
        let content = Rect { x: 0, y: 50, width: 2000, height: 400 };
        let p = preview(&canvas, content, (640, 320)).unwrap();
        assert_eq!(p.dimensions(), (640, 128));
        assert_eq!(p.get_pixel(320, 64), &Rgb([0, 0, 200]));
    }
}
