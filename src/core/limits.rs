//! Every fixed limit on untrusted input and on what the function builds, in one table. The
//! code reads the constants; the "Limits" table of docs/performance.md is rendered from [`table`] and a
//! test checks that the two agree, so a limit cannot change in one place only.

/// Nova Canvas input limits (reference §4). The pixel limit is applied strictly ("fewer
/// than 4,194,304"), the stricter of the two readings of the AWS pages.
pub const MIN_SIDE: u32 = 320;
pub const MAX_SIDE: u32 = 4096;
pub const MAX_PIXELS: u64 = 4_194_304 - 1;
pub const MAX_ASPECT: u32 = 4;

/// Bedrock's cap on an `InvokeModel` body.
pub const MAX_BODY_BYTES: usize = 25_000_000;

/// Scans a progressive JPEG may have: each scan re-reads the whole coefficient buffer, so
/// thousands of tiny scans are a known decompression bomb. Cameras and encoders write ≤ 20.
pub const MAX_JPEG_SCANS: u32 = 100;

/// Largest embedded colour profile applied; a larger one is ignored (real profiles, LUT
/// based ones included, are under 1 MB).
pub const MAX_ICC_BYTES: u64 = 4 * 1024 * 1024;

/// Memory kept back from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` for everything but images: the
/// runtime, the SDK clients, HTTP buffers, the allocator's slack. Measured: 13.5 MiB after
/// init, 68-76 MiB peak for the whole 12 MP job of which ~45 MiB are images
/// (docs/performance.md, "Memory budget").
pub const MEMORY_RESERVE_BYTES: u64 = 64 * 1024 * 1024;

/// The function memory assumed where Lambda does not say (`tryon run`, tests): the
/// template's `MemorySize`.
pub const DEFAULT_MEMORY_MB: u64 = 256;

/// The comparison sheet: each tile is scaled into this box (a thin strip stays a thin
/// strip, never 65,000 pixels wide), at most this many tiles per row and in all.
pub const SHEET_TILE_HEIGHT: u32 = 320;
pub const SHEET_TILE_MAX_WIDTH: u32 = 640;
pub const SHEET_TILES_PER_ROW: usize = 8;
pub const SHEET_MAX_TILES: usize = 48;

/// Longest `status.json` read back (ours are a few KB).
pub const MAX_STATUS_BYTES: u64 = 1024 * 1024;

/// One row of the limits table in docs/performance.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub what: &'static str,
    pub value: String,
    pub on_excess: &'static str,
}

fn row(what: &'static str, value: impl Into<String>, on_excess: &'static str) -> Row {
    Row { what, value: value.into(), on_excess }
}

/// The fixed limits, as docs/performance.md documents them (configurable caps are in the
/// configuration table).
pub fn table() -> Vec<Row> {
    vec![
        row("prepared image side (Nova Canvas)", format!("{MIN_SIDE}–{MAX_SIDE} px"), "resized to fit"),
        row("prepared image pixels (Nova Canvas)", format!("≤ {MAX_PIXELS}"), "resized to fit"),
        row("prepared aspect ratio (Nova Canvas)", format!("1:{MAX_ASPECT} to {MAX_ASPECT}:1"), "padded with white"),
        row(
            "request body (Bedrock)",
            format!("{MAX_BODY_BYTES} bytes"),
            "PNG re-encoded as JPEG, then `image_too_large`",
        ),
        row("progressive JPEG scans", MAX_JPEG_SCANS.to_string(), "`image_too_large`"),
        row(
            "JPEG coding process",
            "8-bit baseline, extended or progressive, Huffman-coded",
            "`unsupported_image` naming the process",
        ),
        row(
            "embedded colour profile",
            format!("{} MiB", MAX_ICC_BYTES >> 20),
            "profile ignored (recorded in `colorProfile`)",
        ),
        row(
            "memory kept back from `MemorySize` for the process",
            format!("{} MiB", MEMORY_RESERVE_BYTES >> 20),
            "the rest is the images' budget",
        ),
        row(
            "comparison sheet tile",
            format!("{SHEET_TILE_MAX_WIDTH}×{SHEET_TILE_HEIGHT} px box"),
            "scaled into the box",
        ),
        row(
            "comparison sheet tiles",
            format!("{SHEET_MAX_TILES}, {SHEET_TILES_PER_ROW} per row"),
            "later tiles left out (warning)",
        ),
    ]
}

/// [`table`] as a Markdown table.
pub fn markdown() -> String {
    let mut out = String::from("| limit | value | past it |\n| --- | --- | --- |\n");
    for r in table() {
        out.push_str(&format!("| {} | {} | {} |\n", r.what, r.value, r.on_excess));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_shows_every_limit_as_the_code_has_it() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/performance.md")).unwrap();
        let table = super::markdown();
        assert!(
            readme.contains(&table),
            "docs/performance.md must contain the limits table exactly as rendered by limits::markdown():\n{table}"
        );
    }
}
