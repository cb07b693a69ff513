//! Backend chains: which backend of an item's chain is called next. A backend whose model the
//! catalog says is retired is skipped with no call; a call answering `model_unavailable` or
//! `auth_failed` hands the item to the next backend; content, validation and transient
//! failures stay where they are. Every step is recorded in the item's `backendAttempts`,
//! so a retry resumes where the chain was left.

use tracing::warn;

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::core::backend::Backend;
use crate::core::catalog::{Date, Verdict};
use crate::core::error::{ErrorCode, JobError};
use crate::core::manifest::JobSpec;
use crate::core::status::{AttemptOutcome, BackendAttempt, ItemStatus, Warning};

use super::service::Service;

/// The warning code of a model near (or past its vendor's announced) retirement.
pub const MODEL_RETIRING: &str = "model_retiring";

/// Whether a failure of one backend leaves the next one of the chain worth calling: the
/// model or the access to it is gone. Content and validation failures would be the same
/// elsewhere; transient ones are retried on the same backend.
pub(crate) fn moves_on(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::ModelUnavailable | ErrorCode::AuthFailed)
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// What the catalog says of `b`'s model today.
    pub(crate) fn verdict(&self, b: Backend, today: Date) -> Verdict {
        let c = &self.config;
        c.catalog.verdict(self.model.model_id(b), c.platform_of(b), today, c.retirement_warning_days)
    }

    /// The backend the item calls next: the first of its chain not yet passed, skipping (and
    /// recording) those whose model is retired. When none is left, `model_unavailable`
    /// naming each backend and why.
    pub(crate) fn next_backend(&self, spec: &JobSpec, item: &mut ItemStatus, today: Date) -> Result<Backend, JobError> {
        let passed = |item: &ItemStatus, b: Backend| {
            item.backend_attempts.iter().any(|a| a.backend == b.name() && a.outcome.passed())
        };
        for b in spec.chain.iter().copied().filter(|b| !passed(item, *b)).collect::<Vec<_>>() {
            match self.verdict(b, today) {
                Verdict::Retired { since, replacement } => {
                    let message = retired_message(self.model.model_id(b), since, replacement.as_deref());
                    warn!(backend = %b, model = self.model.model_id(b), "skipped: the catalog says its model is retired");
                    item.backend_attempts.push(self.attempt(b, AttemptOutcome::Skipped, None, Some(message)));
                }
                _ => {
                    item.backend = Some(b.name().to_owned());
                    item.model_id = Some(self.model.model_id(b).to_owned());
                    return Ok(b);
                }
            }
        }
        Err(JobError::new(ErrorCode::ModelUnavailable, chain_exhausted(spec, &item.backend_attempts)))
    }

    /// After a failed call: the next backend's spec when the failure moves on and the chain
    /// has a callable backend left (the move recorded), else `None`.
    pub(crate) fn move_on(&self, spec: &JobSpec, item: &mut ItemStatus, e: &JobError, today: Date) -> Option<JobSpec> {
        if !moves_on(e.code) {
            return None;
        }
        let mut trial = item.clone();
        let moved = self.attempt(spec.backend, AttemptOutcome::MovedOn, Some(e.code), Some(e.message.clone()));
        trial.backend_attempts.push(moved);
        let next = self.next_backend(spec, &mut trial, today).ok()?;
        warn!(from = %spec.backend, to = %next, code = %e.code, "the backend is unavailable; the chain moves on");
        *item = trial;
        Some(spec.on(next))
    }

    pub(crate) fn attempt(
        &self,
        b: Backend,
        outcome: AttemptOutcome,
        code: Option<ErrorCode>,
        message: Option<String>,
    ) -> BackendAttempt {
        BackendAttempt {
            backend: b.name().to_owned(),
            model_id: self.model.model_id(b).to_owned(),
            outcome,
            code: code.map(|c| c.as_str().to_owned()),
            message,
            cost_usd: None,
        }
    }

    /// One log line per enabled backend whose model is retired or retiring, at start (once
    /// per cold start), so the logs say it before any job does.
    pub fn log_model_lifecycle(&self) {
        let today = Date::today();
        for b in &self.config.backends.enabled {
            let model = self.model.model_id(*b);
            match self.verdict(*b, today) {
                Verdict::Retired { since, replacement } => warn!(
                    backend = %b, model, shutdown = since.map(|d| d.to_string()), replacement,
                    "the model catalog says this backend's model is retired: jobs skip it with no call"
                ),
                Verdict::Retiring { shutdown, days_left, replacement } => warn!(
                    backend = %b, model, shutdown = shutdown.map(|d| d.to_string()), days_left, replacement,
                    code = MODEL_RETIRING, "this backend's model retires soon"
                ),
                Verdict::Unlisted => tracing::info!(
                    backend = %b, model, "this model is not in the catalog: no retirement warnings (add it with MODEL_CATALOG_JSON)"
                ),
                Verdict::Live => {}
            }
        }
    }

    /// A `model_retiring` warning for `b`'s model, with the days left when the catalog
    /// knows its shutdown.
    pub(crate) fn retiring(&self, b: Backend, today: Date) -> Option<(Warning, Option<i64>)> {
        let Verdict::Retiring { shutdown, days_left, replacement } = self.verdict(b, today) else { return None };
        let model = self.model.model_id(b);
        let when = match (shutdown, days_left) {
            (Some(d), Some(n)) => format!("shuts down on {d} ({n} days from now)"),
            _ => "is deprecated by its vendor".to_owned(),
        };
        let instead = match replacement {
            Some(r) => format!("the vendor names {r} as its replacement"),
            None => "the catalog names no replacement".to_owned(),
        };
        let message = format!(
            "{b}'s model {model} {when}; {instead}. Put another backend after it in TRYON_BACKEND (README, When a model retires)"
        );
        Some((Warning { code: MODEL_RETIRING.into(), message }, days_left))
    }
}

fn retired_message(model: &str, since: Option<Date>, replacement: Option<&str>) -> String {
    let since = since.map(|d| format!(" on {d}")).unwrap_or_default();
    let instead = replacement.map(|r| format!("; its replacement is {r}")).unwrap_or_default();
    format!("not called: the model catalog says {model} was shut down{since}{instead}")
}

/// One message naming every backend of the chain and why it could not serve.
pub(crate) fn chain_exhausted(spec: &JobSpec, attempts: &[BackendAttempt]) -> String {
    let why: Vec<String> = spec
        .chain
        .iter()
        .map(|b| {
            let last = attempts.iter().rev().find(|a| a.backend == b.name());
            match last {
                Some(a) => format!(
                    "{b} ({}): {}",
                    a.model_id,
                    a.message.as_deref().or(a.code.as_deref()).unwrap_or("unavailable")
                ),
                None => format!("{b}: not tried"),
            }
        })
        .collect();
    format!("no backend of the chain can serve this job: {}", why.join("; "))
}
