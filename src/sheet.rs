//! The comparison sheet: source, garment, mask and each result side by side, each under a
//! small label, the way people compare try-on results. Tiles are downscaled, so it is cheap.

use image::{Rgb, RgbImage};

use crate::error::{ErrorCode, JobError};

/// Height of every tile, in pixels.
pub const TILE_HEIGHT: u32 = 320;
/// Widest tile (a 4:1 panorama at `TILE_HEIGHT` would be 1280).
pub const MAX_TILE_WIDTH: u32 = 1280;
/// Space around and between tiles.
pub const MARGIN: u32 = 16;
/// Height of the label band above the tiles.
pub const LABEL_BAND: u32 = 30;
const SCALE: u32 = 2;
const INK: Rgb<u8> = Rgb([40, 40, 48]);
const PAPER: Rgb<u8> = Rgb([255, 255, 255]);

/// A labelled, downscaled picture.
pub struct Tile {
    pub label: String,
    pub image: RgbImage,
}

/// Scales `img` to the tile height, keeping its aspect ratio.
pub fn tile(img: &RgbImage, label: &str) -> Tile {
    let (w, h) = img.dimensions();
    let content = crate::prepare::Rect { x: 0, y: 0, width: w, height: h };
    let image = crate::prepare::preview(img, content, TILE_HEIGHT)
        .unwrap_or_else(|_| image::imageops::resize(img, w.max(1), TILE_HEIGHT, image::imageops::FilterType::Triangle));
    let image = if image.width() > MAX_TILE_WIDTH {
        image::imageops::crop_imm(&image, 0, 0, MAX_TILE_WIDTH, TILE_HEIGHT).to_image()
    } else {
        image
    };
    Tile { label: label.to_owned(), image }
}

/// A tile from encoded image bytes (a model output).
pub fn tile_from_bytes(bytes: &[u8], label: &str) -> Result<Tile, JobError> {
    let img = image::load_from_memory(bytes).map_err(|e| {
        JobError::new(ErrorCode::Internal, format!("reading {label} for the comparison sheet failed: {e}"))
    })?;
    let rgb = match img {
        // A mask is greyscale: the image crate's generic conversion takes ~9 ms per MP.
        image::DynamicImage::ImageLuma8(g) => {
            let (w, h) = g.dimensions();
            let px = g.into_raw().into_iter().flat_map(|v| [v, v, v]).collect();
            RgbImage::from_raw(w, h, px).unwrap_or_default()
        }
        other => other.into_rgb8(),
    };
    Ok(tile(&rgb, label))
}

/// Lays the tiles out left to right on white, labels above.
pub fn compose(tiles: &[Tile]) -> RgbImage {
    let width = MARGIN + tiles.iter().map(|t| t.image.width() + MARGIN).sum::<u32>();
    let height = MARGIN + LABEL_BAND + TILE_HEIGHT + MARGIN;
    let mut sheet = RgbImage::from_pixel(width.max(1), height, PAPER);
    let mut x = MARGIN;
    for t in tiles {
        draw_text(&mut sheet, x, MARGIN + (LABEL_BAND - 7 * SCALE) / 2, &t.label, t.image.width());
        image::imageops::replace(&mut sheet, &t.image, x as i64, (MARGIN + LABEL_BAND) as i64);
        x += t.image.width() + MARGIN;
    }
    sheet
}

/// The sheet as a JPEG.
pub fn encode(tiles: &[Tile]) -> Result<Vec<u8>, JobError> {
    let sheet = compose(tiles);
    crate::jpeg::encode_rgb(&sheet, 85, true)
        .map_err(|e| JobError::new(ErrorCode::Internal, format!("encoding the comparison sheet failed: {e}")))
}

/// Draws `text` (upper-cased; unknown characters as spaces), clipped to `max_width`.
fn draw_text(img: &mut RgbImage, x0: u32, y0: u32, text: &str, max_width: u32) {
    let mut x = x0;
    for c in text.chars().flat_map(char::to_uppercase) {
        if x + 5 * SCALE > x0 + max_width {
            break;
        }
        let rows = glyph(c);
        for (ry, bits) in rows.iter().enumerate() {
            for rx in 0..5u32 {
                if bits & (0b10000 >> rx) != 0 {
                    for dy in 0..SCALE {
                        for dx in 0..SCALE {
                            let (px, py) = (x + rx * SCALE + dx, y0 + ry as u32 * SCALE + dy);
                            if px < img.width() && py < img.height() {
                                img.put_pixel(px, py, INK);
                            }
                        }
                    }
                }
            }
        }
        x += 6 * SCALE;
    }
}

/// A 5×7 glyph: one byte per row, the low five bits from left to right.
fn glyph(c: char) -> [u8; 7] {
    match c {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grey_tile_equals_the_generic_conversion() {
        let g = image::GrayImage::from_fn(400, 300, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(g.clone())
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let fast = tile_from_bytes(&png, "Mask").unwrap();
        let generic = tile(&image::DynamicImage::ImageLuma8(g).into_rgb8(), "Mask");
        assert_eq!(fast.image, generic.image);
    }

    fn solid(w: u32, h: u32, c: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb(c))
    }

    #[test]
    fn tiles_keep_their_aspect_at_the_tile_height() {
        let t = tile(&solid(1773, 2364, [1, 2, 3]), "source");
        assert_eq!(t.image.dimensions(), (240, 320));
        let t = tile(&solid(4000, 500, [1, 2, 3]), "wide");
        assert_eq!(t.image.dimensions(), (1280, 320), "clamped");
    }

    #[test]
    fn layout_places_tiles_left_to_right_under_their_labels() {
        let tiles = [
            tile(&solid(300, 400, [200, 0, 0]), "Source"),
            tile(&solid(400, 400, [0, 200, 0]), "Garment"),
            tile(&solid(300, 400, [0, 0, 200]), "Result 1"),
        ];
        let sheet = compose(&tiles);
        let widths = [240, 320, 240];
        assert_eq!(
            sheet.dimensions(),
            (MARGIN * 4 + widths.iter().sum::<u32>(), MARGIN * 2 + LABEL_BAND + TILE_HEIGHT)
        );
        let mut x = MARGIN;
        let y_tile = MARGIN + LABEL_BAND;
        for (t, w) in tiles.iter().zip(widths) {
            let centre = sheet.get_pixel(x + w / 2, y_tile + TILE_HEIGHT / 2);
            assert_eq!(centre, t.image.get_pixel(w / 2, TILE_HEIGHT / 2), "tile {}", t.label);
            // The label band above the tile has ink in it; the gap between tiles has none.
            let ink = (x..x + w)
                .flat_map(|px| (MARGIN..MARGIN + LABEL_BAND).map(move |py| (px, py)))
                .filter(|&(px, py)| sheet.get_pixel(px, py) == &INK)
                .count();
            assert!(ink > 20, "label of {} drawn ({ink} px)", t.label);
            assert_eq!(sheet.get_pixel(x + w + MARGIN / 2, y_tile + 10), &PAPER);
            x += w + MARGIN;
        }
        let jpeg = encode(&tiles).unwrap();
        assert_eq!(image::guess_format(&jpeg).unwrap(), image::ImageFormat::Jpeg);
    }

    #[test]
    fn every_label_character_has_a_glyph() {
        for c in "SOURCE GARMENT MASK RESULT 1234567890 -_.:/()#ABDFHIJLNPQVWXYZ".chars() {
            assert!(c == ' ' || glyph(c) != [0; 7], "{c}");
        }
    }
}
