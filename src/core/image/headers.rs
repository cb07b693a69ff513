//! What an upload's container declares, read from its bytes before any decoder runs: the
//! JPEG coding process and scan count, whether a JPEG is complete, the size of embedded
//! colour profiles, and whether a WebP's chunks fit in the file. Pure, allocation-free
//! walks over the markers and chunks; they never trust a length beyond the file's end.

use crate::core::limits::MAX_JPEG_SCANS;

/// A JPEG's frame header (SOFn) and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegFrame {
    /// The SOF marker's low nibble: 0 baseline, 1 extended, 2 progressive, 3 lossless, …
    pub sof: u8,
    /// Bits per sample (8 for every common JPEG; 12 or 16 in medical and raw workflows).
    pub precision: u8,
    pub components: u8,
    /// Whether luma is sampled more densely than chroma (4:2:0, 4:2:2).
    pub chroma_subsampled: bool,
    /// Start-of-scan markers in the file (1 for sequential files).
    pub scans: u32,
}

impl JpegFrame {
    pub fn arithmetic(&self) -> bool {
        self.sof >= 8
    }

    pub fn lossless(&self) -> bool {
        matches!(self.sof, 3 | 11)
    }

    pub fn hierarchical(&self) -> bool {
        matches!(self.sof, 5..=7 | 13..=15)
    }

    pub fn progressive(&self) -> bool {
        matches!(self.sof, 2 | 10)
    }

    /// The coding process in the words of the JPEG standard (ITU T.81), for messages.
    pub fn process(&self) -> String {
        let kind = match self.sof & 7 {
            0 => "baseline",
            1 => "extended sequential",
            2 => "progressive",
            3 => "lossless",
            5 => "differential sequential (hierarchical)",
            6 => "differential progressive (hierarchical)",
            _ => "differential lossless (hierarchical)",
        };
        let coding = if self.arithmetic() { "arithmetic" } else { "Huffman" };
        format!("{}-bit {kind}, {coding} coding", self.precision)
    }

    /// Why this function cannot decode the file, if it cannot: only 8-bit Huffman-coded DCT
    /// processes are decoded (baseline, extended, progressive). Lossless, 12/16-bit,
    /// hierarchical and arithmetic-coded files are refused by name: the pure-Rust decoder
    /// reads none of them, and they are rare enough that a re-save is the better answer.
    pub fn unsupported(&self) -> Option<String> {
        if self.lossless() {
            return Some(format!("a lossless JPEG ({})", self.process()));
        }
        if self.hierarchical() {
            return Some(format!("a hierarchical JPEG ({})", self.process()));
        }
        if self.precision != 8 {
            return Some(format!("a {}-bit JPEG ({})", self.precision, self.process()));
        }
        if self.arithmetic() {
            return Some(format!("an arithmetic-coded JPEG ({})", self.process()));
        }
        None
    }

    /// Whether the scan count passes the progressive-scan cap.
    pub fn too_many_scans(&self) -> bool {
        self.scans > MAX_JPEG_SCANS
    }
}

