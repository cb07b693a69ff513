//! Synthetic, license-clean pictures: a person, a garment cut-out and a mask, drawn in code.
//! They back the example jobs, the tests and the benchmark's small cases.

use image::{Rgb, RgbImage, Rgba, RgbaImage};

use tryon::core::error::JobError;
use tryon::core::image::{encode_png_rgb, JPEG_QUALITY};

/// A standing figure on a gradient background, `w`×`h` as displayed.
pub fn person(w: u32, h: u32) -> RgbImage {
    let (fw, fh) = (w as f64, h as f64);
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f64 / fw, y as f64 / fh);
        let head = ((u - 0.5) / 0.11).powi(2) + ((v - 0.2) / 0.09).powi(2) <= 1.0;
        let torso = (0.32..0.68).contains(&u) && (0.3..0.66).contains(&v);
        let arms = ((0.22..0.32).contains(&u) || (0.68..0.78).contains(&u)) && (0.31..0.6).contains(&v);
        let legs = ((0.35..0.48).contains(&u) || (0.52..0.65).contains(&u)) && (0.66..0.95).contains(&v);
        if head {
            Rgb([224, 180, 150])
        } else if torso {
            Rgb([120, 120, 130])
        } else if arms {
            Rgb([215, 170, 140])
        } else if legs {
            Rgb([40, 50, 90])
        } else {
            let t = v;
            Rgb([(150.0 + 80.0 * t) as u8, (190.0 + 20.0 * t) as u8, (235.0 - 90.0 * t) as u8])
        }
    })
}

/// A T-shirt with a stripe on a transparent background, with a soft (translucent) edge.
pub fn garment(size: u32) -> RgbaImage {
    let f = size as f64;
    RgbaImage::from_fn(size, size, |x, y| {
        let (u, v) = (x as f64 / f, y as f64 / f);
        let body = (0.28..0.72).contains(&u) && (0.2..0.9).contains(&v);
        let sleeves =
            (0.12..0.88).contains(&u) && (0.2..0.42).contains(&v) && (v - 0.2) < 0.9 * (0.5 - (u - 0.5).abs());
        let edge = (0.275..0.285).contains(&u) || (0.715..0.725).contains(&u);
        if body || sleeves {
            let stripe = (0.45..0.52).contains(&v);
            if stripe {
                Rgba([250, 250, 250, 255])
            } else {
                Rgba([200, 30, 45, 255])
            }
        } else if edge && (0.2..0.9).contains(&v) {
            Rgba([200, 30, 45, 110])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

/// A pair of trousers on a transparent background.
pub fn trousers(size: u32) -> RgbaImage {
    let f = size as f64;
    RgbaImage::from_fn(size, size, |x, y| {
        let (u, v) = (x as f64 / f, y as f64 / f);
        let waist = (0.3..0.7).contains(&u) && (0.1..0.25).contains(&v);
        let legs = ((0.3..0.48).contains(&u) || (0.52..0.7).contains(&u)) && (0.25..0.95).contains(&v);
        if waist || legs {
            Rgba([45, 70, 140, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

/// A pair of boots on a transparent background.
pub fn boots(size: u32) -> RgbaImage {
    let f = size as f64;
    RgbaImage::from_fn(size, size, |x, y| {
        let (u, v) = (x as f64 / f, y as f64 / f);
        let shaft = ((0.15..0.35).contains(&u) || (0.6..0.8).contains(&u)) && (0.2..0.7).contains(&v);
        let foot = ((0.15..0.45).contains(&u) || (0.6..0.9).contains(&u)) && (0.7..0.85).contains(&v);
        if shaft || foot {
            Rgba([95, 60, 30, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

/// A black torso rectangle on white, `w`×`h`: the area to change.
pub fn torso_mask(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f64 / w as f64, y as f64 / h as f64);
        if (0.3..0.7).contains(&u) && (0.28..0.68).contains(&v) {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    })
}

/// A minimal EXIF block (APP1 payload) holding only an orientation tag.
pub fn exif_orientation(orientation: u16) -> Vec<u8> {
    let mut e = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    e.extend_from_slice(&orientation.to_le_bytes());
    e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    e
}

/// The pixels a camera stores for EXIF `orientation` so that applying it shows `upright`.
pub fn stored_for_orientation(upright: &RgbImage, orientation: u16) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    match orientation {
        2 => flip_horizontal(upright),
        3 => rotate180(upright),
        4 => flip_vertical(upright),
        5 => flip_horizontal(&rotate90(upright)),
        6 => rotate270(upright),
        7 => flip_horizontal(&rotate270(upright)),
        8 => rotate90(upright),
        _ => upright.clone(),
    }
}

/// Encodes `upright` as a JPEG stored the way a phone stores it for `orientation`.
pub fn phone_jpeg(upright: &RgbImage, orientation: u16) -> Result<Vec<u8>, JobError> {
    let stored = stored_for_orientation(upright, orientation);
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
    enc.add_app_segment(1, exif_orientation(orientation))
        .map_err(|e| JobError::new(tryon::core::error::ErrorCode::Internal, e.to_string()))?;
    enc.encode(stored.as_raw(), stored.width() as u16, stored.height() as u16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| JobError::new(tryon::core::error::ErrorCode::Internal, e.to_string()))?;
    Ok(out)
}

/// PNG bytes of an RGBA image.
pub fn png_rgba(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = image::DynamicImage::ImageRgba8(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

/// PNG bytes of an RGB image.
pub fn png_rgb(img: &RgbImage) -> Vec<u8> {
    encode_png_rgb(img).unwrap_or_default()
}
