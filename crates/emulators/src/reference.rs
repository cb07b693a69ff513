//! The Nova Canvas limits the emulator enforces, written from the reference
//! (`shared/reference/nova-canvas-vto.md` §Inputs, rows A3, A5, A10, B1), not taken from the
//! function: the emulator is an independent check of the numbers the function plans with.

/// Each side of an input image, in pixels (A3).
pub const MIN_SIDE: u32 = 320;
pub const MAX_SIDE: u32 = 4096;
/// Pixels of an input image: strictly below 2048×2048, the strictest reading of A3 (A5 and
/// A10 allow 2048×2048 itself).
pub const MAX_PIXELS: u64 = 4_194_304 - 1;
/// The longer side at most four times the shorter (1:4 to 4:1, A3).
pub const MAX_ASPECT: u32 = 4;
/// The `InvokeModel` body (the `Body` blob's `max: 25000000`, B1).
pub const MAX_BODY_BYTES: usize = 25_000_000;

/// The 18 garment classes of `garmentBasedMask.garmentClass` (reference §2.3), each with the
/// body region the emulator paints for it.
pub const GARMENT_CLASSES: &[(&str, BodyRegion)] = &[
    ("UPPER_BODY", BodyRegion::Upper),
    ("LOWER_BODY", BodyRegion::Lower),
    ("FULL_BODY", BodyRegion::Full),
    ("FOOTWEAR", BodyRegion::Feet),
    ("LONG_SLEEVE_SHIRT", BodyRegion::Upper),
    ("SHORT_SLEEVE_SHIRT", BodyRegion::Upper),
    ("NO_SLEEVE_SHIRT", BodyRegion::Upper),
    ("OTHER_UPPER_BODY", BodyRegion::Upper),
    ("LONG_PANTS", BodyRegion::Lower),
    ("SHORT_PANTS", BodyRegion::Lower),
    ("OTHER_LOWER_BODY", BodyRegion::Lower),
    ("LONG_DRESS", BodyRegion::Full),
    ("SHORT_DRESS", BodyRegion::Full),
    ("FULL_BODY_OUTFIT", BodyRegion::Full),
    ("OTHER_FULL_BODY", BodyRegion::Full),
    ("SHOES", BodyRegion::Feet),
    ("BOOTS", BodyRegion::Feet),
    ("OTHER_FOOTWEAR", BodyRegion::Feet),
];

/// Where on the person a garment class goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRegion {
    Upper,
    Lower,
    Full,
    Feet,
}

/// The region of a garment class name (`UPPER_BODY` for an unknown one).
pub fn region_of(class: &str) -> BodyRegion {
    GARMENT_CLASSES.iter().find(|(c, _)| *c == class).map_or(BodyRegion::Upper, |(_, r)| *r)
}

/// A PNG of an RGB picture (the emulators' answers and their tests' inputs).
pub fn try_png(img: &image::RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(encoder, img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)?;
    Ok(out)
}

/// [`try_png`], empty on failure (an answer a client must then refuse).
pub fn png(img: &image::RgbImage) -> Vec<u8> {
    try_png(img).unwrap_or_default()
}
