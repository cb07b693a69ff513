//! JPEG through libjpeg-turbo (built from source with its SIMD code, linked statically):
//! header reading, decoding to RGB or to 4:2:0 YCbCr planes, planes back to RGB, and
//! encoding from RGB or from planes.
//!
//! The photo is most of a job's local work, and the pure-Rust codecs cannot reach the speed
//! targets on it: libjpeg-turbo decodes the shared 12 MP phone photo into its YCbCr planes in
//! about 70 ms (zune-jpeg to RGB: about 120) and encodes 4 MP at q95 in about 23 ms
//! (jpeg-encoder: about 55). What is done with the planes is in `planes`.
//!
//! Every function here returns `None`/`Err` instead of guessing: callers fall back to the
//! pure-Rust decoder, which then either decodes the file or says what is wrong with it.

use image::RgbImage;
use turbojpeg::{raw, Colorspace, Compressor, Decompressor, Image, PixelFormat, Subsamp, YuvImage};

/// What libjpeg-turbo read from a JPEG's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// A lossy YCbCr image with 4:2:0 chroma: the common camera and phone layout, decoded to
    /// planes by [`decode_resized`](super::planes::decode_resized).
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
    d.set_scan_limit(crate::core::limits::MAX_JPEG_SCANS).ok()?;
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

/// libjpeg-turbo's (SIMD) YCbCr→RGB of three full-resolution (4:4:4) `w`×`h` planes.
pub fn rgb_from_444(planes: &[&[u8]; 3], (w, h): (usize, usize)) -> Option<RgbImage> {
    planes_to_rgb(planes, [w; 3], (w, h), raw::TJSAMP_TJSAMP_444)
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

    fn photo(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8]))
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
        assert!(decode_planes(&full_chroma, &hd).is_none());
    }

    #[test]
    fn truncated_scan_is_not_decoded() {
        let jpeg = encode_rgb(&photo(64, 64), 90, true).unwrap();
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        let hd = header(cut).unwrap();
        assert!(decode_rgb(cut, &hd).is_none());
        assert!(decode_planes(cut, &hd).is_none());
    }

    #[test]
    fn planes_come_back_as_the_rgb_decode() {
        let smooth = RgbImage::from_fn(97, 51, |x, y| image::Rgb([(x * 2) as u8, (y * 4) as u8, (x + y) as u8]));
        let jpeg = encode_rgb(&smooth, 95, true).unwrap();
        let hd = header(&jpeg).unwrap();
        assert!(hd.ycbcr_420 && (hd.width, hd.height) == (97, 51));
        let rgb = decode_rgb(&jpeg, &hd).unwrap();
        let buf = decode_planes(&jpeg, &hd).unwrap();
        let (yw, yh) = (98, 52);
        let (y, c) = buf.split_at(yw * yh);
        let (u, v) = c.split_at(yw / 2 * yh / 2);
        let planes = Planes420 { width: 97, height: 51, y: y.to_vec(), u: u.to_vec(), v: v.to_vec() };
        assert_eq!(format!("{planes:?}"), "Planes420(97x51)");
        let back = planes.to_rgb().unwrap();
        assert_eq!(back.dimensions(), rgb.dimensions());
        let max_diff = back.as_raw().iter().zip(rgb.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(max_diff <= 8, "planes to RGB differs from the RGB decode by up to {max_diff}");
        let again = planes.encode(95).unwrap();
        assert_eq!(header(&again).map(|h| (h.width, h.height, h.ycbcr_420)), Some((97, 51, true)));
    }
}
