//! Images: untrusted upload bytes in, what Nova Canvas accepts out; the model's outputs back
//! to what the job promised. Pure and synchronous.

pub mod headers;
pub mod jpeg;
pub mod prepare;

pub use prepare::{
    encode, encode_png_rgb, encode_prepared, encode_with, finish_output, fit_in_box, layout, prepare, prepare_mask,
    prepare_with, preview, sniff, Chroma, Encoding, InputFormat, InputInfo, Layout, Prepared, Rect, JPEG_QUALITY,
};
