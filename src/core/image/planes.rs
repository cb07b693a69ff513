//! The 4:2:0 route for JPEG photos: a 4:2:0 photo is decoded to its YCbCr planes, resized as
//! planes (half the bytes of RGB, and no colour conversion or chroma upsampling at 12 MP),
//! turned upright as planes and converted to RGB only at Nova's size. libjpeg-turbo does the
//! decoding and the conversion (`jpeg`); this room resizes and places the planes.

use fast_image_resize as fr;
use image::metadata::Orientation;
use image::RgbImage;

use super::jpeg::{self, Header, Planes420};
use super::orient::Map;
use super::resize::resize_region;

/// What [`decode_resized`] makes of a 4:2:0 JPEG.
pub enum Resized {
    /// Full-resolution chroma, as RGB.
    Rgb(RgbImage),
    /// Half-resolution chroma, as planes (for a 4:2:0 JPEG request) and the RGB made from them.
    Planes(Planes420, RgbImage),
}

/// Decodes a 4:2:0 JPEG to its planes, resizes them (in bands) to `w`×`h` in the stored
/// orientation, applies the EXIF orientation to the planes and converts to RGB: the colour
/// conversion runs once, at the output size, and the chroma is resampled once (straight from
/// its stored resolution) instead of upsampled at 12 MP and then downscaled. The result is
/// upright.
///
/// Luma is resized with Lanczos3. Without `half_chroma`, chroma goes to the full output size
/// with Catmull-Rom: every chroma sample the upload had is kept. With it, chroma goes to half
/// the output size with Lanczos3, placed where a 4:2:0 JPEG of the *upright* picture centres
/// its chroma (on each 2×2 luma block), so the planes can be sent as they are.
pub fn decode_resized(
    bytes: &[u8],
    hd: &Header,
    (w, h): (u32, u32),
    orientation: Orientation,
    half_chroma: bool,
) -> Option<Resized> {
    if !hd.ycbcr_420 || w == 0 || h == 0 {
        return None;
    }
    let (sw, sh) = (hd.width as usize, hd.height as usize);
    let (yw, yh) = (sw.div_ceil(2) * 2, sh.div_ceil(2) * 2);
    let (cw, ch) = (yw / 2, yh / 2);
    let buf = jpeg::decode_planes(bytes, hd)?;
    let (luma, chroma) = buf.split_at(yw * yh);
    let (cb, cr) = chroma.split_at(cw * ch);
    let cr = &cr[..cw * ch];
    let (ow, oh) = (w as usize, h as usize);
    let map = Map::of(orientation);
    let y = plane(luma, (yw, yh), (sw as f64, sh as f64), (ow, oh), fr::FilterType::Lanczos3)?;
    if !half_chroma {
        let region = (sw as f64 / 2.0, sh as f64 / 2.0);
        let u = plane(cb, (cw, ch), region, (ow, oh), fr::FilterType::CatmullRom)?;
        let v = plane(cr, (cw, ch), region, (ow, oh), fr::FilterType::CatmullRom)?;
        drop(buf);
        let (y, u, v) = (map.apply(y, ow, oh), map.apply(u, ow, oh), map.apply(v, ow, oh));
        let (uw, uh) = map.size(ow, oh);
        return jpeg::rgb_from_444(&[&y, &u, &v], (uw, uh)).map(Resized::Rgb);
    }
    let (rx, ry) = map.reversed();
    let ax = ChromaAxis::new(sw, ow, cw, rx);
    let ay = ChromaAxis::new(sh, oh, ch, ry);
    let u = half_plane(cb, (cw, ch), &ax, &ay)?;
    let v = half_plane(cr, (cw, ch), &ax, &ay)?;
    drop(buf);
    let (jw, jh) = (ax.total, ay.total);
    let (y, u, v) = (map.apply(y, ow, oh), map.apply(u, jw, jh), map.apply(v, jw, jh));
    let (uw, uh) = map.size(ow, oh);
    let planes = Planes420 { width: uw, height: uh, y: pad_even(y, uw, uh), u, v };
    let rgb = planes.to_rgb()?;
    Some(Resized::Planes(planes, rgb))
}

