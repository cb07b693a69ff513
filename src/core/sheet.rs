//! The comparison sheet: source, garment, mask and each result side by side, each under a
//! small label, the way people compare try-on results. Tiles are downscaled, so it is cheap.

use image::{Rgb, RgbImage};

use crate::core::error::{ErrorCode, JobError};

pub use crate::core::limits::{
    SHEET_MAX_TILES as MAX_TILES, SHEET_TILES_PER_ROW as TILES_PER_ROW, SHEET_TILE_HEIGHT as TILE_HEIGHT,
    SHEET_TILE_MAX_WIDTH as MAX_TILE_WIDTH,
};
/// Space around and between tiles.
pub const MARGIN: u32 = 16;
/// Height of the label band above each row of tiles.
pub const LABEL_BAND: u32 = 30;
const SCALE: u32 = 2;
const INK: Rgb<u8> = Rgb([40, 40, 48]);
const PAPER: Rgb<u8> = Rgb([255, 255, 255]);

/// A labelled, downscaled picture.
pub struct Tile {
    pub label: String,
    pub image: RgbImage,
}

/// Scales `img` into the tile box (`MAX_TILE_WIDTH` × `TILE_HEIGHT`), keeping its aspect
/// ratio: a portrait fills the height, a thin strip stays a thin strip.
pub fn tile(img: &RgbImage, label: &str) -> Tile {
    let (w, h) = img.dimensions();
    let content = crate::core::image::Rect { x: 0, y: 0, width: w, height: h };
    let image = crate::core::image::preview(img, content, (MAX_TILE_WIDTH, TILE_HEIGHT)).unwrap_or_else(|_| {
        let (tw, th) = crate::core::image::fit_in_box((w, h), (MAX_TILE_WIDTH, TILE_HEIGHT));
        image::imageops::resize(img, tw, th, image::imageops::FilterType::Triangle)
    });
    Tile { label: label.to_owned(), image }
}

/// The picture part (`content`) of a prepared canvas as a tile.
pub fn tile_of(canvas: &RgbImage, content: crate::core::image::Rect, label: &str) -> Result<Tile, JobError> {
    let image = crate::core::image::preview(canvas, content, (MAX_TILE_WIDTH, TILE_HEIGHT))?;
    Ok(Tile { label: label.to_owned(), image })
}

/// A tile from encoded image bytes (a model output), decoded within limits: a reply that
/// is not a picture of a sensible size is an error, never an allocation of its claims.
pub fn tile_from_bytes(bytes: &[u8], label: &str) -> Result<Tile, JobError> {
    let fail =
        |e: String| JobError::new(ErrorCode::Internal, format!("reading {label} for the comparison sheet failed: {e}"));
    let mut reader =
        image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| fail(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(2 * crate::core::limits::MAX_SIDE);
    limits.max_image_height = Some(2 * crate::core::limits::MAX_SIDE);
    limits.max_alloc = Some(4 * 4 * crate::core::limits::MAX_PIXELS);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| fail(e.to_string()))?;
    let rgb = match img {
        // A mask is greyscale: the image crate's generic conversion takes ~9 ms per MP.
        image::DynamicImage::ImageLuma8(g) => {
            let (w, h) = g.dimensions();
            let px = g.into_raw().into_iter().flat_map(|v| [v, v, v]).collect();
            RgbImage::from_raw(w, h, px).ok_or_else(|| fail("a grey image of the wrong size".into()))?
        }
        other => other.into_rgb8(),
    };
    Ok(tile(&rgb, label))
}

/// Where each tile goes: rows of at most `TILES_PER_ROW`, at most `MAX_TILES` in all (the
/// rest are left out), so the sheet's size is bounded whatever the job.
fn layout(tiles: &[Tile]) -> (Vec<(u32, u32)>, u32, u32) {
    let row_height = LABEL_BAND + TILE_HEIGHT + MARGIN;
    let mut places = Vec::new();
    let mut width = MARGIN;
    for (row, chunk) in tiles[..tiles.len().min(MAX_TILES)].chunks(TILES_PER_ROW).enumerate() {
        let mut x = MARGIN;
        for t in chunk {
            places.push((x, MARGIN + row as u32 * row_height));
            x += t.image.width() + MARGIN;
        }
        width = width.max(x);
    }
    let rows = places.len().div_ceil(TILES_PER_ROW).max(1) as u32;
    (places, width, MARGIN + rows * row_height)
}

/// Lays the tiles out in rows on white, each under its label.
pub fn compose(tiles: &[Tile]) -> RgbImage {
    let (places, width, height) = layout(tiles);
    let mut sheet = RgbImage::from_pixel(width, height, PAPER);
    for (t, (x, y)) in tiles.iter().zip(places) {
        draw_text(&mut sheet, x, y + (LABEL_BAND - 7 * SCALE) / 2, &t.label, t.image.width());
        image::imageops::replace(&mut sheet, &t.image, x as i64, (y + LABEL_BAND) as i64);
    }
    sheet
}

/// The sheet as a JPEG.
pub fn encode(tiles: &[Tile]) -> Result<Vec<u8>, JobError> {
    let sheet = compose(tiles);
    crate::core::image::jpeg::encode_rgb(&sheet, 85, true)
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
        assert_eq!(t.image.dimensions(), (MAX_TILE_WIDTH, 80), "scaled into the box, not cropped");
        assert_eq!(tile(&solid(3000, 1, [1, 2, 3]), "strip").image.dimensions(), (MAX_TILE_WIDTH, 1));
        assert_eq!(tile(&solid(1, 9000, [1, 2, 3]), "strip").image.dimensions(), (1, TILE_HEIGHT));
    }

    #[test]
    fn many_tiles_wrap_into_rows_and_the_sheet_stays_bounded() {
        let tiles: Vec<Tile> = (0..100).map(|i| tile(&solid(4000, 300, [i as u8, 0, 0]), "Result")).collect();
        let sheet = compose(&tiles);
        let rows = (MAX_TILES / TILES_PER_ROW) as u32;
        let width = MARGIN + TILES_PER_ROW as u32 * (MAX_TILE_WIDTH + MARGIN);
        assert_eq!(sheet.dimensions(), (width, MARGIN + rows * (LABEL_BAND + TILE_HEIGHT + MARGIN)));
        assert!(sheet.width() < 65_500 && sheet.height() < 65_500);
        // The ninth tile starts the second row.
        let second_row = MARGIN + LABEL_BAND + TILE_HEIGHT + MARGIN + LABEL_BAND + 2;
        assert_eq!(sheet.get_pixel(MARGIN + 1, second_row), &Rgb([8, 0, 0]));
    }

    #[test]
    fn an_oversized_or_unreadable_reply_is_not_decoded() {
        assert!(tile_from_bytes(b"not an image", "Result").is_err());
        let mut png = Vec::new();
        let big = image::GrayImage::new(2 * crate::core::limits::MAX_SIDE + 1, 1);
        image::DynamicImage::ImageLuma8(big)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let e = tile_from_bytes(&png, "Result").err().unwrap();
        assert_eq!(e.code, ErrorCode::Internal);
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
