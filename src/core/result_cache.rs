//! The result cache's pure half: when a call's answer is reproducible, the key that names it,
//! where that key lives in the bucket, and the self-verifying entry that holds the model's
//! raw reply. No storage here: [`crate::pipeline`] reads and writes entries through the port.
//!
//! The key is what determines the model's output: the backend, the model id and the exact
//! request body the backend sends, which embeds the prepared images, every option, the seed
//! and, for prompt-based backends, the instruction. The body is built by serde from structs
//! (fields in declaration order) and from the manifest's own option blocks (`Value` maps,
//! which keep the manifest's key order), with the images encoded by deterministic encoders
//! and no hash maps, clocks or randomness: the same inputs always give the same bytes. Two
//! manifests listing the same options in another order make two bodies, so two keys: a
//! miss, never a wrong hit.

use sha2::{Digest, Sha256};

use crate::core::backend::Backend;
use crate::core::manifest::{CacheMode, JobSpec};

/// The key layout's version: a change to the key or the entry format takes a new folder,
/// so old entries are never misread (they expire with the outputs).
pub const VERSION: &str = "v1";

/// The folder under the outputs prefix that holds the entries: `<outputs>_cache/`. A job id
/// whose first segment is this name is refused ([`reserved_job_id`]).
pub const FOLDER: &str = "_cache";

/// Whether the model answers `spec` the same way every time: a seed was given, or the
/// backend's default seed is fixed. A backend that takes no seed is never reproducible.
pub fn reproducible(spec: &JobSpec) -> bool {
    let b = spec.backend;
    b.takes_seed() && (spec.generation.seed.is_some() || b.default_seed_fixed())
}

/// Whether a call of `spec` uses the cache, given the deployment's mode.
pub fn applies(deployment: CacheMode, spec: &JobSpec) -> bool {
    deployment == CacheMode::Auto && spec.result_cache == CacheMode::Auto && reproducible(spec)
}

/// One cache key: a request's SHA-256 for one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    pub backend: Backend,
    pub digest: [u8; 32],
}

impl CacheKey {
    /// The key of `body` sent to `model` through `backend`. The version, backend and model
    /// id are hashed with length prefixes, so no two inputs share a preimage.
    pub fn of(backend: Backend, model: &str, body: &[u8]) -> CacheKey {
        let mut h = Sha256::new();
        for part in [b"tryon-result-cache".as_slice(), VERSION.as_bytes(), backend.name().as_bytes(), model.as_bytes()]
        {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.update(body);
        CacheKey { backend, digest: h.finalize().into() }
    }

    /// The digest in lowercase hex.
    pub fn hex(&self) -> String {
        crate::core::digest::hex(&self.digest)
    }

    /// A job's own copy of the reply, for a call the cache does not keep (no reproducible
    /// seed, or the cache off): `<call folder>_replies/<backend>/<sha256>`. Written before
    /// any output is derived from the reply and deleted once the job is final, so a retry
    /// after a paid call replays the reply instead of paying again.
    pub fn private_key(&self, call_folder: &str) -> String {
        format!("{call_folder}{REPLIES}/{}/{}", self.backend.name(), self.hex())
    }

    /// The entry's key: `<outputs>_cache/v1/<backend>/<sha256>`.
    pub fn object_key(&self, outputs_prefix: &str) -> String {
        format!("{outputs_prefix}{FOLDER}/{VERSION}/{}/{}", self.backend.name(), self.hex())
    }
}

/// The folder of a call's private reply copies ([`CacheKey::private_key`]).
pub const REPLIES: &str = "_replies";

/// Whether a job id would put the job's outputs in the cache's folder.
pub fn reserved_job_id(job_id: &str) -> bool {
    job_id.split('/').next() == Some(FOLDER)
}

/// The magic that ends every entry (its format's version is in it).
const MAGIC: &[u8; 8] = b"TRYONRC1";
/// The trailer: the payload's SHA-256, its length (u64, big-endian), the magic.
pub const TRAILER_BYTES: usize = 32 + 8 + MAGIC.len();

/// Makes `reply` (a model's raw reply body) an entry by appending its trailer. A trailer,
/// not a header: the reply is the largest buffer of a call and stays where it is.
pub fn seal(mut reply: Vec<u8>) -> Vec<u8> {
    let digest = crate::core::digest::sha256(&reply);
    let len = reply.len() as u64;
    reply.reserve_exact(TRAILER_BYTES);
    reply.extend_from_slice(&digest);
    reply.extend_from_slice(&len.to_be_bytes());
    reply.extend_from_slice(MAGIC);
    reply
}

/// Why an entry was not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    #[error("the entry is shorter than its trailer or has no magic")]
    NoTrailer,
    #[error("the entry's length does not match its trailer (a partial write)")]
    WrongLength,
    #[error("the entry's SHA-256 does not match its trailer")]
    WrongDigest,
}

