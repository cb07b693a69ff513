//! JPEG files: small ones from the image crate, unusual coding processes from libjpeg-turbo's
//! own encoder, flat pictures of any size written by hand, and hostile APP2 colour profiles.

use std::ffi::{c_int, CStr};

use turbojpeg::raw;

use super::picture::photo;

/// A `w`×`h` baseline JPEG of a gradient (the image crate's encoder).
pub fn photo_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(photo(w, h).as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("JPEG encode");
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    out.extend([0xFF, marker]);
    out.extend(u16::try_from(data.len() + 2).expect("segment size").to_be_bytes());
    out.extend(data);
}

/// A flat mid-grey baseline JPEG with `components` (1 or 3) at full resolution, of any size
/// up to 65,535² in a few bytes per 64 pixels: each Huffman table holds one one-bit code
/// (DC difference 0, end of block), so every block is two zero bits.
pub fn flat(w: u16, h: u16, components: u8) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xDB, &[[0u8].as_slice(), &[1; 64]].concat());
    let mut sof = vec![8];
    sof.extend(h.to_be_bytes());
    sof.extend(w.to_be_bytes());
    sof.push(components);
    (1..=components).for_each(|id| sof.extend([id, 0x11, 0]));
    segment(&mut out, 0xC0, &sof);
    let one_code = |class: u8| [[class << 4, 1].as_slice(), &[0; 15], &[0]].concat();
    segment(&mut out, 0xC4, &[one_code(0), one_code(1)].concat());
    let mut sos = vec![components];
    (1..=components).for_each(|id| sos.extend([id, 0x00]));
    sos.extend([0, 63, 0]);
    segment(&mut out, 0xDA, &sos);
    let bits = 2 * (w as u64).div_ceil(8) * (h as u64).div_ceil(8) * components as u64;
    out.resize(out.len() + (bits / 8) as usize, 0);
    if !bits.is_multiple_of(8) {
        out.push(0xFF >> (bits % 8)); // the last byte is padded with ones
    }
    out.extend([0xFF, 0xD9]);
    out
}

/// `base` with APP2 `ICC_PROFILE` segments of `total` bytes in all right after SOI, numbered
/// 1, 2, … (past 255 the numbers repeat: duplicate chunks).
pub fn with_icc_segments(base: &[u8], total: usize) -> Vec<u8> {
    const PAYLOAD: usize = 65535 - 2 - 14;
    let n = total.div_ceil(PAYLOAD);
    let mut out = base[..2].to_vec();
    for i in 0..n {
        let mut data = b"ICC_PROFILE\0".to_vec();
        data.extend([(i % 255 + 1) as u8, n.min(255) as u8]);
        data.resize(14 + PAYLOAD.min(total - i * PAYLOAD), 0);
        segment(&mut out, 0xE2, &data);
    }
    out.extend(&base[2..]);
    out
}

/// JPEG coding processes beyond baseline and progressive Huffman.
#[derive(Clone, Copy, Debug)]
pub enum Process {
    Arithmetic,
    ArithmeticProgressive,
    Lossless,
    TwelveBit,
}

/// A `w`×`h` gradient coded with `process` by libjpeg-turbo.
pub fn coded(process: Process, w: u32, h: u32) -> Vec<u8> {
    let rgb = photo(w, h).into_raw();
    // SAFETY: one compressor handle, used and destroyed here; every buffer outlives its call.
    unsafe {
        let tj = raw::tj3Init(raw::TJINIT_TJINIT_COMPRESS as c_int);
        assert!(!tj.is_null(), "tj3Init");
        let set = |param: raw::TJPARAM, value: c_int| {
            assert_eq!(raw::tj3Set(tj, param as c_int, value), 0, "tj3Set({param}, {value})");
        };
        set(raw::TJPARAM_TJPARAM_QUALITY, 90);
        set(raw::TJPARAM_TJPARAM_SUBSAMP, raw::TJSAMP_TJSAMP_420);
        match process {
            Process::Arithmetic => set(raw::TJPARAM_TJPARAM_ARITHMETIC, 1),
            Process::ArithmeticProgressive => {
                set(raw::TJPARAM_TJPARAM_ARITHMETIC, 1);
                set(raw::TJPARAM_TJPARAM_PROGRESSIVE, 1);
            }
            Process::Lossless => {
                set(raw::TJPARAM_TJPARAM_SUBSAMP, raw::TJSAMP_TJSAMP_444);
                set(raw::TJPARAM_TJPARAM_LOSSLESS, 1);
                set(raw::TJPARAM_TJPARAM_LOSSLESSPSV, 1);
            }
            Process::TwelveBit => set(raw::TJPARAM_TJPARAM_PRECISION, 12),
        }
        let (mut buf, mut size): (*mut u8, raw::size_t) = (std::ptr::null_mut(), 0);
        let (w, h) = (w as c_int, h as c_int);
        let rc = match process {
            Process::TwelveBit => {
                let samples: Vec<i16> = rgb.iter().map(|&v| (v as i16) << 4).collect();
                raw::tj3Compress12(tj, samples.as_ptr(), w, 0, h, raw::TJPF_TJPF_RGB, &mut buf, &mut size)
            }
            _ => raw::tj3Compress8(tj, rgb.as_ptr(), w, 0, h, raw::TJPF_TJPF_RGB, &mut buf, &mut size),
        };
        assert_eq!(rc, 0, "{process:?}: {}", CStr::from_ptr(raw::tj3GetErrorStr(tj)).to_string_lossy());
        let jpeg = std::slice::from_raw_parts(buf, size as usize).to_vec();
        raw::tj3Free(buf.cast());
        raw::tj3Destroy(tj);
        jpeg
    }
}
