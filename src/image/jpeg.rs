//! JPEG through libjpeg-turbo (built from source with its SIMD code, linked statically).
//!
//! The photo is most of a job's local work, and the pure-Rust codecs cannot reach the speed
//! targets on it: libjpeg-turbo decodes the shared 12 MP phone photo into its YCbCr planes in
//! about 70 ms (zune-jpeg to RGB: about 120) and encodes 4 MP at q95 in about 23 ms
//! (jpeg-encoder: about 55). A 4:2:0 photo is decoded to its planes, resized as planes (half
//! the bytes of RGB, and no colour conversion or chroma upsampling at 12 MP) and converted to
//! RGB only at Nova's size.
//!
//! Every function here returns `None`/`Err` instead of guessing: callers fall back to the
//! pure-Rust decoder, which then either decodes the file or says what is wrong with it.

use fast_image_resize as fr;
use image::metadata::Orientation;
use image::RgbImage;
use turbojpeg::{raw, Colorspace, Compressor, Decompressor, Image, PixelFormat, Subsamp, YuvImage};

/// What libjpeg-turbo read from a JPEG's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// A lossy YCbCr image with 4:2:0 chroma: the common camera and phone layout, decoded to
    /// planes by [`decode_resized`].
    pub ycbcr_420: bool,
}

/// Reads the headers; `None` for anything libjpeg-turbo cannot turn into 8-bit RGB
/// (CMYK/YCCK, lossless, unusual sampling, damaged headers).
pub fn header(bytes: &[u8]) -> Option<Header> {
    let h = Decompressor::new().ok()?.read_header(bytes).ok()?;
    if h.is_lossless || !matches!(h.colorspace, Colorspace::YCbCr | Colorspace::Gray | Colorspace::RGB) {
        return None;
    }
    Some(Header {
        width: u32::try_from(h.width).ok()?,
        height: u32::try_from(h.height).ok()?,
        ycbcr_420: h.colorspace == Colorspace::YCbCr && h.subsamp == Subsamp::Sub2x2,
    })
}

/// A decompressor that refuses progressive files with absurd scan counts (a known
/// decompression bomb: each scan re-reads the whole coefficient buffer).
fn decompressor() -> Option<Decompressor> {
    let mut d = Decompressor::new().ok()?;
    d.set_scan_limit(crate::limits::MAX_JPEG_SCANS).ok()?;
    Some(d)
}

/// Decodes to 8-bit RGB in the stored orientation.
pub fn decode_rgb(bytes: &[u8], h: &Header) -> Option<RgbImage> {
    let (w, ht) = (h.width as usize, h.height as usize);
    let mut pixels = vec![0u8; w.checked_mul(ht)?.checked_mul(3)?];
    let out = Image { pixels: &mut pixels[..], width: w, pitch: w * 3, height: ht, format: PixelFormat::RGB };
    decompressor()?.decompress(bytes, out).ok()?;
    RgbImage::from_raw(h.width, h.height, pixels)
}

/// A picture as 4:2:0 YCbCr planes in libjpeg-turbo's layout: luma `PAD(width, 2)` ×
/// `PAD(height, 2)` (edges repeated), each chroma plane half of that, chroma sample j of a row
/// centred on luma 2j..2j+2.
pub struct Planes420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl std::fmt::Debug for Planes420 {
    // Dimensions only: pixels never go to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Planes420({}x{})", self.width, self.height)
    }
}

impl Planes420 {
    fn y_stride(&self) -> usize {
        self.width.div_ceil(2) * 2
    }

    fn c_stride(&self) -> usize {
        self.width.div_ceil(2)
    }

    /// As RGB (libjpeg-turbo's chroma upsampling and colour conversion).
    pub fn to_rgb(&self) -> Option<RgbImage> {
        let (ys, cs) = (self.y_stride(), self.c_stride());
        planes_to_rgb(&[&self.y, &self.u, &self.v], [ys, cs, cs], (self.width, self.height), raw::TJSAMP_TJSAMP_420)
    }

    /// A baseline JPEG straight from the planes: no colour conversion, no second chroma
    /// filtering.
    pub fn encode(&self, quality: u8) -> Result<Vec<u8>, String> {
        let img = turbojpeg::YuvPlanesImage {
            y_plane: &self.y[..],
            u_plane: &self.u[..],
            v_plane: &self.v[..],
            width: self.width,
            height: self.height,
            y_stride: self.y_stride(),
            u_stride: self.c_stride(),
            v_stride: self.c_stride(),
            subsamp: Subsamp::Sub2x2,
        };
        let mut c = Compressor::new().map_err(|e| e.to_string())?;
        c.set_quality(quality as i32).map_err(|e| e.to_string())?;
        c.compress_yuv_planes_to_vec(&img).map_err(|e| e.to_string())
    }
}

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
    let buf = decode_planes(bytes, hd)?;
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
        return planes_to_rgb(&[&y, &u, &v], [uw; 3], (uw, uh), raw::TJSAMP_TJSAMP_444).map(Resized::Rgb);
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