/// Where half-size chroma samples go along one stored axis of `n` output luma samples,
/// scaled from `src` source luma samples (`plane` chroma samples in the decoded plane).
/// Sample k is centred at source chroma position (k + 0.5)·s; along an axis the EXIF
/// orientation reverses, an odd `n` puts the upright pairs one luma sample earlier, at k·s.
/// Samples that would reach past the plane repeat their neighbour.
struct ChromaAxis {
    scale: f64,
    /// Repeated samples before the resized ones (the edge sample at 0 when shifted).
    lead: usize,
    left: f64,
    count: usize,
    total: usize,
}

impl ChromaAxis {
    fn new(src: usize, n: usize, plane: usize, reversed: bool) -> ChromaAxis {
        let scale = src as f64 / n as f64;
        let total = n.div_ceil(2);
        if reversed && n % 2 == 1 && total > 1 {
            return ChromaAxis { scale, lead: 1, left: 0.5 * scale, count: total - 1, total };
        }
        let count = ((plane as f64 / scale).floor() as usize).clamp(1, total);
        ChromaAxis { scale, lead: 0, left: 0.0, count, total }
    }
}

/// A chroma plane resized to `ax.total` × `ay.total` samples placed as [`ChromaAxis`] says.
fn half_plane(src: &[u8], size: (usize, usize), ax: &ChromaAxis, ay: &ChromaAxis) -> Option<Vec<u8>> {
    let img = fr::images::ImageRef::new(size.0 as u32, size.1 as u32, src, fr::PixelType::U8).ok()?;
    let mut dst = fr::images::Image::new(ax.count as u32, ay.count as u32, fr::PixelType::U8);
    let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3)).crop(
        ax.left,
        ay.left,
        ax.count as f64 * ax.scale,
        ay.count as f64 * ay.scale,
    );
    fr::Resizer::new().resize(&img, &mut dst, &opts).ok()?;
    let part = dst.into_vec();
    let (cw, tw, th) = (ax.count, ax.total, ay.total);
    let mut out = vec![0u8; tw * th];
    for (r, row) in out.chunks_exact_mut(tw).enumerate() {
        let sr = r.saturating_sub(ay.lead).min(ay.count - 1);
        let s = &part[sr * cw..(sr + 1) * cw];
        row[ax.lead..ax.lead + cw].copy_from_slice(s);
        row[..ax.lead].fill(s[0]);
        row[ax.lead + cw..].fill(s[cw - 1]);
    }
    Some(out)
}

/// A `w`×`h` plane padded to even sizes by repeating its last column and row.
fn pad_even(p: Vec<u8>, w: usize, h: usize) -> Vec<u8> {
    let (pw, ph) = (w.div_ceil(2) * 2, h.div_ceil(2) * 2);
    if (pw, ph) == (w, h) {
        return p;
    }
    let mut out = vec![0u8; pw * ph];
    for (r, row) in out.chunks_exact_mut(pw).enumerate() {
        let s = &p[r.min(h - 1) * w..][..w];
        row[..w].copy_from_slice(s);
        row[w..].fill(s[w - 1]);
    }
    out
}

