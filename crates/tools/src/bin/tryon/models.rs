//! `tryon models`: the model catalog as the current configuration sees it. One row per
//! enabled backend (its model, stage, shutdown day, replacement and source; with `--all`
//! every other model of the catalog after them), as a table or JSON; `--check` turns the
//! configured rows into an exit code for a scheduled CI job.

use std::collections::HashMap;
use std::process::ExitCode;

use serde_json::{json, Value};
use tryon::config::ModelsView;
use tryon::core::backend::Backend;
use tryon::core::catalog::{Date, Platform, Verdict};

/// What `tryon models` was asked for.
pub struct ModelsOptions {
    pub all: bool,
    pub json: bool,
    pub check: bool,
    /// The day verdicts are for (default: today, UTC).
    pub today: Option<Date>,
}

/// `--today`: a day as `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Result<Date, String> {
    Date::parse(s).ok_or_else(|| format!("expected a day as YYYY-MM-DD (such as 2027-01-01), got {s:?}"))
}

/// What the catalog says of a row, as `--json` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Live,
    Retiring,
    Retired,
    Unlisted,
    NoModel,
}

impl Kind {
    fn of(verdict: &Verdict) -> Kind {
        match verdict {
            Verdict::Live => Kind::Live,
            Verdict::Retiring { .. } => Kind::Retiring,
            Verdict::Retired { .. } => Kind::Retired,
            Verdict::Unlisted => Kind::Unlisted,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Live => "live",
            Kind::Retiring => "retiring",
            Kind::Retired => "retired",
            Kind::Unlisted => "unlisted",
            Kind::NoModel => "no-model",
        }
    }
}

/// An enabled backend's model, or (with `--all`) another model of the catalog.
struct Row {
    /// The 1-based place in `TRYON_BACKEND`'s chain.
    chain_position: Option<usize>,
    /// An enabled backend's model, which `--check` checks.
    configured: bool,
    backend: Backend,
    /// Empty when the backend has no model configured.
    model: String,
    platform: Platform,
    /// The catalog's stage; `None` for a model it does not list (or no model).
    stage: Option<&'static str>,
    kind: Kind,
    shutdown: Option<Date>,
    days_left: Option<i64>,
    replacement: Option<String>,
    source: Option<String>,
}

impl Row {
    fn new(view: &ModelsView, backend: Backend, model: &str, platform: Platform, today: Date) -> Row {
        let entry = if model.is_empty() { None } else { view.catalog.entry(model, platform) };
        let kind = if model.is_empty() {
            Kind::NoModel
        } else {
            Kind::of(&view.catalog.verdict(model, platform, today, view.retirement_warning_days))
        };
        let shutdown = entry.and_then(|e| e.shutdown);
        Row {
            chain_position: None,
            configured: false,
            backend,
            model: model.to_owned(),
            platform,
            stage: entry.map(|e| e.stage.name()),
            kind,
            shutdown,
            days_left: shutdown.map(|s| today.days_until(s)),
            replacement: entry.and_then(|e| e.replacement.clone()),
            source: entry.and_then(|e| e.source.clone()),
        }
    }
}

