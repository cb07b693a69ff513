//! Deterministic output: the edit mask for the request's region and the images painted into it.

use image::RgbImage;

use super::validate::{Region, Valid};
use crate::reference::{png, BodyRegion};

/// What a call answers: PNG images and, when asked, the PNG edit mask.
pub(super) struct Output {
    pub(super) images: Vec<Vec<u8>>,
    pub(super) mask: Option<Vec<u8>>,
}

/// Fractions of the picture (x0, y0, x1, y1) each body region covers.
fn region_box(region: BodyRegion) -> (f64, f64, f64, f64) {
    match region {
        BodyRegion::Upper => (0.18, 0.27, 0.82, 0.66),
        BodyRegion::Lower => (0.3, 0.6, 0.7, 0.95),
        BodyRegion::Full => (0.18, 0.27, 0.82, 0.95),
        BodyRegion::Feet => (0.3, 0.9, 0.7, 0.99),
    }
}

/// The edit mask: `true` where the garment goes.
fn edit_mask(v: &Valid) -> Vec<bool> {
    let (w, h) = v.source.dimensions();
    let shaped = |(x0, y0, x1, y1): (f64, f64, f64, f64), shape: &str, preserve_face: bool| {
        let (cx, cy, rx, ry) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0) / 2.0, (y1 - y0) / 2.0);
        let mut m = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = ((x as f64 + 0.5) / w as f64, (y as f64 + 0.5) / h as f64);
                let inside = if shape == "BOUNDING_BOX" {
                    fx >= x0 && fx < x1 && fy >= y0 && fy < y1
                } else {
                    ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2) <= 1.0
                };
                m.push(inside && !(preserve_face && fy < 0.2));
            }
        }
        m
    };
    match &v.mask {
        Region::Garment { region, shape, preserve_face } => shaped(region_box(*region), shape, *preserve_face),
        Region::Prompt { shape, preserve_face } => shaped((0.25, 0.25, 0.75, 0.75), shape, *preserve_face),
        Region::Image(m) => m.pixels().map(|p| p[0] == 0).collect(),
    }
}

/// The bounding box (x0, y0, x1, y1) of the mask's set pixels, in pixels of a `w`-wide picture.
fn bounding_box(mask: &[bool], w: u32, h: u32) -> (u32, u32, u32, u32) {
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        let (x, y) = (i as u32 % w, i as u32 / w);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x + 1);
        y1 = y1.max(y + 1);
    }
    (x0, y0, x1, y1)
}

/// Deterministic output: the source with the garment drawn into the mask's bounding box,
/// its colour channels rotated per image so every image of a call differs.
pub(super) fn render(v: &Valid) -> Output {
    let (w, h) = v.source.dimensions();
    let mask = edit_mask(v);
    let (x0, y0, x1, y1) = bounding_box(&mask, w, h);
    let (bw, bh) = (x1.saturating_sub(x0).max(1), y1.saturating_sub(y0).max(1));
    let (rw, rh) = v.reference.dimensions();
    let images = (0..v.number_of_images)
        .map(|n| {
            let rot = ((v.seed + n as u64) % 3) as usize;
            let mut out = v.source.clone();
            for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
                let (x, y) = (i as u32 % w, i as u32 / w);
                let sx = ((x - x0) as u64 * rw as u64 / bw as u64).min(rw as u64 - 1) as u32;
                let sy = ((y - y0) as u64 * rh as u64 / bh as u64).min(rh as u64 - 1) as u32;
                let p = v.reference.get_pixel(sx, sy).0;
                out.put_pixel(x, y, image::Rgb([p[rot], p[(rot + 1) % 3], p[(rot + 2) % 3]]));
            }
            png(&out)
        })
        .collect();
    let mask_png = v.return_mask.then(|| {
        let m = RgbImage::from_fn(w, h, |x, y| {
            let c = if mask[(y * w + x) as usize] { 0 } else { 255 };
            image::Rgb([c, c, c])
        });
        png(&m)
    });
    Output { images, mask: mask_png }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::tests::body;
    use crate::validate::validate;

    #[test]
    fn accepts_a_valid_request_and_renders_deterministically() {
        let b = body(
            json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "returnMask": true}),
            Some(json!({"numberOfImages": 2})),
        );
        let v = validate(&b).unwrap();
        let out = render(&v);
        assert_eq!(out.images.len(), 2);
        assert_ne!(out.images[0], out.images[1]);
        let again = render(&validate(&b).unwrap());
        assert_eq!(out.images, again.images);
        let img = image::load_from_memory(&out.images[0]).unwrap();
        assert_eq!((img.width(), img.height()), (400, 600));
        assert!(out.mask.is_some());
    }
}
