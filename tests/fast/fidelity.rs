//! Image fidelity: what comes out of preparation is upright, 8-bit sRGB-looking RGB, whatever
//! the upload's orientation tag, container, bit depth, palette, colour model or ICC profile.

use std::io::Cursor;

use image::{DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage};
use tryon::core::image::{encode_prepared, prepare, prepare_with, Chroma, Encoding, Prepared};
use tryon::core::input_limits::Limits;

/// An asymmetric picture: red block top-left, blue block bottom-right, light grey elsewhere.
fn marker_image() -> RgbImage {
    RgbImage::from_fn(360, 480, |x, y| match (x < 120 && y < 120, x >= 240 && y >= 360) {
        (true, _) => Rgb([220, 20, 20]),
        (_, true) => Rgb([20, 20, 220]),
        _ => Rgb([240, 240, 240]),
    })
}

fn tiff_orientation(o: u16) -> Vec<u8> {
    tryon_tools::samples::exif_orientation(o)[6..].to_vec()
}

fn png_with_exif(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let png = tryon_tools::samples::png_rgb(img);
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let data = tiff_orientation(orientation);
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend(&data);
    chunk.extend(&body);
    chunk.extend(crc32fast::hash(&body).to_be_bytes());
    let mut out = png[..idat].to_vec();
    out.extend(chunk);
    out.extend(&png[idat..]);
    out
}