/// Runs `tryon models`: exit 0, 1 when `--check` finds a problem, 2 on a bad configuration.
pub fn models(opts: &ModelsOptions) -> ExitCode {
    let vars: HashMap<String, String> = std::env::vars().collect();
    let view = match ModelsView::from_vars(&vars) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let today = opts.today.unwrap_or_else(Date::today);
    let mut rows = configured_rows(&view, today);
    if opts.all {
        let others = other_rows(&view, today, &rows);
        rows.extend(others);
    }
    if opts.json {
        let array = Value::Array(rows.iter().map(row_json).collect());
        println!("{}", serde_json::to_string_pretty(&array).unwrap_or_default());
    } else {
        println!(
            "Models as of {today} (retiring: deprecated, or {} days or fewer to shutdown)",
            view.retirement_warning_days
        );
        print!("{}", table(&rows));
    }
    if !opts.check {
        return ExitCode::SUCCESS;
    }
    let problems: Vec<String> = rows.iter().filter(|r| r.configured).filter_map(problem).collect();
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One row per enabled backend, in order, each with its place in the chain.
fn configured_rows(view: &ModelsView, today: Date) -> Vec<Row> {
    let model_of = |b: Backend| view.models.iter().find(|(m, _)| *m == b).map_or("", |(_, id)| id.as_str());
    view.backends
        .enabled
        .iter()
        .map(|&b| Row {
            chain_position: view.backends.chain.iter().position(|&c| c == b).map(|i| i + 1),
            configured: true,
            ..Row::new(view, b, model_of(b), b.platform(), today)
        })
        .collect()
}

/// Every catalog entry not already among `shown`, by backend, id and platform.
fn other_rows(view: &ModelsView, today: Date, shown: &[Row]) -> Vec<Row> {
    let mut entries: Vec<_> =
        view.catalog.entries().filter(|e| !shown.iter().any(|r| r.model == e.id && r.platform == e.platform)).collect();
    entries.sort_by(|a, b| (a.backend, &a.id, a.platform).cmp(&(b.backend, &b.id, b.platform)));
    entries.into_iter().map(|e| Row::new(view, e.backend, &e.id, e.platform, today)).collect()
}

/// The stage column: the catalog's stage, with the verdict when the day makes it worse
/// (`deprecated (retired)` past the shutdown day, `ga (retiring)` close to it).
fn stage_cell(r: &Row) -> String {
    match (r.kind, r.stage) {
        (Kind::NoModel, _) => "no model".into(),
        (_, None) => "unlisted".into(),
        (Kind::Retired, Some(s)) if s != "retired" => format!("{s} (retired)"),
        (Kind::Retiring, Some(s)) if s != "deprecated" => format!("{s} (retiring)"),
        (_, Some(s)) => s.into(),
    }
}

fn cells(r: &Row) -> Vec<String> {
    let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
    let chain = match (r.chain_position, r.configured) {
        (Some(n), _) => n.to_string(),
        (None, true) => "-".into(),
        (None, false) => String::new(),
    };
    vec![
        chain,
        r.backend.name().into(),
        if r.model.is_empty() { "(none)".into() } else { r.model.clone() },
        r.platform.name().into(),
        stage_cell(r),
        or_dash(r.shutdown.map(|d| d.to_string())),
        or_dash(r.days_left.map(|d| d.to_string())),
        or_dash(r.replacement.clone()),
        or_dash(r.source.clone()),
    ]
}

/// The rows as aligned columns under a header.
fn table(rows: &[Row]) -> String {
    let header = ["CHAIN", "BACKEND", "MODEL", "PLATFORM", "STAGE", "SHUTDOWN", "DAYS LEFT", "REPLACEMENT", "SOURCE"];
    let mut lines = vec![header.map(String::from).to_vec()];
    lines.extend(rows.iter().map(cells));
    let mut widths = [0usize; 9];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let padded: Vec<String> = line.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row_json(r: &Row) -> Value {
    json!({
        "chainPosition": r.chain_position,
        "configured": r.configured,
        "backend": r.backend.name(),
        "model": (!r.model.is_empty()).then_some(&r.model),
        "platform": r.platform.name(),
        "stage": r.stage,
        "shutdown": r.shutdown.map(|d| d.to_string()),
        "daysLeft": r.days_left,
        "replacement": r.replacement,
        "source": r.source,
        "verdict": r.kind.name(),
    })
}

/// What `--check` says of a configured row: `None` when its model is live (or unlisted, as
/// the function calls a model the catalog does not know).
fn problem(r: &Row) -> Option<String> {
    let (b, m, p) = (r.backend, &r.model, r.platform);
    let instead = r.replacement.as_ref().map(|x| format!("; replacement: {x}")).unwrap_or_default();
    match (r.kind, r.shutdown, r.days_left) {
        (Kind::NoModel, ..) => Some(format!("{b}: no model configured (set {})", model_variable(b))),
        (Kind::Retired, Some(s), _) => Some(format!("{b}: {m} on {p} is retired since {s}{instead}")),
        (Kind::Retired, None, _) => Some(format!("{b}: {m} on {p} is retired{instead}")),
        (Kind::Retiring, Some(s), Some(d)) => {
            let days = if d == 1 { "day" } else { "days" };
            Some(format!("{b}: {m} on {p} is retiring: shutdown {s}, in {d} {days}{instead}"))
        }
        (Kind::Retiring, ..) => Some(format!("{b}: {m} on {p} is deprecated, with no shutdown day known{instead}")),
        (Kind::Live | Kind::Unlisted, ..) => None,
    }
}

/// The variable that names `b`'s model.
fn model_variable(b: Backend) -> &'static str {
    match b {
        Backend::NovaCanvas => "MODEL_ID",
        Backend::VertexVto => "VERTEX_MODEL",
        Backend::GeminiImage => "GEMINI_MODEL",
        Backend::BedrockConverse => "CONVERSE_MODEL_ID",
    }
}
