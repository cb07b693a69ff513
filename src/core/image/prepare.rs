//! The pipeline for a source or garment upload: turns untrusted bytes into the canvas Nova
//! Canvas accepts, composing the other rooms.
//!
//! Order of work: probe the headers with every limit in place, lay the picture out on
//! Nova's canvas, then either take the 4:2:0 route (a JPEG photo decoded, resized and turned
//! upright as planes) or decode, flatten alpha onto white as 8-bit RGB, resize to the laid-out
//! size in the stored orientation (cheaper than rotating the full-size image) and apply the
//! EXIF orientation; then convert an embedded colour profile to sRGB and pad a too-thin
//! picture with white.

use std::sync::Arc;

use image::RgbImage;

use super::colour::{icc_needs_conversion, to_srgb};
use super::decode::{decode_pixels, flatten};
use super::geometry::{layout, pad, Layout};
use super::jpeg::Planes420;
use super::orient::{orient, swaps_axes};
use super::planes::{decode_resized, Resized};
use super::probe::{probe, InputInfo, Probe};
use super::resize::resize_rgb;
use crate::core::backend::Canvas;
use crate::core::error::JobError;
use crate::core::input_limits::Limits;
use crate::core::input_limits::RequestEncoding;

/// How much colour resolution a prepared photo keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// All of it: the picture may be sent losslessly (PNG).
    Full,
    /// Half in each direction for a 4:2:0 JPEG upload, kept as planes and sent as they are
    /// when the request is a 4:2:0 JPEG anyway (which keeps no more): about 40 ms less per
    /// 12 MP photo.
    Half,
}

impl Chroma {
    /// What a request with this encoding setting needs: `png` sends every upload losslessly;
    /// `auto` and `jpeg` send a 4:2:0 JPEG upload as a 4:2:0 JPEG.
    pub fn for_request(choice: RequestEncoding) -> Chroma {
        match choice {
            RequestEncoding::Png => Chroma::Full,
            RequestEncoding::Auto | RequestEncoding::Jpeg => Chroma::Half,
        }
    }
}

/// An input ready to encode: the canvas and where the picture sits on it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub canvas: RgbImage,
    pub layout: Layout,
    pub input: InputInfo,
    /// The canvas as 4:2:0 planes, when it was made from them (a 4:2:0 JPEG prepared with
    /// [`Chroma::Half`]): a 4:2:0 JPEG request is encoded straight from these.
    pub planes: Option<Arc<Planes420>>,
}

impl Prepared {
    /// Bytes this prepared image holds.
    pub fn footprint(&self) -> u64 {
        let planes = self.planes.as_ref().map_or(0, |p| (p.y.len() + p.u.len() + p.v.len()) as u64);
        self.canvas.as_raw().len() as u64 + planes
    }
}

/// What a probed input is to become, decided before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Where the picture goes on the canvas.
    pub layout: Layout,
    /// The picture's size on the canvas, in the upload's stored orientation (what to resize
    /// to before turning it upright).
    pub stored: (u32, u32),
    /// Keep half chroma as planes: only where they can be sent as they are, with no colour
    /// conversion to make and no padding to add.
    pub half_chroma: bool,
}

impl Target {
    pub fn of(probe: &Probe, chroma: Chroma, canvas: &Canvas) -> Target {
        let layout = layout(probe.info.width, probe.info.height, canvas);
        let (cw, ch) = (layout.content.width, layout.content.height);
        let stored = if swaps_axes(probe.orientation) { (ch, cw) } else { (cw, ch) };
        let half_chroma =
            chroma == Chroma::Half && !layout.padded() && !probe.icc.as_deref().is_some_and(icc_needs_conversion);
        Target { layout, stored, half_chroma }
    }
}

/// Prepares a source or garment image for Nova Canvas, keeping all its colour resolution.
pub fn prepare(bytes: &[u8], limits: &Limits, what: &str) -> Result<Prepared, JobError> {
    prepare_with(bytes, limits, what, Chroma::Full)
}

