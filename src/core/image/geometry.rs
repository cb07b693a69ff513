//! Where a picture goes on the canvas sent to Nova Canvas: the canvas size within Nova's
//! limits, the rectangle the picture fills, fitting a size into a box, and the white
//! padding around a picture too thin for Nova's aspect-ratio limit.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::core::backend::Canvas;

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Where an image of a given size goes on the canvas sent to Nova.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub canvas_width: u32,
    pub canvas_height: u32,
    /// The image itself, scaled; the rest of the canvas is white padding.
    pub content: Rect,
}

impl Layout {
    pub fn padded(&self) -> bool {
        self.content.width != self.canvas_width || self.content.height != self.canvas_height
    }
}

/// Lays out the canvas for a `w`×`h` image (as displayed) within a backend's `canvas`: keep
/// the aspect ratio, shrink to its largest side and pixel count (Nova Canvas: ≤ 4096 px per
/// side, < 4,194,304 px), enlarge to its smallest side (Nova: 320 px), and pad the short
/// side with white when the image is thinner than its aspect limit (Nova: 1:4).
pub fn layout(w: u32, h: u32, canvas: &Canvas) -> Layout {
    let Canvas { min_side, max_side, max_pixels, max_aspect, .. } = *canvas;
    let (long, short) = (w.max(h).max(1) as u64, w.min(h).max(1) as u64);
    // The canvas in source pixels: the short side grows to a quarter of the long one if needed.
    let canvas_short_src = (short as f64).max(long as f64 / max_aspect as f64);
    let mut s =
        (max_pixels as f64 / (long as f64 * canvas_short_src)).sqrt().min(max_side as f64 / long as f64).min(1.0);
    if canvas_short_src * s < min_side as f64 {
        s = min_side as f64 / canvas_short_src;
    }
    let mut content_long = ((long as f64 * s).round() as u64).clamp(min_side as u64, max_side as u64);
    let (content_short, canvas_short) = loop {
        let content_short = ((short * content_long) as f64 / long as f64).round().max(1.0) as u64;
        let canvas_short = content_short.max(content_long.div_ceil(max_aspect as u64)).max(min_side as u64);
        if content_long * canvas_short <= max_pixels {
            break (content_short.min(canvas_short), canvas_short);
        }
        content_long -= 1;
    };
    let (cl, cs, kl, ks) = (content_long as u32, canvas_short as u32, content_long as u32, content_short as u32);
    if w >= h {
        Layout { canvas_width: cl, canvas_height: cs, content: Rect { x: 0, y: (cs - ks) / 2, width: kl, height: ks } }
    } else {
        Layout { canvas_width: cs, canvas_height: cl, content: Rect { x: (cs - ks) / 2, y: 0, width: ks, height: kl } }
    }
}

/// The largest size with `size`'s aspect ratio that fits in `bounds`, at least 1×1.
pub fn fit_in_box((w, h): (u32, u32), (bw, bh): (u32, u32)) -> (u32, u32) {
    let s = (bw as f64 / w.max(1) as f64).min(bh as f64 / h.max(1) as f64);
    (((w as f64 * s).round() as u32).clamp(1, bw.max(1)), ((h as f64 * s).round() as u32).clamp(1, bh.max(1)))
}

