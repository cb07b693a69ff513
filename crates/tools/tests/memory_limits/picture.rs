//! Synthetic picture content for the generated files.

/// A `w`×`h` RGB picture: two gradients and a checker pattern, so it is neither flat nor noise.
pub fn photo(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let check = if (x / 16 + y / 16) % 2 == 0 { 40 } else { 0 };
        image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 120 + check])
    })
}
