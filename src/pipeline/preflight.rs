//! Before the first paid call of a job of several calls: every garment and mask its calls
//! still have to make is read and its headers checked (existence, size, storage class, a
//! format and dimensions the limits accept), and every problem is reported at once. Without
//! this, an outfit whose third garment is missing pays for steps one and two, then fails.
//! A one-call job reads its garment before its call anyway.

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::core::error::JobError;
use crate::core::image;
use crate::core::status::{State, Status};
use crate::pipeline::plan::Item;

use super::service::Service;

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// The inputs of the items not done yet, checked one at a time (each read is dropped
    /// before the next: the memory budget holds one input). `Err` names every problem.
    pub(crate) async fn check_inputs(&self, bucket: &str, items: &[Item], status: &Status) -> Result<(), JobError> {
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for (it, st) in items.iter().zip(&status.items) {
            if st.state == State::Succeeded {
                continue;
            }
            let named = [
                Some((it.spec.garment_key.as_str(), "garment image")),
                it.spec.mask_key.as_deref().map(|m| (m, "mask image")),
            ];
            for k in named.into_iter().flatten() {
                if !keys.iter().any(|(seen, _)| *seen == k.0) {
                    keys.push(k);
                }
            }
        }
        let mut problems: Vec<JobError> = Vec::new();
        for (key, what) in keys {
            if let Err(e) = self.check_input(bucket, key, what).await {
                problems.push(e);
            }
        }
        match problems.as_slice() {
            [] => Ok(()),
            [one] => Err(one.clone()),
            [first, ..] => {
                let all: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                let message =
                    format!("{} inputs cannot be used, nothing was paid for: {}", problems.len(), all.join("; "));
                Err(JobError::new(first.code, message))
            }
        }
    }

    async fn check_input(&self, bucket: &str, key: &str, what: &str) -> Result<(), JobError> {
        let bytes = self.read_image(bucket, key, what, self.config.limits.max_image_bytes).await?;
        image::probe::probe(&bytes, &self.config.limits, &format!("the {what} {key}")).map(|_| ())
    }
}
