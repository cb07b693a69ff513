//! PNG files assembled chunk by chunk: images of zeros of any size (their IDAT from
//! [`zlib::zeros`]), and real PNGs with hostile ancillary chunks inserted.

use super::zlib;

pub type Chunk = ([u8; 4], Vec<u8>);

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

#[derive(Clone, Copy)]
pub enum Colour {
    Grey = 0,
    Rgb = 2,
    Palette = 3,
    Rgba = 6,
}

impl Colour {
    fn channels(self) -> u64 {
        match self {
            Colour::Grey | Colour::Palette => 1,
            Colour::Rgb => 3,
            Colour::Rgba => 4,
        }
    }
}

/// Where [`with_chunks`] puts the extra chunks.
#[derive(Clone, Copy, Debug)]
pub enum At {
    AfterIhdr,
    /// Between PLTE and the first IDAT (the base must have a palette).
    AfterPlte,
    /// Between the two halves of the image data.
    BetweenIdat,
    /// After the image data, before IEND.
    AfterIdat,
}

pub fn encode(chunks: &[Chunk]) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    for (kind, data) in chunks {
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(kind);
        out.extend(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend(crc.finalize().to_be_bytes());
    }
    out
}

fn parse(png: &[u8]) -> Vec<Chunk> {
    assert!(png.starts_with(&SIGNATURE), "not a PNG");
    let mut chunks = Vec::new();
    let mut rest = &png[8..];
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        chunks.push((rest[4..8].try_into().unwrap(), rest[8..8 + len].to_vec()));
        rest = &rest[12 + len..];
    }
    chunks
}

fn ihdr(w: u32, h: u32, depth: u8, colour: Colour, interlaced: bool) -> Chunk {
    let mut d = Vec::with_capacity(13);
    d.extend(w.to_be_bytes());
    d.extend(h.to_be_bytes());
    d.extend([depth, colour as u8, 0, 0, interlaced as u8]);
    (*b"IHDR", d)
}

/// Bytes of filtered scanlines: per row a filter byte and the packed samples, per pass for
/// Adam7.
fn raw_len(w: u32, h: u32, depth: u8, colour: Colour, interlaced: bool) -> u64 {
    let bits = depth as u64 * colour.channels();
    let rows = |pw: u64, ph: u64| if pw == 0 || ph == 0 { 0 } else { ph * (1 + (pw * bits).div_ceil(8)) };
    if !interlaced {
        return rows(w as u64, h as u64);
    }
    const ADAM7: [(u64, u64, u64, u64); 7] =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
    let span = |size: u64, start: u64, step: u64| if size > start { (size - start).div_ceil(step) } else { 0 };
    ADAM7.iter().map(|&(x, y, dx, dy)| rows(span(w as u64, x, dx), span(h as u64, y, dy))).sum()
}

/// A `w`×`h` image whose samples (and palette indices) are all zero.
pub fn zeros(w: u32, h: u32, depth: u8, colour: Colour, interlaced: bool) -> Vec<u8> {
    let mut chunks = vec![ihdr(w, h, depth, colour, interlaced)];
    if let Colour::Palette = colour {
        chunks.push((*b"PLTE", vec![200, 60, 40, 255, 255, 255]));
    }
    chunks.push((*b"IDAT", zlib::zeros(raw_len(w, h, depth, colour, interlaced))));
    chunks.push((*b"IEND", vec![]));
    encode(&chunks)
}

/// `base` with `extra` inserted `at`; its image data is split into two IDAT chunks.
pub fn with_chunks(base: &[u8], at: At, extra: Vec<Chunk>) -> Vec<u8> {
    let parsed = parse(base);
    let first_idat = parsed.iter().position(|c| &c.0 == b"IDAT").expect("IDAT");
    let idat: Vec<u8> = parsed.iter().filter(|c| &c.0 == b"IDAT").flat_map(|c| c.1.iter().copied()).collect();
    let mut chunks: Vec<Chunk> = parsed.into_iter().filter(|c| &c.0 != b"IDAT").collect();
    let (a, b) = idat.split_at(idat.len() / 2);
    chunks.splice(first_idat..first_idat, [(*b"IDAT", a.to_vec()), (*b"IDAT", b.to_vec())]);
    let index = match at {
        At::AfterIhdr => 1,
        At::AfterPlte => chunks.iter().position(|c| &c.0 == b"PLTE").expect("a palette") + 1,
        At::BetweenIdat => first_idat + 1,
        At::AfterIdat => first_idat + 2,
    };
    chunks.splice(index..index, extra);
    encode(&chunks)
}

