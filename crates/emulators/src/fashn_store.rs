//! The FASHN emulator's memory: its settings (timing, limits, retention, credits), the
//! predictions it issued and the request windows of its rate limits. Pure: no HTTP, no
//! shared-state imports, so `state` can hold it without a circle.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{DynamicImage, RgbImage};
use serde::Serialize;

/// A request-rate limit: at most `requests` in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

/// How the emulated FASHN behaves (configuration: `reset` keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FashnSettings {
    /// How long a prediction takes from `/v1/run` to its terminal state. Default 300 ms,
    /// split in thirds: `starting`, `in_queue`, `processing` (FASHN's own times, 5-120 s,
    /// are the reference's §2; set them here for a realistic run).
    pub prediction_time: Duration,
    /// `/v1/run`: 50 requests per 60 s per key (reference §1, F1/F10).
    pub run_limit: RateLimit,
    /// `/v1/status/{id}`: 50 requests per 10 s per key.
    pub status_limit: RateLimit,
    /// `/v1/credits`: 30 requests per 10 s per key.
    pub credits_limit: RateLimit,
    /// Predictions in flight per key: 6 (reference Key fact 7).
    pub concurrency: u32,
    /// `return_base64` outputs are kept 60 min, then read `<base64>_expired` (F4).
    pub base64_retention: Duration,
    /// CDN output URLs live 72 h (F4); after that the emulated CDN answers 404.
    pub url_retention: Duration,
}

impl Default for FashnSettings {
    fn default() -> Self {
        let limit = |requests, secs| RateLimit { requests, window: Duration::from_secs(secs) };
        FashnSettings {
            prediction_time: Duration::from_millis(300),
            run_limit: limit(50, 60),
            status_limit: limit(50, 10),
            credits_limit: limit(30, 10),
            concurrency: 6,
            base64_retention: Duration::from_secs(60 * 60),
            url_retention: Duration::from_secs(72 * 60 * 60),
        }
    }
}

/// The API credits a fresh emulator holds: enough never to run out unless a test says so.
pub const DEFAULT_CREDITS: u64 = 1_000_000;

/// A prediction's state, as `/v1/status` names it (reference §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Starting,
    InQueue,
    Processing,
    Completed,
    Failed,
    Canceled,
    TimeOut,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::InQueue => "in_queue",
            Stage::Processing => "processing",
            Stage::Completed => "completed",
            Stage::Failed => "failed",
            Stage::Canceled => "canceled",
            Stage::TimeOut => "time_out",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, Stage::Starting | Stage::InQueue | Stage::Processing)
    }
}

/// What a completed prediction paints: its loaded inputs and output parameters. Painted
/// at the first poll that sees it completed (so `/v1/run` answers at once, as FASHN's does).
#[derive(Debug)]
pub struct Render {
    pub person: RgbImage,
    pub garment: DynamicImage,
    pub size: (u32, u32),
    pub seed: u64,
    pub samples: u32,
    pub jpeg: bool,
}

/// How a prediction ends.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The inputs to paint, and the encoded outputs once painted.
    Completed { render: Arc<Render>, images: Option<Arc<Vec<Vec<u8>>>> },
    /// `status: failed` with `error: {name, message}`.
    Failed { name: String, message: String },
    /// `canceled` or `time_out`, with no output and no error.
    Ended(Stage),
}

/// One prediction the emulator issued.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub key: String,
    pub model: String,
    pub created: Instant,
    pub duration: Duration,
    pub outcome: Outcome,
    /// Answer data URIs (else URLs), and in which format.
    pub return_base64: bool,
    pub jpeg: bool,
    /// Credits charged (0 unless it completes).
    pub credits: u64,
    /// Polls answered so far.
    pub polls: u32,
    /// Lost after this many polls (a fault): then `/v1/status` answers 404.
    pub lost_after: Option<u32>,
    /// Base64 outputs read `<base64>_expired` from the first poll (a fault).
    pub expired: bool,
}

impl Prediction {
    /// The state at `now`: thirds of the duration, then the outcome.
    pub fn stage(&self, now: Instant) -> Stage {
        let elapsed = now.saturating_duration_since(self.created);
        if elapsed >= self.duration {
            return match &self.outcome {
                Outcome::Completed { .. } => Stage::Completed,
                Outcome::Failed { .. } => Stage::Failed,
                Outcome::Ended(s) => *s,
            };
        }
        match elapsed.as_secs_f64() / self.duration.as_secs_f64() {
            f if f < 1.0 / 3.0 => Stage::Starting,
            f if f < 2.0 / 3.0 => Stage::InQueue,
            _ => Stage::Processing,
        }
    }