/// The reply an entry holds, verified; the entry's buffer becomes the reply's.
pub fn open(mut entry: Vec<u8>) -> Result<Vec<u8>, Damage> {
    let n = entry.len();
    if n < TRAILER_BYTES || &entry[n - MAGIC.len()..] != MAGIC {
        return Err(Damage::NoTrailer);
    }
    let payload = n - TRAILER_BYTES;
    let mut len = [0u8; 8];
    len.copy_from_slice(&entry[payload + 32..payload + 40]);
    if u64::from_be_bytes(len) != payload as u64 {
        return Err(Damage::WrongLength);
    }
    let digest = crate::core::digest::sha256(&entry[..payload]);
    if digest[..] != entry[payload..payload + 32] {
        return Err(Damage::WrongDigest);
    }
    entry.truncate(payload);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::manifest;

    fn spec(v: serde_json::Value) -> JobSpec {
        manifest::parse(&serde_json::to_vec(&v).unwrap(), "uploads/j/", &[Backend::NovaCanvas]).unwrap()
    }

    #[test]
    fn entries_round_trip_and_any_damage_is_caught() {
        let reply = br#"{"images":["aGk="]}"#.to_vec();
        let entry = seal(reply.clone());
        assert_eq!(entry.len(), reply.len() + TRAILER_BYTES);
        assert_eq!(open(entry.clone()), Ok(reply.clone()));
        assert_eq!(open(seal(Vec::new())), Ok(Vec::new()));
        for i in 0..entry.len() {
            let mut flipped = entry.clone();
            flipped[i] ^= 0x01;
            assert!(open(flipped).is_err(), "a flipped byte at {i} was served");
        }
        for cut in 0..entry.len() {
            assert!(open(entry[..cut].to_vec()).is_err(), "a truncation to {cut} bytes was served");
        }
        assert_eq!(open(entry[..entry.len() - 1].to_vec()), Err(Damage::NoTrailer));
        let mut longer = reply.clone();
        longer.push(b' ');
        let mut spliced = longer;
        spliced.extend_from_slice(&entry[reply.len()..]);
        assert_eq!(open(spliced), Err(Damage::WrongLength));
    }

    #[test]
    fn the_key_follows_the_backend_the_model_and_every_byte_of_the_body() {
        let k = CacheKey::of(Backend::NovaCanvas, "m", b"{}");
        assert_eq!(k, CacheKey::of(Backend::NovaCanvas, "m", b"{}"));
        assert_ne!(k.digest, CacheKey::of(Backend::NovaCanvas, "m", b"{ }").digest);
        assert_ne!(k.digest, CacheKey::of(Backend::NovaCanvas, "m2", b"{}").digest);
        assert_ne!(k.digest, CacheKey::of(Backend::VertexVto, "m", b"{}").digest);
        // Length prefixes: moving a byte from the model id into the body changes the key.
        assert_ne!(
            CacheKey::of(Backend::NovaCanvas, "ab", b"c").digest,
            CacheKey::of(Backend::NovaCanvas, "a", b"bc").digest
        );
        let hex = k.hex();
        assert!(hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(k.object_key("outputs/"), format!("outputs/_cache/v1/nova-canvas/{hex}"));
    }

    #[test]
    fn only_reproducible_requests_are_cached() {
        let nova = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png"}));
        assert!(reproducible(&nova), "Nova Canvas' default seed is fixed");
        assert!(applies(CacheMode::Auto, &nova));
        assert!(!applies(CacheMode::Off, &nova));
        let off = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "resultCache": "off"}));
        assert!(!applies(CacheMode::Auto, &off));
        for backend in ["vertex-vto", "gemini-image", "bedrock-converse"] {
            let unseeded = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": backend}));
            assert!(!reproducible(&unseeded), "{backend} without a seed");
        }
        for backend in ["vertex-vto", "gemini-image"] {
            let seeded = spec(serde_json::json!({"source": "p.jpg", "garment": "g.png", "backend": backend,
                "imageGenerationConfig": {"seed": 3}}));
            assert!(reproducible(&seeded), "{backend} with a seed");
        }
    }

    #[test]
    fn job_ids_in_the_cache_folder_are_reserved() {
        assert!(reserved_job_id("_cache"));
        assert!(reserved_job_id("_cache/v1/nova-canvas"));
        assert!(!reserved_job_id("my_cache") && !reserved_job_id("a/_cache") && !reserved_job_id("_caches"));
        assert_eq!(CacheMode::parse("OFF"), Some(CacheMode::Off));
        assert_eq!(CacheMode::parse("on"), None);
    }
}