/// The JPEG segments before the first scan, as (marker, payload) pairs; stops at the
/// first scan or at anything malformed.
fn jpeg_segments(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 2;
    std::iter::from_fn(move || {
        // Fill bytes (FF FF …) may precede a marker.
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if bytes.get(i) != Some(&0xFF) || i + 4 > bytes.len() {
            return None;
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let payload = bytes.get(i + 4..(i + 2 + len).max(i + 4))?;
        if len < 2 {
            return None;
        }
        i += 2 + len;
        Some((marker, payload))
    })
    .take_while(|(marker, _)| *marker != 0xDA)
}

/// Reads the frame header, `None` when the file has none before its first scan.
pub fn jpeg_frame(bytes: &[u8]) -> Option<JpegFrame> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let (marker, p) = jpeg_segments(bytes).find(|(m, _)| is_sof(*m))?;
    // Payload: precision, height (2), width (2), components, then (id, HV, table) each.
    let components = *p.get(5)?;
    Some(JpegFrame {
        sof: marker & 0x0F,
        precision: *p.first()?,
        components,
        chroma_subsampled: components >= 3 && p.get(7).is_some_and(|hv| *hv != 0x11),
        scans: count_scans(bytes),
    })
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Start-of-scan markers in the whole file. Entropy-coded data never holds `FF DA` (its
/// FF bytes are stuffed with 00), so every occurrence is a scan.
fn count_scans(bytes: &[u8]) -> u32 {
    let n = bytes.windows(2).filter(|w| *w == [0xFF, 0xDA]).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Whether a JPEG has an end-of-image marker after its first scan. The decoders fill a
/// truncated scan with grey instead of failing; a cut-off upload must not reach the model.
/// Data some cameras append after EOI comes after the marker, so a search from the first
/// scan is exact.
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let Some(sos) = bytes.windows(2).position(|w| w == [0xFF, 0xDA]) else { return false };
    bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Bytes of ICC profile a JPEG carries (its `APP2 ICC_PROFILE` segments together).
pub fn jpeg_icc_bytes(bytes: &[u8]) -> u64 {
    jpeg_segments(bytes)
        .filter(|(m, p)| *m == 0xE2 && p.starts_with(b"ICC_PROFILE\0"))
        .map(|(_, p)| p.len().saturating_sub(14) as u64)
        .sum()
}

/// A WebP's RIFF chunks, checked to lie inside the file (a declared size past the end
/// would make the decoder allocate it before noticing). Returns the ICC chunk's size.
pub fn webp_chunks(bytes: &[u8]) -> Result<u64, String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err("its RIFF header is damaged".into());
    }
    let mut i = 12;
    let mut icc = 0;
    while i + 8 <= bytes.len() {
        let fourcc = &bytes[i..i + 4];
        let size = u32::from_le_bytes([bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]]) as u64;
        let end = (i as u64 + 8).saturating_add(size);
        if end > bytes.len() as u64 {
            let name = String::from_utf8_lossy(fourcc).into_owned();
            return Err(format!("its {name:?} chunk declares {size} bytes, past the end of the file"));
        }
        if fourcc == b"ICCP" {
            icc += size;
        }
        // Chunks are padded to an even size.
        i = (end + (size & 1)) as usize;
    }
    Ok(icc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sof(marker: u8, precision: u8, hv: u8) -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0];
        f.extend([0xFF, marker, 0x00, 17, precision, 0, 8, 0, 8, 3, 1, hv, 0, 2, 0x11, 1, 3, 0x11, 1]);
        f.extend([0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        f
    }

    #[test]
    fn names_every_coding_process_and_refuses_what_cannot_be_decoded() {
        let f = |m, p| jpeg_frame(&sof(m, p, 0x22)).unwrap();
        assert_eq!(f(0xC0, 8).unsupported(), None);
        assert_eq!(f(0xC2, 8).process(), "8-bit progressive, Huffman coding");
        assert_eq!(
            f(0xC9, 8).unsupported().unwrap(),
            "an arithmetic-coded JPEG (8-bit extended sequential, arithmetic coding)"
        );
        assert!(f(0xCA, 8).arithmetic() && f(0xCA, 8).progressive());
        assert_eq!(f(0xC1, 12).unsupported().unwrap(), "a 12-bit JPEG (12-bit extended sequential, Huffman coding)");
        assert!(f(0xC3, 8).unsupported().unwrap().starts_with("a lossless JPEG"));
        assert!(f(0xCB, 16).unsupported().unwrap().contains("lossless, arithmetic"));
        assert!(f(0xC5, 8).unsupported().unwrap().starts_with("a hierarchical JPEG"));
        assert!(f(0xC0, 8).chroma_subsampled);
        assert!(!jpeg_frame(&sof(0xC0, 8, 0x11)).unwrap().chroma_subsampled);
    }

    #[test]
    fn scans_and_completeness_are_read_from_the_markers() {
        let one = sof(0xC0, 8, 0x22);
        assert_eq!(jpeg_frame(&one).unwrap().scans, 1);
        assert!(jpeg_is_complete(&one));
        assert!(!jpeg_is_complete(&one[..one.len() - 2]));
        let mut many = one[..one.len() - 2].to_vec();
        for _ in 0..MAX_JPEG_SCANS {
            many.extend([0xFF, 0xDA, 0x00, 0x02, 0x00]);
        }
        many.extend([0xFF, 0xD9]);
        assert!(jpeg_frame(&many).unwrap().too_many_scans());
        assert!(!jpeg_frame(&one).unwrap().too_many_scans());
    }

    #[test]
    fn lengths_past_the_end_are_never_followed() {
        assert_eq!(jpeg_frame(&[0xFF, 0xD8, 0xFF, 0xC0, 0xFF, 0xFF, 8]), None);
        assert_eq!(jpeg_frame(b"not a jpeg"), None);
        let mut riff = b"RIFF\0\0\0\0WEBPICCP".to_vec();
        riff.extend(1_000_000u32.to_le_bytes());
        riff.extend([0; 16]);
        assert!(webp_chunks(&riff).unwrap_err().contains("ICCP"));
    }

    #[test]
    fn icc_sizes_are_summed_without_reading_the_profile() {
        let mut j = vec![0xFF, 0xD8];
        for part in [1000usize, 500] {
            j.extend([0xFF, 0xE2]);
            j.extend(((part + 14 + 2) as u16).to_be_bytes());
            j.extend(b"ICC_PROFILE\0\x01\x02");
            j.extend(vec![7; part]);
        }
        j.extend(sof(0xC0, 8, 0x22)[2..].iter());
        assert_eq!(jpeg_icc_bytes(&j), 1500);
        let mut w = b"RIFF\0\0\0\0WEBPICCP".to_vec();
        w.extend(3u32.to_le_bytes());
        w.extend([1, 2, 3, 0]);
        w.extend(b"VP8L");
        w.extend(0u32.to_le_bytes());
        assert_eq!(webp_chunks(&w), Ok(3));
    }
}