fn webp_with_exif(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut simple = Vec::new();
    DynamicImage::ImageRgb8(img.clone()).write_to(&mut Cursor::new(&mut simple), ImageFormat::WebP).unwrap();
    let vp8l = &simple[12..];
    let mut exif = tiff_orientation(orientation);
    let exif_len = exif.len() as u32;
    if exif.len() % 2 == 1 {
        exif.push(0);
    }
    let mut vp8x = b"VP8X".to_vec();
    vp8x.extend(10u32.to_le_bytes());
    vp8x.extend([0x08, 0, 0, 0]);
    vp8x.extend(&(img.width() - 1).to_le_bytes()[..3]);
    vp8x.extend(&(img.height() - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(vp8x);
    body.extend(vp8l);
    body.extend(b"EXIF");
    body.extend(exif_len.to_le_bytes());
    body.extend(exif);
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

fn prep(bytes: &[u8]) -> Prepared {
    prepare(bytes, &Limits::default(), "test").unwrap()
}

fn assert_upright(p: &Prepared, what: &str) {
    assert_eq!(p.canvas.dimensions(), (360, 480), "{what}");
    let tl = p.canvas.get_pixel(40, 40);
    let br = p.canvas.get_pixel(320, 440);
    assert!(tl[0] > 180 && tl[2] < 80, "{what}: top-left is {tl:?}");
    assert!(br[2] > 180 && br[0] < 80, "{what}: bottom-right is {br:?}");
}

#[test]
fn every_exif_orientation_is_applied_in_jpeg_png_and_webp() {
    let upright = marker_image();
    for o in 1..=8u16 {
        let stored = tryon_tools::samples::stored_for_orientation(&upright, o);
        let jpeg = tryon_tools::samples::phone_jpeg(&upright, o).unwrap();
        assert_upright(&prep(&jpeg), &format!("JPEG orientation {o}"));
        // The same photo prepared for a 4:2:0 JPEG request (half chroma, planes kept).
        let half = prepare_with(&jpeg, &Limits::default(), "test", Chroma::Half).unwrap();
        assert_upright(&half, &format!("JPEG orientation {o}, half chroma"));
        let sent = image::load_from_memory(&encode_prepared(&half, Encoding::Jpeg, true).unwrap()).unwrap().into_rgb8();
        assert_upright(&Prepared { canvas: sent, ..half }, &format!("JPEG orientation {o}, sent from the planes"));
        let png = prep(&png_with_exif(&stored, o));
        assert_eq!(png.input.orientation as u16, o, "PNG eXIf orientation {o} read");
        assert_upright(&png, &format!("PNG orientation {o}"));
        let webp = prep(&webp_with_exif(&stored, o));
        assert_eq!(webp.input.orientation as u16, o, "WebP EXIF orientation {o} read");
        assert_upright(&webp, &format!("WebP orientation {o}"));
    }
}

fn near(a: &Rgb<u8>, b: [u8; 3], tol: u8) -> bool {
    a.0.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

#[test]
fn grey_sixteen_bit_palette_and_alpha_become_correct_rgb() {
    let grey =
        encode(DynamicImage::ImageLuma8(image::GrayImage::from_pixel(400, 400, image::Luma([77]))), ImageFormat::Jpeg);
    assert!(near(prep(&grey).canvas.get_pixel(200, 200), [77, 77, 77], 2));

    let deep =
        image::ImageBuffer::from_fn(
            400,
            400,
            |x, _| if x < 200 { Rgb([65535u16, 32896, 0]) } else { Rgb([0u16, 0, 65535]) },
        );
    let p = prep(&encode(DynamicImage::ImageRgb16(deep), ImageFormat::Png));
    assert!(near(p.canvas.get_pixel(100, 100), [255, 128, 0], 1), "{:?}", p.canvas.get_pixel(100, 100));
    assert!(near(p.canvas.get_pixel(300, 100), [0, 0, 255], 1));

    let mut palette = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut palette, 400, 400);
        enc.set_color(png::ColorType::Indexed);
        enc.set_palette(vec![10, 200, 30, 250, 240, 5]);
        enc.set_trns(vec![255, 0]);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&(0..400 * 400).map(|i| ((i % 400) / 200) as u8).collect::<Vec<_>>()).unwrap();
    }
    let p = prep(&palette);
    assert!(near(p.canvas.get_pixel(100, 100), [10, 200, 30], 0), "{:?}", p.canvas.get_pixel(100, 100));
    assert!(near(p.canvas.get_pixel(300, 100), [255, 255, 255], 0), "transparent palette entry becomes white");

    let half = image::RgbaImage::from_pixel(400, 400, image::Rgba([0, 0, 200, 128]));
    let p = prep(&encode(DynamicImage::ImageRgba8(half), ImageFormat::Png));
    assert!(near(p.canvas.get_pixel(200, 200), [127, 127, 227], 1), "{:?}", p.canvas.get_pixel(200, 200));
    assert!(p.input.had_alpha);
}

#[test]
fn cmyk_jpeg_colours_survive() {
    // Red, green and blue in CMYK: (0,255,255,0), (255,0,255,0), (255,255,0,0).
    let colours: [([u8; 4], [u8; 3]); 3] =
        [([0, 255, 255, 0], [255, 0, 0]), ([255, 0, 255, 0], [0, 255, 0]), ([255, 255, 0, 0], [0, 0, 255])];
    let mut pixels = Vec::new();
    for y in 0..360u32 {
        for _x in 0..400u32 {
            pixels.extend(colours[(y / 120) as usize].0);
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 95).encode(&pixels, 400, 360, jpeg_encoder::ColorType::Cmyk).unwrap();
    let p = prep(&jpeg);
    for (i, (_, rgb)) in colours.iter().enumerate() {
        let got = p.canvas.get_pixel(200, 60 + 120 * i as u32);
        assert!(near(got, *rgb, 40), "CMYK band {i}: {got:?}, want about {rgb:?}");
    }
}

fn srgb_of(profile: &moxcms::ColorProfile, px: [u8; 3]) -> [u8; 3] {
    let t = profile
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            Default::default(),
        )
        .unwrap();
    let mut out = [0u8; 3];
    t.transform(&px, &mut out).unwrap();
    out
}

#[test]
fn wide_gamut_profiles_are_converted_to_srgb() {
    let colour = [30u8, 160, 60];
    let img = RgbImage::from_pixel(400, 400, Rgb(colour));
    // Adobe RGB (1998) in a JPEG, as cameras write it.
    let adobe = moxcms::ColorProfile::new_adobe_rgb();
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 100);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.add_icc_profile(&adobe.encode().unwrap()).unwrap();
    enc.encode(img.as_raw(), 400, 400, jpeg_encoder::ColorType::Rgb).unwrap();
    let p = prep(&jpeg);
    let half = prepare_with(&jpeg, &Limits::default(), "test", Chroma::Half).unwrap();
    assert!(half.planes.is_none(), "a profile to convert keeps the picture in RGB");
    assert_eq!(half.canvas.get_pixel(200, 200), p.canvas.get_pixel(200, 200));
    let want = srgb_of(&adobe, colour);
    let got = p.canvas.get_pixel(200, 200);
    assert!(near(got, want, 3), "Adobe RGB {colour:?} should become about {want:?} in sRGB, got {got:?}");
    assert!(!near(got, colour, 8), "the colour must actually change");
    assert!(p.input.color_profile.as_deref().unwrap().starts_with("converted to sRGB"), "{:?}", p.input.color_profile);

    // Display P3 in a PNG, as phones write it.
    let p3 = moxcms::ColorProfile::new_display_p3();
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_icc_profile(p3.encode().unwrap()).unwrap();
    enc.write_image(img.as_raw(), 400, 400, image::ExtendedColorType::Rgb8).unwrap();
    let p = prep(&png);
    let want = srgb_of(&p3, colour);
    assert!(near(p.canvas.get_pixel(200, 200), want, 2), "{:?} vs {want:?}", p.canvas.get_pixel(200, 200));

    // An sRGB profile changes nothing.
    let srgb = moxcms::ColorProfile::new_srgb();
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 100);
    enc.add_icc_profile(&srgb.encode().unwrap()).unwrap();
    enc.encode(img.as_raw(), 400, 400, jpeg_encoder::ColorType::Rgb).unwrap();
    let p = prep(&jpeg);
    assert_eq!(p.input.color_profile.as_deref(), Some("sRGB"));
    assert!(near(p.canvas.get_pixel(200, 200), colour, 3));
}
