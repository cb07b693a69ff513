//! WebP files in the extended (VP8X) container with a colour profile (ICCP chunk).

use super::picture::photo;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], declared: u32, data: &[u8]) {
    out.extend(kind);
    out.extend(declared.to_le_bytes());
    out.extend(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

/// A lossless `w`×`h` picture whose ICCP chunk holds `icc_len` bytes; its length field says
/// `declared` bytes when given (a lie).
pub fn with_iccp(w: u32, h: u32, icc_len: usize, declared: Option<u32>) -> Vec<u8> {
    let mut simple = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut simple)
        .encode(photo(w, h).as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("WebP encode");
    assert_eq!((&simple[..4], &simple[8..16]), (&b"RIFF"[..], &b"WEBPVP8L"[..]), "a simple lossless WebP");
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![0x20, 0, 0, 0]; // flags: an ICC profile
    vp8x.extend(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend(&(h - 1).to_le_bytes()[..3]);
    chunk(&mut body, b"VP8X", 10, &vp8x);
    chunk(&mut body, b"ICCP", declared.unwrap_or(icc_len as u32), &vec![0; icc_len]);
    body.extend(&simple[12..]); // the VP8L chunk as encoded
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}
