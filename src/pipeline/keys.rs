//! The bucket layout of one job: which manifest key is a job ([`job_id`]), where its
//! manifest, status and outputs live. The only
//! place a job's output key names are made; the result cache's entries live beside the jobs
//! under `<outputs>_cache/` ([`crate::core::result_cache::CacheKey::object_key`]), a name no job may take.

use crate::config::Config;
use crate::core::error::{ErrorCode, JobError};
use crate::core::manifest::MANIFEST_NAME;
use crate::core::result_cache;

/// Key layout of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPaths {
    pub job_id: String,
    /// `uploads/<jobId>/`
    pub folder: String,
    /// `outputs/<jobId>/`
    pub outputs: String,
}

impl JobPaths {
    pub fn new(config: &Config, job_id: &str) -> Self {
        JobPaths {
            job_id: job_id.to_owned(),
            folder: format!("{}{job_id}/", config.uploads_prefix),
            outputs: format!("{}{job_id}/", config.outputs_prefix),
        }
    }

    pub fn status(&self) -> String {
        format!("{}status.json", self.outputs)
    }

    pub fn result(&self, index: usize) -> String {
        result_key(&self.outputs, index)
    }

    pub fn mask(&self) -> String {
        mask_key(&self.outputs)
    }

    pub fn sheet(&self) -> String {
        format!("{}sheet.jpg", self.outputs)
    }

    /// Where a call writes its outputs: the job's own folder for a one-call job,
    /// `<name>/` for a variant, `steps/<n>/` for an outfit step.
    pub fn call_folder(&self, call: CallPlace<'_>) -> String {
        match call {
            CallPlace::Root => self.outputs.clone(),
            CallPlace::Variant(name) => format!("{}{name}/", self.outputs),
            CallPlace::Step(n) => format!("{}steps/{n}/", self.outputs),
        }
    }
}

/// Refuses a job whose outputs would land in the result cache's folder (`_cache`, or a job
/// id starting `_cache/`).
pub fn check_job_id(job_id: &str) -> Result<(), JobError> {
    if result_cache::reserved_job_id(job_id) {
        return Err(JobError::new(
            ErrorCode::InvalidManifest,
            format!(
                "the job id {job_id:?} is reserved: the outputs folder {}/ holds the result cache; upload the job under another folder name",
                result_cache::FOLDER
            ),
        ));
    }
    Ok(())
}

/// Which folder of the job a call writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPlace<'a> {
    Root,
    Variant(&'a str),
    /// Outfit step `n`, from 1.
    Step(usize),
}

/// The key of result image `index` (from 0) in an outputs folder: `result.png`, `result-2.png`, …
pub fn result_key(folder: &str, index: usize) -> String {
    if index == 0 {
        format!("{folder}result.png")
    } else {
        format!("{folder}result-{}.png", index + 1)
    }
}

/// The key of the mask in an outputs folder.
pub fn mask_key(folder: &str) -> String {
    format!("{folder}mask.png")
}

/// The job id of a manifest key (`<uploads>/<jobId>/job.json`), or why the key starts no job.
pub fn job_id<'k>(key: &'k str, uploads_prefix: &str) -> Result<&'k str, String> {
    let Some(rest) = key.strip_prefix(uploads_prefix) else {
        return Err(format!("key is outside the uploads prefix {uploads_prefix:?}"));
    };
    let Some(job) = rest.strip_suffix(MANIFEST_NAME).and_then(|j| j.strip_suffix('/')) else {
        return Err(format!("not a job manifest (only keys ending in /{MANIFEST_NAME} start jobs)"));
    };
    if job.is_empty() || job.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err(format!("job id {job:?} is empty or has an empty, '.' or '..' path segment"));
    }
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_manifests_under_the_prefix_are_jobs() {
        assert_eq!(job_id("uploads/j1/job.json", "uploads/"), Ok("j1"));
        assert_eq!(job_id("uploads/shop/2026/j 1/job.json", "uploads/"), Ok("shop/2026/j 1"));
        for key in [
            "uploads/job.json",
            "uploads/j1/person.jpg",
            "uploads/j1/job.json.bak",
            "uploads/j1/xjob.json",
            "outputs/j1/job.json",
            "uploads//job.json",
            "uploads/a//b/job.json",
            "uploads/../x/job.json",
        ] {
            assert!(job_id(key, "uploads/").is_err(), "{key}");
        }
    }

    #[test]
    fn layout() {
        let p = JobPaths::new(&Config::default(), "j");
        assert_eq!((p.folder.as_str(), p.outputs.as_str()), ("uploads/j/", "outputs/j/"));
        assert_eq!(
            (p.status(), p.sheet(), p.mask()),
            ("outputs/j/status.json".into(), "outputs/j/sheet.jpg".into(), "outputs/j/mask.png".into())
        );
        assert_eq!((p.result(0), p.result(2)), ("outputs/j/result.png".into(), "outputs/j/result-3.png".into()));
        assert_eq!(p.call_folder(CallPlace::Root), "outputs/j/");
        assert_eq!(p.call_folder(CallPlace::Variant("box")), "outputs/j/box/");
        assert_eq!(p.call_folder(CallPlace::Step(2)), "outputs/j/steps/2/");
    }

    #[test]
    fn no_job_writes_into_the_cache_folder() {
        for id in ["_cache", "_cache/v1", "_cache/v1/nova-canvas"] {
            let e = check_job_id(id).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidManifest);
            assert!(e.message.contains("reserved") && e.message.contains(id), "{e:?}");
        }
        for id in ["j", "cache", "a/_cache", "_cached"] {
            assert!(check_job_id(id).is_ok(), "{id}");
        }
    }
}
