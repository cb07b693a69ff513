//! SKELETON: being written.

use super::{Reply, Request, RequestImages, TryOn};
use crate::catalog::Backend;
use crate::config::Prices;
use crate::error::{ErrorCode, JobError};
use crate::manifest::JobSpec;
use crate::ports::ModelCallError;

pub struct GeminiImage;

impl TryOn for GeminiImage {
    fn backend(&self) -> Backend {
        Backend::GeminiImage
    }

    fn check_options(&self, _spec: &JobSpec) -> Vec<String> {
        Vec::new()
    }

    fn max_body_bytes(&self) -> usize {
        30_000_000
    }

    fn request(&self, _spec: &JobSpec, _images: RequestImages<'_>) -> Result<Request, JobError> {
        Err(JobError::new(ErrorCode::Internal, "not yet"))
    }

    fn parse_reply(&self, _body: &[u8]) -> Result<Reply, JobError> {
        Err(JobError::new(ErrorCode::Internal, "not yet"))
    }

    fn classify(&self, e: &ModelCallError, _model: &str) -> JobError {
        JobError::new(ErrorCode::ModelError, e.message.clone())
    }

    fn price(&self, _spec: &JobSpec, _width: u32, _height: u32, _reply: Option<&Reply>, _prices: &Prices) -> f64 {
        0.0
    }
}
