//! The deterministic answer image: the person (first image) with the garment (second image)
//! scaled to fit the torso and pasted over it, so a test can see both inputs were used and
//! in which order.

use image::imageops::{overlay, resize, FilterType};
use image::{DynamicImage, RgbImage};

/// The torso box as fractions of the picture (x0, y0, x1, y1).
const TORSO: (f64, f64, f64, f64) = (0.25, 0.28, 0.75, 0.68);

/// The answer at the person's size, as PNG.
pub(super) fn render(person: &DynamicImage, garment: Option<&DynamicImage>) -> Vec<u8> {
    let mut out: RgbImage = person.to_rgb8();
    if let Some(g) = garment {
        let (w, h) = out.dimensions();
        let (x0, y0, x1, y1) = TORSO;
        let (bw, bh) = (((x1 - x0) * w as f64) as u32, ((y1 - y0) * h as f64) as u32);
        let (gw, gh) = (g.width().max(1), g.height().max(1));
        let scale = (bw as f64 / gw as f64).min(bh as f64 / gh as f64);
        let (sw, sh) = (((gw as f64 * scale) as u32).max(1), ((gh as f64 * scale) as u32).max(1));
        let scaled = resize(&g.to_rgb8(), sw, sh, FilterType::Triangle);
        let x = (x0 * w as f64) as i64 + (bw.saturating_sub(sw) / 2) as i64;
        let y = (y0 * h as f64) as i64 + (bh.saturating_sub(sh) / 2) as i64;
        overlay(&mut out, &scaled, x, y);
    }
    crate::reference::png(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_garment_lands_on_the_torso_of_a_picture_the_persons_size() {
        let person = DynamicImage::ImageRgb8(RgbImage::from_pixel(200, 300, image::Rgb([255, 255, 255])));
        let garment = DynamicImage::ImageRgb8(RgbImage::from_pixel(50, 50, image::Rgb([200, 0, 0])));
        let png = render(&person, Some(&garment));
        assert_eq!(png, render(&person, Some(&garment)), "deterministic");
        let out = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (200, 300));
        assert_eq!(out.get_pixel(100, 144).0, [200, 0, 0], "torso centre");
        assert_eq!(out.get_pixel(100, 20).0, [255, 255, 255], "face untouched");
        assert_eq!(out.get_pixel(5, 290).0, [255, 255, 255], "background untouched");
        let alone = image::load_from_memory(&render(&person, None)).unwrap().to_rgb8();
        assert_eq!(alone.get_pixel(100, 144).0, [255, 255, 255]);
    }
}