/// `img` (the content, at its laid-out size) on the white canvas of `layout`.
pub fn pad(img: RgbImage, layout: &Layout) -> RgbImage {
    if !layout.padded() {
        return img;
    }
    let mut canvas = RgbImage::from_pixel(layout.canvas_width, layout.canvas_height, image::Rgb([255, 255, 255]));
    image::imageops::replace(&mut canvas, &img, layout.content.x as i64, layout.content.y as i64);
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::Backend;
    use crate::core::limits::{MAX_PIXELS, MAX_SIDE, MIN_SIDE};

    fn layout(w: u32, h: u32) -> Layout {
        super::layout(w, h, &Backend::NovaCanvas.canvas())
    }

    fn within_nova(p: &Layout) {
        let (w, h) = (p.canvas_width as u64, p.canvas_height as u64);
        assert!(
            (MIN_SIDE as u64..=MAX_SIDE as u64).contains(&w) && (MIN_SIDE as u64..=MAX_SIDE as u64).contains(&h),
            "{p:?}"
        );
        assert!(w * h <= MAX_PIXELS, "{p:?}");
        assert!(w <= 4 * h && h <= 4 * w, "{p:?}");
        let c = p.content;
        assert!(c.x + c.width <= p.canvas_width && c.y + c.height <= p.canvas_height, "{p:?}");
    }

    fn keeps_aspect(w: u32, h: u32, p: &Layout) {
        // ±1 px: the content's short side equals the exact scaled value rounded.
        let c = p.content;
        let exact_h = c.width as f64 * h as f64 / w as f64;
        let exact_w = c.height as f64 * w as f64 / h as f64;
        assert!(
            (c.height as f64 - exact_h).abs() <= 1.0 || (c.width as f64 - exact_w).abs() <= 1.0,
            "{w}x{h} -> {p:?}"
        );
    }

    #[test]
    fn layout_examples() {
        let p = layout(3024, 4032);
        assert_eq!((p.canvas_width, p.canvas_height), (1773, 2364));
        assert!(!p.padded());
        let p = layout(1024, 1024);
        assert_eq!((p.canvas_width, p.canvas_height, p.padded()), (1024, 1024, false));
        let p = layout(100, 150);
        assert_eq!((p.canvas_width, p.canvas_height), (320, 480));
        let p = layout(2048, 2048);
        assert_eq!((p.canvas_width, p.canvas_height), (2047, 2047));
        let p = layout(1, 10_000);
        assert!(p.padded());
        assert_eq!(p.content.width, 1);
        assert_eq!(p.canvas_height, 4095);
        let p = layout(5000, 1000);
        assert!(p.padded());
        assert_eq!(p.content.height * 5, p.content.width);
    }

    #[test]
    fn layout_always_fits_nova_and_keeps_the_aspect_ratio() {
        let mut sizes = vec![];
        for w in [
            1, 2, 3, 79, 80, 319, 320, 321, 1000, 1279, 1280, 1281, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 16384,
            65535,
        ] {
            for h in [1, 2, 5, 80, 319, 320, 321, 999, 1024, 2048, 3023, 4096, 5000, 16384, 65535] {
                sizes.push((w, h));
            }
        }
        let mut x: u64 = 0x9E3779B97F4A7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            sizes.push(((x % 20_000 + 1) as u32, ((x >> 32) % 20_000 + 1) as u32));
        }
        for (w, h) in sizes {
            let p = layout(w, h);
            within_nova(&p);
            keeps_aspect(w, h, &p);
            if w <= 4 * h && h <= 4 * w {
                assert!(
                    !p.padded()
                        || p.content.width.abs_diff(p.canvas_width) <= 1
                            && p.content.height.abs_diff(p.canvas_height) <= 1,
                    "{w}x{h} {p:?}"
                );
            }
        }
    }

    #[test]
    fn every_backend_canvas_holds_every_size() {
        for b in Backend::ALL {
            let c = b.canvas();
            for (w, h) in [(1, 1), (1, 65535), (65535, 3), (4032, 3024), (100, 150), (20_000, 19_999), (333, 4000)] {
                let p = super::layout(w, h, &c);
                let (cw, ch) = (p.canvas_width, p.canvas_height);
                assert!(
                    (c.min_side..=c.max_side).contains(&cw) && (c.min_side..=c.max_side).contains(&ch),
                    "{b} {p:?}"
                );
                assert!(cw as u64 * ch as u64 <= c.max_pixels, "{b} {p:?}");
                assert!(cw <= c.max_aspect * ch && ch <= c.max_aspect * cw, "{b} {p:?}");
                keeps_aspect(w, h, &p);
            }
        }
    }

    #[test]
    fn padding_is_white_around_the_content() {
        let l = layout(2000, 400);
        let img = RgbImage::from_pixel(l.content.width, l.content.height, image::Rgb([0, 0, 200]));
        let canvas = pad(img, &l);
        assert_eq!(canvas.dimensions(), (l.canvas_width, l.canvas_height));
        assert_eq!(canvas.get_pixel(10, 0), &image::Rgb([255, 255, 255]));
        assert_eq!(canvas.get_pixel(10, l.content.y), &image::Rgb([0, 0, 200]));
        let square = RgbImage::new(400, 400);
        assert_eq!(pad(square.clone(), &layout(400, 400)), square, "nothing to pad");
        assert_eq!(fit_in_box((3000, 10), (640, 320)), (640, 2));
        assert_eq!(fit_in_box((0, 0), (640, 320)), (1, 1));
    }
}
