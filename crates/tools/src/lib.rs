//! The tooling around the function, in a crate of its own so that the function's build
//! carries none of it: the `tryon` command (`src/bin/tryon/`), and what it and the tests
//! share.
//!
//! - [`local`]: a local folder standing in for an S3 bucket (`tryon run`);
//! - [`wiring`]: the function's adapters pointed at the emulators ([`tryon_emulators`]);
//! - [`sample_events`]: Lambda events for one key, as each source sends them;
//! - [`samples`]: synthetic person, garment and phone photos (with EXIF);
//! - [`bench`]: the image-work benchmark against the Pillow peer baseline;
//! - [`capacity`]: the deployed system simulated in virtual time.

pub mod bench;
pub mod capacity;
pub mod local;
pub mod sample_events;
pub mod samples;
pub mod wiring;
