//! EXIF orientation: which orientations swap the axes, and turning a picture upright, as RGB
//! (cache-blocked quarter turns for the phone portraits) or one 8-bit plane at a time (for
//! the 4:2:0 route, see `planes`).

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

/// Whether the stored picture is turned a quarter (its width is the displayed height).
pub fn swaps_axes(o: Orientation) -> bool {
    use Orientation::*;
    matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
}

/// The EXIF value (1–8) of an orientation.
pub fn exif_value(o: Orientation) -> u8 {
    o.to_exif()
}

/// The picture turned upright.
pub fn orient(img: RgbImage, o: Orientation) -> RgbImage {
    use Orientation::*;
    match o {
        NoTransforms => return img,
        // Phones store portraits as 6 or 8: a cache-blocked quarter turn.
        Rotate90 => return rotate_quarter(&img, true),
        Rotate270 => return rotate_quarter(&img, false),
        _ => {}
    }
    let mut d = DynamicImage::ImageRgb8(img);
    d.apply_orientation(o);
    d.into_rgb8()
}

/// A quarter turn (clockwise or not) in blocks, so both images stream through the cache
/// instead of striding across a 12 MB buffer per pixel. Each destination row of a block is
/// one source column: written sequentially, read with a fixed stride.
fn rotate_quarter(src: &RgbImage, clockwise: bool) -> RgbImage {
    const B: usize = 64;
    let (w, h) = (src.width() as usize, src.height() as usize);
    let s = src.as_raw();
    // Allocated at its final size, so there is no buffer to fit back into an image.
    let mut rotated = RgbImage::new(h as u32, w as u32);
    let out: &mut [u8] = &mut rotated;
    // Destination is h wide and w tall. Clockwise: dst(x', y') = src(y', h-1-x');
    // counter-clockwise: dst(x', y') = src(w-1-y', x').
    for by in (0..w).step_by(B) {
        for bx in (0..h).step_by(B) {
            let xe = (bx + B).min(h);
            for dy in by..(by + B).min(w) {
                let sx = if clockwise { dy } else { w - 1 - dy };
                let drow = &mut out[(dy * h + bx) * 3..(dy * h + xe) * 3];
                for (i, d) in drow.chunks_exact_mut(3).enumerate() {
                    let dx = bx + i;
                    let sy = if clockwise { h - 1 - dx } else { dx };
                    let si = (sy * w + sx) * 3;
                    d.copy_from_slice(&s[si..si + 3]);
                }
            }
        }
    }
    rotated
}

/// An EXIF orientation as an affine map from upright pixels (x, y) to stored ones:
/// stored x = ax·x + bx·y (+ w−1 when negative), stored y = ay·x + by·y (+ h−1 likewise).
#[derive(Clone, Copy)]
pub struct Map {
    ax: isize,
    bx: isize,
    ay: isize,
    by: isize,
}

impl Map {
    pub fn of(o: Orientation) -> Map {
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
    pub fn reversed(self) -> (bool, bool) {
        (self.ax + self.bx < 0, self.ay + self.by < 0)
    }

    /// The upright size of a stored `w`×`h` plane.
    pub fn size(self, w: usize, h: usize) -> (usize, usize) {
        if self.swaps() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The plane turned upright, in 64×64 blocks so reads and writes stay in cache.
    pub fn apply(self, src: Vec<u8>, w: usize, h: usize) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn fast_quarter_turns_equal_the_image_crates() {
        let img = RgbImage::from_fn(67, 45, |x, y| Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8]));
        for (o, cw) in [(Orientation::Rotate90, true), (Orientation::Rotate270, false)] {
            let mut d = DynamicImage::ImageRgb8(img.clone());
            d.apply_orientation(o);
            assert_eq!(rotate_quarter(&img, cw), d.into_rgb8(), "{o:?}");
        }
    }

    #[test]
    fn every_orientation_equals_the_image_crates() {
        let img = RgbImage::from_fn(67, 45, |x, y| Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8]));
        for exif in 1..=8 {
            let o = Orientation::from_exif(exif).unwrap();
            let mut d = DynamicImage::ImageRgb8(img.clone());
            d.apply_orientation(o);
            let turned = orient(img.clone(), o);
            assert_eq!(swaps_axes(o), exif > 4, "orientation {exif}");
            assert_eq!(exif_value(o), exif);
            assert_eq!(turned, d.into_rgb8(), "orientation {exif}");
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
}