/// [`prepare`] for a request that needs only `chroma`. (`tryon bench` times these steps one
/// by one in `bench::prepare_timed`: a change here belongs there too.)
pub fn prepare_with(bytes: &[u8], limits: &Limits, what: &str, chroma: Chroma) -> Result<Prepared, JobError> {
    let probe = probe(bytes, limits, what)?;
    let target = Target::of(&probe, chroma, &limits.canvas);
    let Probe { decoder, jpeg, orientation, info, icc } = probe;
    let planes_route =
        jpeg.as_ref().and_then(|j| decode_resized(bytes, j, target.stored, orientation, target.half_chroma));
    let (mut upright, planes, had_alpha) = match planes_route {
        Some(Resized::Rgb(rgb)) => (rgb, None, false),
        Some(Resized::Planes(p, rgb)) => (rgb, Some(Arc::new(p)), false),
        None => {
            let (rgb, had_alpha) = flatten(decode_pixels(decoder, bytes, jpeg.as_ref(), what)?)?;
            let resized = resize_rgb(rgb, target.stored.0, target.stored.1)?;
            (orient(resized, orientation), None, had_alpha)
        }
    };
    let mut input = InputInfo { had_alpha, ..info };
    if let Some(icc) = icc {
        input.color_profile = Some(to_srgb(&mut upright, &icc));
    }
    let canvas = pad(upright, &target.layout);
    Ok(Prepared { canvas, layout: target.layout, input, planes })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use image::{DynamicImage, ImageFormat, Rgb, Rgba, RgbaImage};

    use super::*;
    use crate::core::error::ErrorCode;
    use crate::core::image::encode::{encode, encode_png_rgb, encode_with};
    use crate::core::image::format::{Encoding, InputFormat};

    fn jpeg(img: &RgbImage) -> Vec<u8> {
        encode(img, Encoding::Jpeg).unwrap()
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn small_photo_is_upscaled_and_alpha_flattened_on_white() {
        let mut img = RgbaImage::from_pixel(100, 200, Rgba([255, 0, 0, 255]));
        img.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, Rgba([0, 0, 0, 128]));
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(img).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let p = prepare(&png, &limits(), "garment").unwrap();
        assert_eq!(p.canvas.dimensions(), (320, 640));
        assert!(p.input.had_alpha);
        assert_eq!(p.input.format, InputFormat::Png);
        // Red stays red; the transparent corner became white.
        assert_eq!(p.canvas.get_pixel(160, 320), &Rgb([255, 0, 0]));
        let corner = p.canvas.get_pixel(0, 0);
        assert!(corner[1] > 200 && corner[2] > 200, "{corner:?}");
    }

    #[test]
    fn decode_limits_apply_before_pixels() {
        let img = RgbImage::from_pixel(600, 500, Rgb([9, 9, 9]));
        let png = encode_png_rgb(&img).unwrap();
        let tight = Limits { max_input_pixels: 100_000, ..limits() };
        assert_eq!(prepare(&png, &tight, "source").unwrap_err().code, ErrorCode::ImageTooLarge);
        let narrow = Limits { max_input_side: 550, ..limits() };
        assert_eq!(prepare(&png, &narrow, "source").unwrap_err().code, ErrorCode::ImageTooLarge);
        let truncated = &png[..png.len() / 2];
        assert_eq!(prepare(truncated, &limits(), "source").unwrap_err().code, ErrorCode::InvalidImage);
        let jpg = jpeg(&img);
        assert_eq!(prepare(&jpg[..jpg.len() - 100], &limits(), "source").unwrap_err().code, ErrorCode::InvalidImage);
        let mut trailer = jpg.clone();
        trailer.extend(b"camera trailer data after EOI");
        assert!(prepare(&trailer, &limits(), "source").is_ok());
    }

    #[test]
    fn the_decode_allocation_cap_holds_for_libjpeg_turbo_too() {
        let img = RgbImage::from_pixel(1000, 800, Rgb([9, 99, 199]));
        let jpeg = encode_with(&img, Encoding::Jpeg, true).unwrap();
        let small = Limits { max_decode_alloc: 2_000_000, ..limits() };
        for chroma in [Chroma::Full, Chroma::Half] {
            let e = prepare_with(&jpeg, &small, "the photo", chroma).unwrap_err();
            assert_eq!(e.code, ErrorCode::ImageTooLarge, "{e:?}");
            assert!(e.message.contains("MAX_DECODE_ALLOC_BYTES"), "{}", e.message);
        }
        assert!(prepare_with(&jpeg, &limits(), "the photo", Chroma::Half).is_ok());
    }

    // The sample JPEG writer (with EXIF) is tooling: the tools crate, a dev-dependency.
    #[test]
    fn all_eight_exif_orientations_come_out_upright() {
        // An asymmetric picture: a red block top-left, a blue block bottom-right.
        let upright = RgbImage::from_fn(360, 480, |x, y| match (x < 120 && y < 120, x >= 240 && y >= 360) {
            (true, _) => Rgb([220, 20, 20]),
            (_, true) => Rgb([20, 20, 220]),
            _ => Rgb([240, 240, 240]),
        });
        for o in 1..=8u16 {
            let jpeg = tryon_tools::samples::phone_jpeg(&upright, o).unwrap();
            let p = prepare(&jpeg, &limits(), "source").unwrap();
            assert_eq!(p.input.orientation as u16, o);
            assert_eq!((p.input.width, p.input.height), (360, 480), "orientation {o}");
            assert_eq!(p.canvas.dimensions(), (360, 480), "orientation {o}");
            let tl = p.canvas.get_pixel(40, 40);
            let br = p.canvas.get_pixel(320, 440);
            assert!(tl[0] > 180 && tl[2] < 80, "orientation {o}: top-left is {tl:?}");
            assert!(br[2] > 180 && br[0] < 80, "orientation {o}: bottom-right is {br:?}");
        }
    }
}