/// A compressed colour profile that inflates to `inflated` bytes.
pub fn iccp(inflated: u64) -> Chunk {
    let mut d = b"hostile\0\0".to_vec();
    d.extend(zlib::zeros(inflated));
    (*b"iCCP", d)
}

/// Compressed Latin-1 text that inflates to `inflated` bytes.
pub fn ztxt(inflated: u64) -> Chunk {
    let mut d = b"Comment\0\0".to_vec();
    d.extend(zlib::zeros(inflated));
    (*b"zTXt", d)
}

/// Compressed international text that inflates to `inflated` bytes.
pub fn itxt(inflated: u64) -> Chunk {
    let mut d = b"Description\0\x01\0en\0Beschreibung\0".to_vec();
    d.extend(zlib::zeros(inflated));
    (*b"iTXt", d)
}

/// An EXIF chunk of `len` bytes: a big-endian TIFF header whose first directory claims 65,535
/// entries (an orientation tag among them) far past its end.
pub fn exif(len: usize) -> Chunk {
    let mut d = b"MM\0\x2A\0\0\0\x08\xFF\xFF".to_vec();
    d.extend([0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00]);
    d.resize(len.max(d.len()), 0xEE);
    (*b"eXIf", d)
}

/// `n` small text chunks.
pub fn texts(n: usize) -> Vec<Chunk> {
    (0..n).map(|i| (*b"tEXt", format!("Comment\0note {i} of {n}").into_bytes())).collect()
}

/// A chunk whose length field claims `claimed` bytes where only a few follow: the file ends
/// inside it.
pub fn truncated_after(base: &[u8], kind: [u8; 4], claimed: u32) -> Vec<u8> {
    let mut out = base[..33].to_vec(); // the signature and IHDR
    out.extend(claimed.to_be_bytes());
    out.extend(kind);
    out.extend([0u8; 64]);
    out
}

fn encoder<W: std::io::Write>(
    w: W,
    width: u32,
    height: u32,
    colour: ::png::ColorType,
    depth: ::png::BitDepth,
) -> ::png::Writer<W> {
    let mut e = ::png::Encoder::new(w, width, height);
    e.set_color(colour);
    e.set_depth(depth);
    e.write_header().expect("PNG header")
}

/// A 16-bit RGBA horizontal gradient, compressed row by row by the png crate.
pub fn gradient16(w: u32, h: u32) -> Vec<u8> {
    let row: Vec<u8> = (0..w)
        .flat_map(|x| {
            let v = (x as u64 * 65535 / w as u64) as u16;
            [v, 65535 - v, v / 2, 65535].into_iter().flat_map(u16::to_be_bytes)
        })
        .collect();
    let mut out = Vec::new();
    let mut writer = encoder(&mut out, w, h, ::png::ColorType::Rgba, ::png::BitDepth::Sixteen);
    let mut stream = writer.stream_writer().expect("stream");
    for _ in 0..h {
        std::io::Write::write_all(&mut stream, &row).expect("row");
    }
    stream.finish().expect("finish");
    writer.finish().expect("finish");
    out
}

/// An 8-bit image from raw samples.
pub fn from_pixels(w: u32, h: u32, colour: ::png::ColorType, samples: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = encoder(&mut out, w, h, colour, ::png::BitDepth::Eight);
    writer.write_image_data(samples).expect("PNG data");
    writer.finish().expect("finish");
    out
}

/// A small 8-bit palette image (stripes of 4 colours).
pub fn palette(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = ::png::Encoder::new(&mut out, w, h);
    e.set_color(::png::ColorType::Indexed);
    e.set_depth(::png::BitDepth::Eight);
    e.set_palette(vec![30, 30, 120, 200, 40, 40, 240, 240, 240, 20, 160, 60]);
    let mut writer = e.write_header().expect("PNG header");
    let data: Vec<u8> = (0..w * h).map(|i| ((i % w) * 4 / w) as u8).collect();
    writer.write_image_data(&data).expect("PNG data");
    writer.finish().expect("finish");
    out
}