    /// When the prediction reaches its terminal state.
    pub fn finished_at(&self) -> Instant {
        self.created + self.duration
    }
}

/// Which endpoint a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Run,
    Status,
    Credits,
}

/// Everything the FASHN emulator remembers.
#[derive(Debug)]
pub struct Store {
    pub settings: FashnSettings,
    pub credits: u64,
    pub predictions: HashMap<String, Prediction>,
    windows: HashMap<(Endpoint, String), VecDeque<Instant>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            settings: FashnSettings::default(),
            credits: DEFAULT_CREDITS,
            predictions: HashMap::new(),
            windows: HashMap::new(),
        }
    }
}

impl Store {
    /// Forgets the predictions and the rate windows; keeps settings and credits.
    pub fn clear(&mut self) {
        self.predictions.clear();
        self.windows.clear();
    }

    /// Whether a request of `key` to `endpoint` at `now` is within its limit (sliding
    /// window); an admitted request counts, a refused one does not.
    pub fn admit(&mut self, endpoint: Endpoint, key: &str, now: Instant) -> bool {
        let limit = match endpoint {
            Endpoint::Run => self.settings.run_limit,
            Endpoint::Status => self.settings.status_limit,
            Endpoint::Credits => self.settings.credits_limit,
        };
        let window = self.windows.entry((endpoint, key.to_owned())).or_default();
        while window.front().is_some_and(|t| now.saturating_duration_since(*t) >= limit.window) {
            window.pop_front();
        }
        if window.len() >= limit.requests as usize {
            return false;
        }
        window.push_back(now);
        true
    }

    /// Predictions of `key` not yet terminal at `now`.
    pub fn in_flight(&self, key: &str, now: Instant) -> usize {
        self.predictions.values().filter(|p| p.key == key && !p.stage(now).is_terminal()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(duration_ms: u64, outcome: Outcome) -> Prediction {
        Prediction {
            key: "k".into(),
            model: "tryon-v1.6".into(),
            created: Instant::now(),
            duration: Duration::from_millis(duration_ms),
            outcome,
            return_base64: true,
            jpeg: false,
            credits: 1,
            polls: 0,
            lost_after: None,
            expired: false,
        }
    }

    #[test]
    fn a_prediction_moves_through_the_documented_states() {
        let render = Render {
            person: RgbImage::new(1, 1),
            garment: DynamicImage::new_rgb8(1, 1),
            size: (1, 1),
            seed: 0,
            samples: 1,
            jpeg: false,
        };
        let p = prediction(300, Outcome::Completed { render: Arc::new(render), images: None });
        let at = |ms| p.created + Duration::from_millis(ms);
        let stages: Vec<Stage> = [0, 99, 100, 199, 200, 299, 300, 10_000].map(|ms| p.stage(at(ms))).into();
        use Stage::*;
        assert_eq!(stages, [Starting, Starting, InQueue, InQueue, Processing, Processing, Completed, Completed]);
        let failed = prediction(0, Outcome::Failed { name: "PoseError".into(), message: String::new() });
        assert_eq!(failed.stage(failed.created), Failed);
        assert!(Stage::TimeOut.is_terminal() && !Stage::InQueue.is_terminal());
    }

    #[test]
    fn the_window_slides_and_refusals_do_not_count() {
        let mut s = Store::default();
        s.settings.status_limit = RateLimit { requests: 2, window: Duration::from_secs(10) };
        let t0 = Instant::now();
        assert!(s.admit(Endpoint::Status, "k", t0));
        assert!(s.admit(Endpoint::Status, "k", t0 + Duration::from_secs(5)));
        assert!(!s.admit(Endpoint::Status, "k", t0 + Duration::from_secs(9)));
        assert!(s.admit(Endpoint::Status, "other", t0), "limits are per key");
        assert!(s.admit(Endpoint::Status, "k", t0 + Duration::from_secs(10)), "the first left the window");
        assert!(!s.admit(Endpoint::Status, "k", t0 + Duration::from_secs(11)));
    }
}