/// Resizes `region` (from the top-left corner) of a `size` plane to `out`.
fn plane(
    src: &[u8],
    size: (usize, usize),
    region: (f64, f64),
    out: (usize, usize),
    filter: fr::FilterType,
) -> Option<Vec<u8>> {
    let img = fr::images::ImageRef::new(size.0 as u32, size.1 as u32, src, fr::PixelType::U8).ok()?;
    resize_region(&img, region, out.0 as u32, out.1 as u32, fr::PixelType::U8, filter).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image::jpeg::{decode_rgb, encode_rgb, header};

    /// Coloured squares (sharp colour edges survive the downscale, so a shifted or wrongly
    /// turned chroma plane shows) over a gradient.
    fn photo(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let square = ((x / 11) + 3 * (y / 7)) % 4;
            let g = ((x + y) * 255 / (w + h)) as u8;
            match square {
                0 => image::Rgb([230, 30, g]),
                1 => image::Rgb([20, g, 220]),
                2 => image::Rgb([g, 200, 40]),
                _ => image::Rgb([g, g / 2, 255 - g]),
            }
        })
    }

    fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
        let mse = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>()
            / a.as_raw().len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    /// The planes path against the plain one (decode to RGB, Lanczos3, orient with the
    /// `image` crate), both scored against the truth (the original pixels resized and turned
    /// the same way), for odd and even sizes and every orientation.
    #[test]
    fn planes_path_is_at_least_as_faithful_as_the_rgb_path() {
        for (sw, sh, w, h) in [(641, 479, 333, 249), (640, 480, 320, 240), (401, 603, 400, 602), (97, 51, 31, 17)] {
            let src = photo(sw, sh);
            let jpeg = encode_rgb(&src, 95, true).unwrap();
            let hd = header(&jpeg).unwrap();
            assert!(hd.ycbcr_420);
            assert_eq!((hd.width, hd.height), (sw, sh));
            let lanczos = |img: &RgbImage| {
                let (iw, ih) = img.dimensions();
                let src = fr::images::ImageRef::new(iw, ih, img.as_raw(), fr::PixelType::U8x3).unwrap();
                let px =
                    resize_region(&src, (iw as f64, ih as f64), w, h, fr::PixelType::U8x3, fr::FilterType::Lanczos3)
                        .unwrap();
                RgbImage::from_raw(w, h, px).unwrap()
            };
            let truth = lanczos(&src);
            let plain = lanczos(&decode_rgb(&jpeg, &hd).unwrap());
            for exif in 1..=8 {
                let o = Orientation::from_exif(exif).unwrap();
                let turn = |img: &RgbImage| {
                    let mut d = image::DynamicImage::ImageRgb8(img.clone());
                    d.apply_orientation(o);
                    d.into_rgb8()
                };
                let (truth, plain) = (turn(&truth), turn(&plain));
                // Half chroma is scored on what the model receives: the plain path's picture as
                // a 4:2:0 JPEG against the JPEG made straight from the planes.
                let sent = |img: &RgbImage| {
                    let j = encode_rgb(img, 95, true).unwrap();
                    decode_rgb(&j, &header(&j).unwrap()).unwrap()
                };
                for half in [false, true] {
                    let (fast, truth, plain) = match decode_resized(&jpeg, &hd, (w, h), o, half).unwrap() {
                        Resized::Rgb(rgb) => (rgb, truth.clone(), plain.clone()),
                        Resized::Planes(p, rgb) => {
                            assert_eq!((p.width, p.height), (rgb.width() as usize, rgb.height() as usize));
                            let j = p.encode(95).unwrap();
                            (decode_rgb(&j, &header(&j).unwrap()).unwrap(), truth.clone(), sent(&plain))
                        }
                    };
                    let what = format!("{sw}x{sh} -> {w}x{h}, orientation {exif}, half chroma {half}");
                    assert_eq!(fast.dimensions(), truth.dimensions(), "{what}");
                    let (p_fast, p_plain) = (psnr(&truth, &fast), psnr(&truth, &plain));
                    assert!(p_fast >= p_plain - 0.2, "{what}: planes {p_fast:.1} dB, plain {p_plain:.1} dB");
                    // The pattern's colour edges expose a misplaced plane: shifted by one
                    // pixel, the same output fails the bar above.
                    let (fw, fh) = fast.dimensions();
                    let shifted = RgbImage::from_fn(fw, fh, |x, y| *fast.get_pixel((x + 1).min(fw - 1), y));
                    let p_shifted = psnr(&truth, &shifted);
                    assert!(p_shifted < p_plain - 0.2, "{what}: a shift scores {p_shifted:.1} dB");
                }
            }
        }
    }

    #[test]
    fn declines_what_is_not_4_2_0() {
        let full_chroma = encode_rgb(&photo(8, 8), 90, false).unwrap();
        let hd = header(&full_chroma).unwrap();
        assert!(!hd.ycbcr_420);
        assert!(decode_resized(&full_chroma, &hd, (4, 4), Orientation::NoTransforms, false).is_none());
    }

    #[test]
    fn truncated_scan_is_not_decoded() {
        let jpeg = encode_rgb(&photo(64, 64), 90, true).unwrap();
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        let hd = header(cut).unwrap();
        assert!(decode_resized(cut, &hd, (32, 32), Orientation::Rotate90, true).is_none());
    }
}