/// Decodes a 4:2:0 JPEG to its YCbCr planes in libjpeg-turbo's layout: luma padded to even
/// sizes, then each chroma plane at half of that.
pub fn decode_planes(bytes: &[u8], hd: &Header) -> Option<Vec<u8>> {
    if !hd.ycbcr_420 {
        return None;
    }
    let (w, h) = (hd.width as usize, hd.height as usize);
    let (yw, yh) = (w.div_ceil(2) * 2, h.div_ceil(2) * 2);
    let len = turbojpeg::yuv_pixels_len(w, 1, h, Subsamp::Sub2x2).ok()?;
    if len != yw * yh + 2 * (yw / 2) * (yh / 2) {
        return None;
    }
    let mut buf = vec![0u8; len];
    let out = YuvImage { pixels: &mut buf[..], width: w, align: 1, height: h, subsamp: Subsamp::Sub2x2 };
    decompressor()?.decompress_to_yuv(bytes, out).ok()?;
    Some(buf)
}

/// An EXIF orientation as an affine map from upright pixels (x, y) to stored ones:
/// stored x = ax·x + bx·y (+ w−1 when negative), stored y = ay·x + by·y (+ h−1 likewise).
#[derive(Clone, Copy)]
struct Map {
    ax: isize,
    bx: isize,
    ay: isize,
    by: isize,
}

impl Map {
    fn of(o: Orientation) -> Map {
        let m = |ax, bx, ay, by| Map { ax, bx, ay, by };
        match o {
            Orientation::NoTransforms => m(1, 0, 0, 1),
            Orientation::FlipHorizontal => m(-1, 0, 0, 1),
            Orientation::Rotate180 => m(-1, 0, 0, -1),
            Orientation::FlipVertical => m(1, 0, 0, -1),
            Orientation::Rotate90FlipH => m(0, 1, 1, 0),
            Orientation::Rotate90 => m(0, 1, -1, 0),
            Orientation::Rotate270FlipH => m(0, -1, -1, 0),
            Orientation::Rotate270 => m(0, -1, 1, 0),
        }
    }

    fn swaps(self) -> bool {
        self.ax == 0
    }

    /// Whether the stored x and y axes run backwards in the upright picture.
    fn reversed(self) -> (bool, bool) {
        (self.ax + self.bx < 0, self.ay + self.by < 0)
    }

