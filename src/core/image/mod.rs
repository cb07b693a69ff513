//! Images: untrusted upload bytes in, what Nova Canvas accepts out; the model's outputs back
//! to what the job promised. Pure and synchronous.
//!
//! One room per job; each imports only rooms above it in this list, so there are no import
//! circles (`tests/fast/architecture.rs` checks it, with every other folder):
//!
//! | room | its job | imports |
//! | --- | --- | --- |
//! | [`format`](mod@format) | sniffing the upload's format; `InputFormat`, `Encoding` | |
//! | [`headers`] | what a JPEG or WebP container declares, read from its bytes | |
//! | [`geometry`] | the canvas `Layout` and `Rect`, fitting into a box, white padding | |
//! | [`orient`] | EXIF orientation: RGB pictures and single planes turned upright | |
//! | [`colour`] | ICC profile → sRGB | |
//! | [`resize`] | banded resizing of pictures and planes | |
//! | [`jpeg`] | libjpeg-turbo: headers, RGB and 4:2:0 planes in and out | |
//! | [`planes`] | the 4:2:0 route: planes resized, placed and turned upright | jpeg, orient, resize |
//! | [`probe`] | headers read with every limit and the memory budget; `InputInfo` | format, headers, jpeg, orient |
//! | [`decode`] | pixels as 8-bit RGB on white | jpeg, probe |
//! | [`prepare`](mod@prepare) | the pipeline for sources and garments; `Prepared`, `Chroma` | colour, decode, geometry, jpeg, orient, planes, probe, resize |
//! | [`mask`] | `imageBasedMask` uploads as black/white masks on the canvas | decode, geometry, orient, probe, resize |
//! | [`encode`](mod@encode) | request and output encodings (JPEG, PNG) | format, jpeg, prepare |
//! | [`output`] | model outputs cropped back to the picture | encode, geometry |
//! | [`preview`](mod@preview) | the picture part of a canvas scaled into a box | geometry |
//!
//! Outside this folder the rooms use [`crate::core::limits`] (fixed limits), [`crate::core::budget`] (the
//! memory budget), [`crate::config`] and [`crate::core::error`]; none of those imports an image room.
//! Inside the crate, `crate::core::image` is this module and a bare `image::` is the `image` crate.

pub mod colour;
pub mod decode;
pub mod encode;
pub mod format;
pub mod geometry;
pub mod headers;
pub mod jpeg;
pub mod mask;
pub mod orient;
pub mod output;
pub mod planes;
pub mod prepare;
pub mod preview;
pub mod probe;
pub mod resize;

pub use encode::{encode, encode_png_rgb, encode_prepared, encode_with, JPEG_QUALITY};
pub use format::{sniff, Encoding, InputFormat};
pub use geometry::{fit_in_box, layout, Layout, Rect};
pub use mask::prepare_mask;
pub use output::finish_output;
pub use prepare::{prepare, prepare_with, Chroma, Prepared};
pub use preview::preview;
pub use probe::InputInfo;
