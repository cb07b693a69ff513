//! Deterministic output pictures: the person with the garment pasted over the torso and a
//! tint that differs per sample and per seed, encoded as the request asked. Also the
//! malformed PNG a fault sends to test a client's guards. The FASHN emulator paints with
//! `cover`, `dress` and `tint` too.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbImage, RgbaImage};

use super::fields::Node;
use super::wire::GoogleError;

/// The torso box, as fractions (x0, y0, x1, y1) of the picture, where the garment goes.
const TORSO: (f64, f64, f64, f64) = (0.25, 0.28, 0.75, 0.66);

/// How an output picture is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Png,
    Jpeg { quality: u8 },
}

impl Encoding {
    pub(super) fn mime(self) -> &'static str {
        match self {
            Encoding::Png => "image/png",
            Encoding::Jpeg { .. } => "image/jpeg",
        }
    }
}

/// Output options (VTO `parameters.outputOptions`, reference §2.2; Gemini
/// `imageConfig.imageOutputOptions`): PNG by default, a quality (default 75) only for JPEG.
pub(super) fn encoding(o: Option<Node>) -> Result<Encoding, GoogleError> {
    let Some(o) = o else { return Ok(Encoding::Png) };
    o.only(&["mimeType", "compressionQuality"])?;
    let mime = o.one_of("mimeType", &["image/png", "image/jpeg"])?.unwrap_or("image/png");
    let quality = o.int("compressionQuality", 0, 100)?;
    match (mime, quality) {
        ("image/jpeg", q) => Ok(Encoding::Jpeg { quality: q.unwrap_or(75) as u8 }),
        (_, Some(_)) => Err(o.invalid("compressionQuality", "compressionQuality applies to image/jpeg only.")),
        _ => Ok(Encoding::Png),
    }
}

/// A tint colour from (seed, sample): stable across runs, different between samples.
pub(crate) fn tint(seed: u64, sample: u32) -> [u8; 3] {
    // splitmix64: cheap, well mixed, no dependency.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(sample as u64 + 1));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    [(z & 0xff) as u8, ((z >> 8) & 0xff) as u8, ((z >> 16) & 0xff) as u8]
}

/// The person with `garment` (if any) scaled into the torso box, the box tinted 25% toward `tint`.
pub(crate) fn dress(person: &RgbImage, garment: Option<&DynamicImage>, tint: [u8; 3]) -> RgbImage {
    let (w, h) = person.dimensions();
    let x0 = (TORSO.0 * w as f64) as u32;
    let y0 = (TORSO.1 * h as f64) as u32;
    let bw = (((TORSO.2 - TORSO.0) * w as f64) as u32).max(1);
    let bh = (((TORSO.3 - TORSO.1) * h as f64) as u32).max(1);
    let mut out = DynamicImage::ImageRgb8(person.clone()).to_rgba8();
    if let Some(g) = garment {
        let scaled: RgbaImage = imageops::resize(&g.to_rgba8(), bw, bh, FilterType::Nearest);
        imageops::overlay(&mut out, &scaled, x0 as i64, y0 as i64);
    }
    let mut out = DynamicImage::ImageRgba8(out).to_rgb8();
    for y in y0..(y0 + bh).min(h) {
        for x in x0..(x0 + bw).min(w) {
            let p = out.get_pixel_mut(x, y);
            for (v, t) in p.0.iter_mut().zip(tint) {
                *v = ((*v as u16 * 3 + t as u16) / 4) as u8;
            }
        }
    }
    out
}

/// `img` scaled to cover `w`×`h` and cropped to it around the centre, as a model framing
/// the person in another aspect ratio would.
pub(crate) fn cover(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (iw, ih) = img.dimensions();
    let scale = (w as f64 / iw as f64).max(h as f64 / ih as f64);
    let sw = ((iw as f64 * scale).ceil() as u32).max(w);
    let sh = ((ih as f64 * scale).ceil() as u32).max(h);
    let scaled = imageops::resize(img, sw, sh, FilterType::Nearest);
    imageops::crop_imm(&scaled, (sw - w) / 2, (sh - h) / 2, w, h).to_image()
}

/// Encodes `img`; a failure is the emulator's own 500.
pub(super) fn encode(img: &RgbImage, encoding: Encoding) -> Result<Vec<u8>, GoogleError> {
    let fail = |e: String| GoogleError::new(500, "INTERNAL", format!("emulator: encoding the output failed: {e}"));
    match encoding {
        Encoding::Png => crate::reference::try_png(img).map_err(|e| fail(e.to_string())),
        Encoding::Jpeg { quality } => {
            let mut out = Cursor::new(Vec::new());
            // The encoder takes 1-100; Google's 0 is its lowest quality.
            JpegEncoder::new_with_quality(&mut out, quality.max(1))
                .encode_image(img)
                .map_err(|e| fail(e.to_string()))?;
            Ok(out.into_inner())
        }
    }
}

/// A PNG of a few dozen bytes whose header claims `w`×`h` pixels: a client that sizes
/// buffers from the header before checking it would allocate gigabytes.
pub(super) fn claimed_png(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filter, no interlace
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of nothing: the pixels the header promises are simply absent.
    chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE), bit by bit: a handful of bytes per fault, not worth a table.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= *b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_png_reads_as_huge_but_is_tiny() {
        let png = claimed_png(20_000, 20_000);
        assert!(png.len() < 100);
        let dims = image::ImageReader::with_format(Cursor::new(&png), image::ImageFormat::Png).into_dimensions();
        assert_eq!(dims.unwrap(), (20_000, 20_000));
    }

    #[test]
    fn tints_differ_per_sample_and_seed() {
        assert_ne!(tint(0, 0), tint(0, 1));
        assert_ne!(tint(0, 0), tint(1, 0));
        assert_eq!(tint(7, 2), tint(7, 2));
    }
}
