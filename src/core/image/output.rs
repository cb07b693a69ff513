//! Model outputs back to what the job promised: the canvas Nova returns is decoded within
//! limits, its white padding cropped off, and the picture written as PNG.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::encode::encode_dynamic_png;
use super::geometry::Layout;
use crate::core::error::{ErrorCode, JobError};
use crate::core::input_limits::Limits;
use crate::core::limits::MAX_SIDE;

/// Takes a model output (the canvas) back to the picture: crops the padding, brings it to
/// the picture's size (a model answering at its own size tier, as Gemini does, is scaled
/// back: the outputs take the source's size on every backend) and returns PNG bytes. An
/// unpadded PNG of the canvas size is passed through untouched.
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
    // Nothing to crop or scale: a PNG goes out as it came.
    if format == ImageFormat::Png && !layout.padded() && (w, h) == (layout.canvas_width, layout.canvas_height) {
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
    let mut picture = img.crop_imm(x, y, cw, ch);
    if (cw, ch) != (c.width, c.height) {
        picture = picture.resize_exact(c.width, c.height, image::imageops::FilterType::Lanczos3);
    }
    encode_dynamic_png(&picture).map_err(|e| bad(e.message))
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;
    use crate::core::image::encode::encode_png_rgb;
    use crate::core::image::geometry::layout;
    use crate::core::image::prepare::prepare;

    fn limits() -> Limits {
        Limits::default()
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
    fn an_output_at_the_models_own_size_tier_comes_back_at_the_pictures_size() {
        // Gemini answers a 768×1024 canvas at its 3:4 1K tier, 896×1200.
        let l = layout(768, 1024, &crate::core::backend::Backend::GeminiImage.canvas());
        assert!(!l.padded());
        let tier = RgbImage::from_pixel(896, 1200, Rgb([10, 200, 30]));
        for bytes in [encode_png_rgb(&tier).unwrap(), crate::core::image::jpeg::encode_rgb(&tier, 90, false).unwrap()] {
            let out = finish_output(&bytes, &l, &limits(), "result").unwrap();
            let back = image::load_from_memory(&out).unwrap().to_rgb8();
            assert_eq!(back.dimensions(), (768, 1024));
            assert!(back.get_pixel(384, 512).0[1] > 180, "the picture, scaled");
        }
    }

    #[test]
    fn unpadded_png_outputs_pass_through_untouched() {
        let img = RgbImage::from_pixel(400, 400, Rgb([9, 9, 9]));
        let png = encode_png_rgb(&img).unwrap();
        assert_eq!(
            finish_output(
                &png,
                &layout(400, 400, &crate::core::backend::Backend::NovaCanvas.canvas()),
                &limits(),
                "result"
            )
            .unwrap(),
            png
        );
    }

    #[test]
    fn a_reply_of_another_size_is_cropped_in_proportion_and_scaled_to_the_picture() {
        let l = layout(2000, 400, &crate::core::backend::Backend::NovaCanvas.canvas());
        let reply =
            RgbImage::from_fn(1000, 250, |_, y| if (25..225).contains(&y) { Rgb([0, 0, 200]) } else { Rgb([255; 3]) });
        let out = finish_output(&encode_png_rgb(&reply).unwrap(), &l, &limits(), "result").unwrap();
        let back = image::load_from_memory(&out).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (2000, 400), "the picture's size, not the reply's");
        assert!(back.pixels().all(|px| px.0.iter().zip([0, 0, 200]).all(|(a, b)| a.abs_diff(b) <= 1)));
        let e = finish_output(b"not an image", &l, &limits(), "image 1").unwrap_err();
        assert_eq!(e.message, "the model returned an unusable image 1: not an image");
    }
}
