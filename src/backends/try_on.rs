//! The backend port's pure half: what every try-on model implements ([`TryOn`]), and the
//! request and reply it speaks in. A backend owns everything that differs between models:
//! the checks on its own manifest options, the request body, the reply, the mapping of its
//! failures onto our stable codes, and its price. How the body reaches the model (endpoint,
//! credentials) is the transport's business ([`crate::adapters::model::Model`]).

use crate::adapters::model::ModelCallError;
use crate::core::backend::Backend;
use crate::core::catalog::Price;
use crate::core::error::JobError;
use crate::core::manifest::JobSpec;

/// The encoded request images.
#[derive(Debug, Clone, Copy)]
pub struct RequestImages<'a> {
    pub source: EncodedImage<'a>,
    pub reference: EncodedImage<'a>,
    /// The `imageBasedMask` image (PNG), for backends that take one.
    pub mask: Option<&'a [u8]>,
}

/// An encoded image, its MIME type (`image/jpeg` or `image/png`) and its size in pixels.
#[derive(Debug, Clone, Copy)]
pub struct EncodedImage<'a> {
    pub bytes: &'a [u8],
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The body on the wire (JSON).
    pub body: Vec<u8>,
    /// For prompt-based backends: the instruction sent, recorded in `status.json`.
    pub instruction: Option<String>,
}

/// A parsed successful reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The result pictures (PNG or JPEG bytes).
    pub images: Vec<Vec<u8>>,
    pub mask: Option<Vec<u8>>,
    /// Why some (not all) results are missing, when the model filtered them.
    pub moderation: Option<String>,
    /// Output tokens billed for the call, for backends priced by token.
    pub output_tokens: Option<u64>,
    /// Input tokens billed for the call, for backends priced by token.
    pub input_tokens: Option<u64>,
}

/// What makes a backend: implemented once per model, stateless, pure.
pub trait TryOn: Sync {
    fn backend(&self) -> Backend;

    /// Problems with the options this backend owns (its manifest block and the shared
    /// fields' ranges), each as `path: what to fix`. Options of other backends are refused
    /// before this, by the manifest.
    fn check_options(&self, spec: &JobSpec) -> Vec<String>;

    /// The largest request body the service takes.
    fn max_body_bytes(&self) -> usize;

    /// The request body for these images.
    fn request(&self, spec: &JobSpec, images: RequestImages<'_>) -> Result<Request, JobError>;

    /// Reads a 200 reply. A reply without a usable image is an error, never a success.
    fn parse_reply(&self, body: &[u8]) -> Result<Reply, JobError>;

    /// Maps a failed call onto the job error users see; `model` is the id that was called.
    fn classify(&self, e: &ModelCallError, model: &str) -> JobError;

    /// Pixels of one reply picture for a request laid out at `width`×`height`: the canvas
    /// size for backends that answer at the input's size (what the memory budget checks).
    fn reply_pixels(&self, _spec: &JobSpec, width: u32, height: u32) -> u64 {
        width as u64 * height as u64
    }

    /// USD for one call at the model's catalog `price` making `spec.number_of_images()` pictures of `width`×`height`: an
    /// estimate before the call (`reply` is `None`), what was billed after it.
    fn price(&self, spec: &JobSpec, width: u32, height: u32, reply: Option<&Reply>, price: &Price) -> f64;
}
