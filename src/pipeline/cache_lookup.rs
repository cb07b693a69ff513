//! The result cache's storage side: looking a request up before the paid call and storing
//! the model's reply after it, through the storage port. The cache never fails a job: a
//! storage error while reading is a miss, one while writing is a warning. Entries are
//! written once (`If-None-Match: *`); a damaged one is replaced only if it is still the
//! one that was read (`If-Match` its ETag), so two deliveries repairing it at once cannot
//! undo each other. The pure half (keys, entries) is [`crate::core::result_cache`].

use std::time::Instant;

use tracing::{info, warn};

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::{PutCondition, Storage, StorageError};
use crate::core::image::Layout;
use crate::core::manifest::JobSpec;
use crate::core::result_cache::{self, CacheKey};

use super::measure::ms;
use super::service::Service;

/// What the cache (or, for a call it does not keep, the job's own copy) holds for a request.
/// `private`: the key is the job's copy ([`CacheKey::private_key`]), not a shared entry.
pub(crate) enum Lookup {
    /// A verified entry: the model's reply, and the entry's ETag.
    Hit { key: String, etag: String, reply: Vec<u8>, private: bool },
    /// No usable entry: the answer is stored under `key`, replacing the damaged entry whose
    /// ETag is `damaged`, if any.
    Miss { key: String, damaged: Option<String>, private: bool },
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// The stored answer for `body`, the request of `spec` laid out as `layout`: the shared
    /// cache's entry for a reproducible call, else the job's own copy in `folder` (the call's
    /// outputs folder). An entry is read under the bound the memory budget keeps for the
    /// model's reply to this request.
    pub(crate) async fn look_up(
        &self,
        bucket: &str,
        spec: &JobSpec,
        layout: &Layout,
        body: &[u8],
        folder: &str,
    ) -> Lookup {
        let private = !result_cache::applies(self.config.result_cache, spec);
        let b = spec.backend;
        let t = Instant::now();
        let digest = CacheKey::of(b, self.model.model_id(b), body);
        let key = if private { digest.private_key(folder) } else { digest.object_key(&self.config.outputs_prefix) };
        let pixels = crate::backends::of(b).reply_pixels(spec, layout.canvas_width, layout.canvas_height);
        let max = crate::core::budget::reply_cost(spec.number_of_images(), pixels) + result_cache::TRAILER_BYTES as u64;
        let found = match self.storage.get(bucket, &key, max).await {
            Ok(found) => found,
            Err(StorageError::NotFound) => {
                info!(cache = "miss", key = %key, private, "result cache: no entry");
                return Lookup::Miss { key, damaged: None, private };
            }
            Err(e) => {
                // Too large for the reply's budget, or S3 failing: the model answers instead.
                // The write-once store after the call leaves an existing entry alone (it may
                // be fine for a deployment with more memory).
                warn!(cache = "miss", key = %key, error = %e, "result cache: entry unreadable; calling the model");
                return Lookup::Miss { key, damaged: None, private };
            }
        };
        let entry_bytes = found.bytes.len();
        match result_cache::open(found.bytes) {
            Ok(reply) => {
                info!(cache = "hit", key = %key, private, bytes = reply.len(), read_ms = ms(t), "result cache: hit");
                Lookup::Hit { key, etag: found.etag, reply, private }
            }
            Err(damage) => {
                warn!(cache = "damaged", key = %key, bytes = entry_bytes, %damage, "result cache: entry ignored; calling the model");
                Lookup::Miss { key, damaged: Some(found.etag), private }
            }
        }
    }

    /// Empties the entry `key` if it is still the one read (ETag `etag`): the next lookup finds
    /// it damaged and replaces it.
    pub(crate) async fn discard(&self, bucket: &str, key: &str, etag: &str) {
        match self.storage.put(bucket, key, Vec::new(), "application/octet-stream", PutCondition::IfMatch(etag)).await {
            Ok(_) => warn!(cache = "discarded", key = %key, "result cache: entry discarded"),
            Err(e) => warn!(key = %key, error = %e, "result cache: entry not discarded"),
        }
    }

    /// Stores the model's `reply` under `key`: written once, or in place of the damaged entry.
    pub(crate) async fn store(&self, bucket: &str, key: &str, damaged: Option<&str>, reply: Vec<u8>) {
        let condition = match damaged {
            Some(etag) => PutCondition::IfMatch(etag),
            None => PutCondition::IfAbsent,
        };
        let bytes = reply.len();
        match self.storage.put(bucket, key, result_cache::seal(reply), "application/octet-stream", condition).await {
            Ok(_) if damaged.is_some() => info!(cache = "repaired", key = %key, bytes, "result cache: entry replaced"),
            Ok(_) => info!(cache = "stored", key = %key, bytes, "result cache: entry written"),
            // Another delivery wrote (or repaired) it first: its entry is as good as ours.
            Err(StorageError::PreconditionFailed) => {
                info!(cache = "raced", key = %key, "result cache: entry already written")
            }
            Err(e) => warn!(key = %key, error = %e, "result cache: entry not written"),
        }
    }
}