    /// The upright size of a stored `w`×`h` plane.
    fn size(self, w: usize, h: usize) -> (usize, usize) {
        if self.swaps() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The plane turned upright, in 64×64 blocks so reads and writes stay in cache.
    fn apply(self, src: Vec<u8>, w: usize, h: usize) -> Vec<u8> {
        if (self.ax, self.by) == (1, 1) {
            return src;
        }
        const B: usize = 64;
        let (uw, uh) = self.size(w, h);
        let (wi, hi) = (w as isize, h as isize);
        let cx = if self.ax + self.bx < 0 { wi - 1 } else { 0 };
        let cy = if self.ay + self.by < 0 { hi - 1 } else { 0 };
        let base = cy * wi + cx;
        let step_x = self.ay * wi + self.ax;
        let step_y = self.by * wi + self.bx;
        let mut out = vec![0u8; src.len()];
        for by in (0..uh).step_by(B) {
            for bx in (0..uw).step_by(B) {
                let xe = (bx + B).min(uw);
                for y in by..(by + B).min(uh) {
                    let mut i = base + step_y * y as isize + step_x * bx as isize;
                    for d in &mut out[y * uw + bx..y * uw + xe] {
                        *d = src[i as usize];
                        i += step_x;
                    }
                }
            }
        }
        out
    }
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
    super::prepare::resize_region(&img, region, out.0 as u32, out.1 as u32, fr::PixelType::U8, filter).ok()
}

/// libjpeg-turbo's (SIMD) chroma upsampling and YCbCr→RGB of three planes with the given
/// row strides, laid out as tj3YUVPlaneSize describes for `samp` (checked here).
fn planes_to_rgb(
    planes: &[&[u8]; 3],
    strides: [usize; 3],
    (w, h): (usize, usize),
    samp: raw::TJSAMP,
) -> Option<RgbImage> {
    let sub = samp == raw::TJSAMP_TJSAMP_420;
    let rows = if sub { [h.div_ceil(2) * 2, h.div_ceil(2), h.div_ceil(2)] } else { [h; 3] };
    let widths = if sub { [w.div_ceil(2) * 2, w.div_ceil(2), w.div_ceil(2)] } else { [w; 3] };
    for i in 0..3 {
        if strides[i] < widths[i] || planes[i].len() < strides[i].checked_mul(rows[i])? {
            return None;
        }
    }
    let mut rgb = vec![0u8; w.checked_mul(h)?.checked_mul(3)?];
    let ptrs = [planes[0].as_ptr(), planes[1].as_ptr(), planes[2].as_ptr()];
    let strides = [i32::try_from(strides[0]).ok()?, i32::try_from(strides[1]).ok()?, i32::try_from(strides[2]).ok()?];
    let (wi, hi, pitch) = (i32::try_from(w).ok()?, i32::try_from(h).ok()?, i32::try_from(w * 3).ok()?);
    // SAFETY: the handle is checked and destroyed once by the guard; each plane is at least as
    // large as its stride and row count require (checked above); `rgb` holds w×h×3 bytes.
    unsafe {
        let handle = Handle(raw::tj3Init(raw::TJINIT_TJINIT_DECOMPRESS as i32));
        if handle.0.is_null() || raw::tj3Set(handle.0, raw::TJPARAM_TJPARAM_SUBSAMP as i32, samp) != 0 {
            return None;
        }
        let rc = raw::tj3DecodeYUVPlanes8(
            handle.0,
            ptrs.as_ptr(),
            strides.as_ptr(),
            rgb.as_mut_ptr(),
            wi,
            pitch,
            hi,
            raw::TJPF_TJPF_RGB,
        );
        if rc != 0 {
            return None;
        }
    }
    RgbImage::from_raw(w as u32, h as u32, rgb)
}

struct Handle(raw::tjhandle);

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a handle from tj3Init, destroyed exactly once.
            unsafe { raw::tj3Destroy(self.0) }
        }
    }
}

/// Encodes RGB as a baseline JPEG at `quality`, with 4:2:0 chroma when `subsample`.
pub fn encode_rgb(img: &RgbImage, quality: u8, subsample: bool) -> Result<Vec<u8>, String> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut c = Compressor::new().map_err(|e| e.to_string())?;
    c.set_quality(quality as i32).map_err(|e| e.to_string())?;
    c.set_subsamp(if subsample { Subsamp::Sub2x2 } else { Subsamp::None }).map_err(|e| e.to_string())?;
    let src = Image { pixels: img.as_raw().as_slice(), width: w, pitch: w * 3, height: h, format: PixelFormat::RGB };
    c.compress_to_vec(src).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let px = crate::image::prepare::resize_region(
                    &src,
                    (iw as f64, ih as f64),
                    w,
                    h,
                    fr::PixelType::U8x3,
                    fr::FilterType::Lanczos3,
                )
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
    fn plane_orientation_matches_the_image_crate() {
        let (w, h) = (67usize, 45usize);
        let px: Vec<u8> = (0..w * h).map(|i| (i * 37 % 251) as u8).collect();
        for exif in 1..=8 {
            let o = Orientation::from_exif(exif).unwrap();
            let mut reference =
                image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(w as u32, h as u32, px.clone()).unwrap());
            reference.apply_orientation(o);
            let map = Map::of(o);
            let (uw, uh) = map.size(w, h);
            assert_eq!((uw as u32, uh as u32), (reference.width(), reference.height()));
            assert_eq!(map.apply(px.clone(), w, h), reference.into_luma8().into_raw(), "orientation {exif}");
        }
    }

    #[test]
    fn declines_what_it_cannot_decode_to_rgb() {
        assert_eq!(header(b"not a jpeg"), None);
        let mut cmyk = Vec::new();
        jpeg_encoder::Encoder::new(&mut cmyk, 90)
            .encode(&[0u8; 16 * 16 * 4], 16, 16, jpeg_encoder::ColorType::Cmyk)
            .unwrap();
        assert_eq!(header(&cmyk), None);
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
        assert!(decode_rgb(cut, &hd).is_none());
        assert!(decode_resized(cut, &hd, (32, 32), Orientation::Rotate90, true).is_none());
    }
}
