//! A job can never take the function down. Hostile uploads, generated here (extreme aspect
//! ratios, decompression bombs, huge compressed metadata, trailing manifest data, unusual
//! JPEG coding processes), each run by `tryon run` in a fresh process under the function's
//! memory size (template.yaml `MemorySize`) and killed the moment its resident set exceeds
//! it. Every case must end in one of its allowed outcomes, within the limit, without calling
//! the model when its inputs are refused. `-- --nocapture` prints each case's peak RSS.

#[path = "memory_limits/harness.rs"]
mod harness;
#[path = "memory_limits/jpeg.rs"]
mod jpeg;
#[path = "memory_limits/picture.rs"]
mod picture;
#[path = "memory_limits/png.rs"]
mod png;
#[path = "memory_limits/webp.rs"]
mod webp;
#[path = "memory_limits/zlib.rs"]
mod zlib;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use png::At;

const MIB: u64 = 1024 * 1024;
/// Cases run at once (the machine has two cores).
const WORKERS: usize = 2;
/// A case still running after this is killed and fails.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Error codes for a job refused on its inputs, which must cost no model call.
const INPUT_ERRORS: [&str; 7] = [
    "invalid_manifest",
    "missing_object",
    "input_too_large",
    "unsupported_image",
    "invalid_image",
    "image_too_large",
    "invalid_mask",
];

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

/// The allowed outcomes of a case: "succeeded" or error codes, and text the error message
/// must contain.
#[derive(Clone, Copy)]
struct Expect {
    outcomes: &'static [&'static str],
    message: Option<&'static str>,
}

const fn any(outcomes: &'static [&'static str]) -> Expect {
    Expect { outcomes, message: None }
}

const SUCCEEDS: Expect = any(&["succeeded"]);
/// Decoded within the budget, or refused before decoding.
const FITS_OR_REFUSED: Expect = any(&["succeeded", "image_too_large"]);
/// Metadata ignored, or the file refused; anything but a crash.
const SURVIVES: Expect = any(&["succeeded", "image_too_large", "invalid_image"]);
const TOO_LARGE: Expect = any(&["image_too_large"]);

/// Which file of the job a case generates; the others are the defaults.
#[derive(Clone, Copy)]
enum Slot {
    Source,
    Garment,
    Manifest,
}

impl Slot {
    fn role(self) -> &'static str {
        match self {
            Slot::Source => "source",
            Slot::Garment => "garment",
            Slot::Manifest => "manifest",
        }
    }

    /// The file's name in the job folder (the default manifest names these).
    fn file_name(self) -> &'static str {
        match self {
            Slot::Source => "person.jpg",
            Slot::Garment => "garment.png",
            Slot::Manifest => "job.json",
        }
    }
}

type Make = Box<dyn Fn() -> Vec<u8> + Send + Sync>;

struct Case {
    name: String,
    slot: Slot,
    make: Make,
    expect: Expect,
}

fn case(
    name: impl Into<String>,
    slot: Slot,
    expect: Expect,
    make: impl Fn() -> Vec<u8> + Send + Sync + 'static,
) -> Case {
    Case { name: name.into(), slot, make: Box::new(make), expect }
}

fn all_cases() -> Vec<Case> {
    [aspect_cases(), inflating_cases(), metadata_cases(), manifest_cases(), coding_cases()]
        .into_iter()
        .flatten()
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Png,
    Jpeg,
}

impl Format {
    fn other(self) -> Format {
        match self {
            Format::Png => Format::Jpeg,
            Format::Jpeg => Format::Png,
        }
    }
}

fn photo_file(format: Format, w: u32, h: u32) -> Vec<u8> {
    match format {
        Format::Png => png::from_pixels(w, h, ::png::ColorType::Rgb, picture::photo(w, h).as_raw()),
        Format::Jpeg => jpeg::photo_jpeg(w, h),
    }
}

/// Thin pictures, padded to 1:4 as the README promises. Each shape runs as source in one
/// format and as garment in the other, alternating, so that across the sizes each orientation
/// is a PNG and a JPEG in both roles. One pixel past MAX_INPUT_SIDE is refused.
fn aspect_cases() -> Vec<Case> {
    let mut shapes = Vec::new();
    for (k, n) in [1000, 3000, 9000, 16384].into_iter().enumerate() {
        shapes.push((n, 1, if k % 2 == 0 { Format::Png } else { Format::Jpeg }));
        shapes.push((1, n, if k % 2 == 0 { Format::Jpeg } else { Format::Png }));
    }
    shapes.extend([(2, 5000, Format::Png), (5000, 3, Format::Jpeg), (7, 16384, Format::Png)]);
    let mut cases = Vec::new();
    for (w, h, source_format) in shapes {
        for (slot, format) in [(Slot::Source, source_format), (Slot::Garment, source_format.other())] {
            let name = format!("{w}x{h} {format:?} {}", slot.role());
            cases.push(case(name, slot, SUCCEEDS, move || photo_file(format, w, h)));
        }
    }
    for (w, h, slot, format) in [(16385, 1, Slot::Source, Format::Png), (1, 16385, Slot::Garment, Format::Jpeg)] {
        let name = format!("{w}x{h} {format:?} {}", slot.role());
        cases.push(case(name, slot, TOO_LARGE, move || photo_file(format, w, h)));
    }
    cases
}

/// Small files that are huge once decoded.
fn inflating_cases() -> Vec<Case> {
    use png::Colour::{Grey, Palette, Rgb, Rgba};
    let mut cases = Vec::new();
    for n in [3000, 4000, 5000, 6000, 8000] {
        cases.push(case(format!("PNG RGBA16 {n}² zeros"), Slot::Source, FITS_OR_REFUSED, move || {
            png::zeros(n, n, 16, Rgba, false)
        }));
    }
    for (n, slot) in [(3000, Slot::Source), (4000, Slot::Garment), (5000, Slot::Source)] {
        let name = format!("PNG RGBA16 {n}² gradient {}", slot.role());
        cases.push(case(name, slot, FITS_OR_REFUSED, move || png::gradient16(n, n)));
    }
    type Bomb = (&'static str, Slot, u32, u32, u8, png::Colour, bool, Expect);
    let bombs: [Bomb; 7] = [
        ("PNG grey16 8000x6000", Slot::Source, 8000, 6000, 16, Grey, false, FITS_OR_REFUSED),
        ("PNG RGBA8 8000x6000", Slot::Source, 8000, 6000, 8, Rgba, false, FITS_OR_REFUSED),
        ("PNG RGBA8 8000x6000 Adam7", Slot::Garment, 8000, 6000, 8, Rgba, true, FITS_OR_REFUSED),
        ("PNG palette 16000x3000", Slot::Garment, 16000, 3000, 8, Palette, false, FITS_OR_REFUSED),
        ("PNG 1-bit grey 16384x3000", Slot::Source, 16384, 3000, 1, Grey, false, FITS_OR_REFUSED),
        ("PNG RGB8 7072x7072 (50.01 MP)", Slot::Source, 7072, 7072, 8, Rgb, false, TOO_LARGE),
        ("PNG RGBA16 16384x16384", Slot::Garment, 16384, 16384, 16, Rgba, false, TOO_LARGE),
    ];
    for (name, slot, w, h, depth, colour, interlaced, expect) in bombs {
        cases.push(case(format!("{name} zeros {}", slot.role()), slot, expect, move || {
            png::zeros(w, h, depth, colour, interlaced)
        }));
    }
    let jpegs: [(u16, u16, u8, Slot, Expect); 5] = [
        (12000, 4000, 3, Slot::Source, FITS_OR_REFUSED),
        (12000, 4000, 1, Slot::Garment, FITS_OR_REFUSED),
        (10000, 5000, 3, Slot::Source, FITS_OR_REFUSED),
        (12500, 4001, 3, Slot::Source, TOO_LARGE),
        (20000, 20000, 1, Slot::Garment, TOO_LARGE),
    ];
    for (w, h, components, slot, expect) in jpegs {
        let name = format!("JPEG {w}x{h} {}-channel flat {}", components, slot.role());
        cases.push(case(name, slot, expect, move || jpeg::flat(w, h, components)));
    }
    cases
}

fn hoodie() -> Vec<u8> {
    read_example("hoodie/hoodie.png")
}

fn palette() -> Vec<u8> {
    png::palette(600, 800)
}

/// Compressed colour profiles and text, EXIF, many chunks, lying lengths: in PNG, JPEG and
/// WebP, at several positions.
fn metadata_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for mb in [1, 50, 300, 1000] {
        cases.push(case(format!("PNG iCCP inflating to {mb} MB"), Slot::Garment, SURVIVES, move || {
            png::with_chunks(&hoodie(), At::AfterIhdr, vec![png::iccp(mb * 1_000_000)])
        }));
    }
    cases.push(case("PNG iCCP 300 MB source", Slot::Source, SURVIVES, || {
        png::with_chunks(&hoodie(), At::AfterIhdr, vec![png::iccp(300_000_000)])
    }));
    cases.push(case("PNG two iCCP (50 MB, 1 GB)", Slot::Garment, SURVIVES, || {
        png::with_chunks(&hoodie(), At::AfterIhdr, vec![png::iccp(50_000_000), png::iccp(1_000_000_000)])
    }));
    type Placed = (&'static str, fn() -> Vec<u8>, At, fn() -> png::Chunk);
    let placed: [Placed; 12] = [
        ("iCCP 1 GB", hoodie, At::AfterIdat, || png::iccp(1_000_000_000)),
        ("zTXt 300 MB", hoodie, At::AfterIhdr, || png::ztxt(300_000_000)),
        ("zTXt 300 MB", palette, At::AfterPlte, || png::ztxt(300_000_000)),
        ("zTXt 300 MB", hoodie, At::BetweenIdat, || png::ztxt(300_000_000)),
        ("zTXt 1 GB", hoodie, At::AfterIdat, || png::ztxt(1_000_000_000)),
        ("iTXt 300 MB", hoodie, At::AfterIhdr, || png::itxt(300_000_000)),
        ("iTXt 300 MB", palette, At::BetweenIdat, || png::itxt(300_000_000)),
        ("iTXt 1 GB", hoodie, At::AfterIdat, || png::itxt(1_000_000_000)),
        ("eXIf 16 MB", hoodie, At::AfterIhdr, || png::exif(16_000_000)),
        ("eXIf 16 MB", palette, At::AfterPlte, || png::exif(16_000_000)),
        ("eXIf 16 MB", hoodie, At::AfterIdat, || png::exif(16_000_000)),
        ("eXIf 65535-entry IFD", hoodie, At::AfterIhdr, || png::exif(64)),
    ];
    for (what, base, at, chunk) in placed {
        cases.push(case(format!("PNG {what} {at:?}"), Slot::Garment, SURVIVES, move || {
            png::with_chunks(&base(), at, vec![chunk()])
        }));
    }
    cases.push(case("PNG 200k tEXt chunks AfterIhdr", Slot::Garment, SURVIVES, || {
        png::with_chunks(&hoodie(), At::AfterIhdr, png::texts(200_000))
    }));
    cases.push(case("PNG 50k tEXt chunks BetweenIdat", Slot::Source, SURVIVES, || {
        png::with_chunks(&hoodie(), At::BetweenIdat, png::texts(50_000))
    }));
    cases.push(case("PNG iCCP claiming 2 GB, file ends", Slot::Garment, SURVIVES, || {
        png::truncated_after(&hoodie(), *b"iCCP", 0x7FFF_FFF0)
    }));
    cases.extend(icc_jpeg_and_webp_cases());
    cases
}

fn person() -> Vec<u8> {
    read_example("hoodie/person.jpg")
}

fn icc_jpeg_and_webp_cases() -> Vec<Case> {
    vec![
        case("JPEG APP2 ICC 255 chunks (16.7 MB)", Slot::Source, SURVIVES, || {
            jpeg::with_icc_segments(&person(), 255 * 65519)
        }),
        case("JPEG APP2 ICC 30 MB, chunks numbered twice", Slot::Source, SURVIVES, || {
            jpeg::with_icc_segments(&person(), 30_000_000)
        }),
        case("JPEG APP2 ICC 60 MB (over MAX_IMAGE_BYTES)", Slot::Source, any(&["input_too_large"]), || {
            jpeg::with_icc_segments(&person(), 60_000_000)
        }),
        case("WebP VP8X ICCP 30 MB", Slot::Garment, SURVIVES, || webp::with_iccp(600, 800, 30_000_000, None)),
        case("WebP ICCP claiming 2 GB, file ends", Slot::Garment, SURVIVES, || {
            webp::with_iccp(600, 800, 1024, Some(0x7FFF_FFF0))
        }),
    ]
}

const MANIFEST: &str = r#"{"source": "person.jpg", "garment": "garment.png"}"#;

/// Bytes after the manifest's object are refused; whitespace and one leading BOM are not.
fn manifest_cases() -> Vec<Case> {
    let refused = any(&["invalid_manifest"]);
    let trailing: [(&str, &[u8]); 5] = [
        ("a second object", br#"{"source": "x.jpg", "garment": "y.png"}"#),
        ("garbage", b"garbage"),
        ("NUL bytes", b"\0\0\0\0"),
        ("a stray }", b"}"),
        ("a newline then text", b"\n--boundary--\n"),
    ];
    let mut cases: Vec<Case> = trailing
        .into_iter()
        .map(|(what, tail)| {
            case(format!("manifest followed by {what}"), Slot::Manifest, refused, move || {
                [MANIFEST.as_bytes(), tail].concat()
            })
        })
        .collect();
    let accepted: [(&str, &str, &str); 4] = [
        ("whitespace around the manifest", " \r\n\t", "\n\n  \t"),
        ("a BOM before the manifest", "\u{FEFF}", ""),
        ("a BOM, whitespace, the manifest, whitespace", "\u{FEFF}\n ", " \n"),
        ("the manifest and a newline", "", "\n"),
    ];
    for (what, head, tail) in accepted {
        cases.push(case(what, Slot::Manifest, SUCCEEDS, move || format!("{head}{MANIFEST}{tail}").into_bytes()));
    }
    cases
}

/// JPEG coding processes the decoders do not read are refused by name.
fn coding_cases() -> Vec<Case> {
    use jpeg::Process::*;
    let lossless = Expect { outcomes: &["unsupported_image"], message: Some("lossless") };
    let twelve_bit = Expect { outcomes: &["unsupported_image"], message: Some("12-bit") };
    let arithmetic = Expect { outcomes: &["unsupported_image"], message: Some("arithmetic-coded") };
    [
        (Arithmetic, Slot::Source, arithmetic),
        (ArithmeticProgressive, Slot::Source, arithmetic),
        (ArithmeticProgressive, Slot::Garment, arithmetic),
        (Lossless, Slot::Source, lossless),
        (Lossless, Slot::Garment, lossless),
        (TwelveBit, Slot::Source, twelve_bit),
        (TwelveBit, Slot::Garment, twelve_bit),
    ]
    .into_iter()
    .map(|(process, slot, expect)| {
        case(format!("JPEG {process:?} {}", slot.role()), slot, expect, move || jpeg::coded(process, 900, 1200))
    })
    .collect()
}

fn read_example(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Running and judging a case
// ---------------------------------------------------------------------------------------

struct Row {
    name: String,
    expected: String,
    got: String,
    peak_mib: f64,
    ms: u128,
    problems: Vec<String>,
}

/// Writes the job folder (the case's file and the defaults), runs it, judges it, and removes
/// its files.
fn run_case(index: usize, case: &Case, root: &Path, runner: &harness::Runner) -> Row {
    let dir = root.join(format!("{index:03}"));
    let folder = dir.join("job");
    std::fs::create_dir_all(&folder).expect("case folder");
    let defaults = [("job.json", MANIFEST.as_bytes().to_vec()), ("person.jpg", person()), ("garment.png", hoodie())];
    for (name, bytes) in defaults {
        std::fs::write(folder.join(name), bytes).expect("write a job file");
    }
    std::fs::write(folder.join(case.slot.file_name()), (case.make)()).expect("write the case's file");
    let job_id = format!("case-{index:03}");
    let log = dir.join("tryon.log");
    let exit = runner.run(&folder, &dir.join("out"), &job_id, &log);
    let local = dir.join("out").join("local");
    let status: Option<Value> = std::fs::read(local.join(format!("outputs/{job_id}/status.json")))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut problems = judge(case.expect, &exit, status.as_ref(), &local, runner.limit_kib);
    if !problems.is_empty() {
        problems.push(format!("log: {}", log_tail(&log)));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        name: case.name.clone(),
        expected: case.expect.outcomes.join("|"),
        got: match (&status, exit.killed) {
            (Some(status), None) => outcome(status),
            _ => exit_summary(&exit),
        },
        peak_mib: exit.peak_kib as f64 / 1024.0,
        ms: exit.elapsed.as_millis(),
        problems,
    }
}

/// "succeeded", the error code of a failed job, or "processing".
fn outcome(status: &Value) -> String {
    match status["state"].as_str() {
        Some("failed") => status["error"]["code"].as_str().unwrap_or("failed without a code").to_owned(),
        Some(state) => state.to_owned(),
        None => "no state".to_owned(),
    }
}

fn exit_summary(exit: &harness::Exit) -> String {
    match (exit.killed, exit.signal, exit.code) {
        (Some(harness::Kill::OverLimit(_)), ..) => "KILLED (memory)".into(),
        (Some(harness::Kill::Timeout), ..) => "KILLED (timeout)".into(),
        (None, Some(sig), _) => format!("signal {sig}"),
        (None, None, code) => format!("exit {code:?}, no status"),
    }
}

fn judge(expect: Expect, exit: &harness::Exit, status: Option<&Value>, local: &Path, limit_kib: u64) -> Vec<String> {
    let mut problems = process_problems(exit, limit_kib);
    match status {
        // Killed mid-job, its status says processing: the kill is the finding.
        _ if exit.killed.is_some() => {}
        None => problems.push("no readable status.json".into()),
        Some(status) => problems.extend(status_problems(expect, exit, status, local)),
    }
    problems
}

/// Killed, died by a signal, or over the limit.
fn process_problems(exit: &harness::Exit, limit_kib: u64) -> Vec<String> {
    let mut problems = Vec::new();
    match (exit.killed, exit.signal) {
        (Some(harness::Kill::OverLimit(rss)), _) => {
            problems.push(format!("killed: resident set reached {} MiB", rss / 1024))
        }
        (Some(harness::Kill::Timeout), _) => problems.push(format!("killed: still running after {CASE_TIMEOUT:?}")),
        (None, Some(sig)) => problems.push(format!("died by signal {sig}")),
        (None, None) => {}
    }
    if exit.peak_kib > limit_kib && exit.killed.is_none() {
        problems.push(format!("peak RSS {} MiB is over the {} MiB limit", exit.peak_kib / 1024, limit_kib / 1024));
    }
    problems
}

/// An outcome not allowed (`processing` never is), the wrong message, a model call for a job
/// refused on its inputs, an exit code that disagrees, missing outputs.
fn status_problems(expect: Expect, exit: &harness::Exit, status: &Value, local: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let got = outcome(status);
    if !expect.outcomes.contains(&got.as_str()) {
        problems.push(format!("ended {got}, expected {}", expect.outcomes.join(" or ")));
    }
    let message = status["error"]["message"].as_str().unwrap_or("");
    if let Some(want) = expect.message.filter(|w| !message.contains(w)) {
        problems.push(format!("the error message does not say {want:?}: {message:?}"));
    }
    if INPUT_ERRORS.contains(&got.as_str()) && !status["diagnostics"]["bedrockRequestId"].is_null() {
        problems.push(format!("called the model, then failed with {got}"));
    }
    if (exit.code == Some(0)) != (got == "succeeded") {
        problems.push(format!("exit code {:?} disagrees with the status {got}", exit.code));
    }
    if got == "succeeded" {
        problems.extend(check_outputs(status, local));
    }
    problems
}

/// The outputs a succeeded job names exist, and its comparison sheet decodes within JPEG's
/// 65,500-pixel sides.
fn check_outputs(status: &Value, local: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let images: Vec<&str> = status["outputs"]["images"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if images.is_empty() {
        problems.push("succeeded without output images".into());
    }
    for key in images {
        if let Err(e) = image::image_dimensions(local.join(key)) {
            problems.push(format!("output {key} unreadable: {e}"));
        }
    }
    match status["outputs"]["sheet"].as_str() {
        None => problems.push("succeeded without a sheet".into()),
        Some(key) => match image::open(local.join(key)) {
            Ok(sheet) if sheet.width() > 65_500 || sheet.height() > 65_500 => {
                problems.push(format!("sheet is {}x{}", sheet.width(), sheet.height()))
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("sheet {key} does not decode: {e}")),
        },
    }
    problems
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// A scratch folder under the system's temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs every case, `WORKERS` at a time; the rows come back in case order.
fn run_all(cases: &[Case], root: &Path, runner: &harness::Runner) -> Vec<Row> {
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let row = run_case(i, case, root, runner);
                rows.lock().unwrap()[i] = Some(row);
            });
        }
    });
    rows.into_inner().unwrap().into_iter().map(|r| r.expect("every case ran")).collect()
}

fn print_table(rows: &[Row], limit_mib: u64, elapsed: Duration) {
    println!("\nmemory limit {limit_mib} MiB (template.yaml MemorySize); peak = ru_maxrss of the job's process");
    println!("{:>3}  {:<46} {:<40} {:<18} {:>8} {:>6}", "#", "case", "expected", "got", "peak MiB", "ms");
    for (i, r) in rows.iter().enumerate() {
        let verdict = if r.problems.is_empty() { "ok" } else { "FAIL" };
        println!("{i:>3}  {:<46} {:<40} {:<18} {:>8.1} {:>6}  {verdict}", r.name, r.expected, r.got, r.peak_mib, r.ms);
    }
    let failed = rows.iter().filter(|r| !r.problems.is_empty()).count();
    let peak = rows.iter().map(|r| r.peak_mib).fold(0.0, f64::max);
    println!(
        "memory limits: {} of {} cases held, highest peak {peak:.1} MiB, {:.1} s in all\n",
        rows.len() - failed,
        rows.len(),
        elapsed.as_secs_f64()
    );
}

#[test]
fn hostile_uploads_stay_within_the_function_memory() {
    let limit_mib = harness::template_memory_mib();
    let limit_kib = limit_mib * MIB / 1024;
    let cases = all_cases();
    let scratch = Scratch(std::env::temp_dir().join(format!("tryon-memory-limits-{}", std::process::id())));
    let runner = harness::Runner::new(&scratch.0, limit_kib, CASE_TIMEOUT);
    let started = Instant::now();
    let rows = run_all(&cases, &scratch.0, &runner);
    print_table(&rows, limit_mib, started.elapsed());
    let failures: Vec<String> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.problems.is_empty())
        .map(|(i, r)| format!("#{i} {}:\n    {}", r.name, r.problems.join("\n    ")))
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The generators themselves
// ---------------------------------------------------------------------------------------

#[test]
fn zlib_zeros_inflate_to_exactly_that_many_zeros() {
    // Grey 8-bit rows of w zeros plus a filter byte: streams of 2, 259, 260, 2107 and 1,001,000 bytes.
    for (w, h) in [(1, 1), (258, 1), (259, 1), (300, 7), (1000, 1000)] {
        let file = png::zeros(w, h, 8, png::Colour::Grey, false);
        let mut reader = ::png::Decoder::new(std::io::Cursor::new(file)).read_info().expect("header");
        let mut buf = vec![1; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{w}x{h}: {e}"));
        assert!(buf.iter().all(|&b| b == 0), "{w}x{h}");
    }
}

#[test]
fn inserted_chunks_keep_the_png_valid() {
    let with_profile = png::with_chunks(&hoodie(), At::AfterIhdr, vec![png::iccp(1_000_000)]);
    let moved = png::with_chunks(&with_profile, At::AfterIdat, png::texts(3));
    let reader = ::png::Decoder::new(std::io::Cursor::new(&moved)).read_info().expect("header");
    assert_eq!(reader.info().icc_profile.as_ref().map(|p| p.len()), Some(1_000_000));
    assert_eq!(
        image::load_from_memory(&moved).expect("decodes").to_rgb8(),
        image::load_from_memory(&hoodie()).unwrap().to_rgb8()
    );
    let texted = png::with_chunks(&palette(), At::AfterPlte, png::texts(2));
    assert_eq!(image::load_from_memory(&texted).expect("decodes"), image::load_from_memory(&palette()).unwrap());
}

#[test]
fn interlaced_and_palette_zero_images_decode() {
    for (depth, colour, interlaced) in
        [(8, png::Colour::Rgba, true), (8, png::Colour::Palette, false), (1, png::Colour::Grey, true)]
    {
        let img = image::load_from_memory(&png::zeros(61, 37, depth, colour, interlaced)).expect("decodes");
        assert_eq!((img.width(), img.height()), (61, 37));
    }
}

#[test]
fn flat_jpegs_decode_as_mid_grey_with_both_decoders() {
    for components in [1, 3] {
        let file = jpeg::flat(100, 37, components);
        let img = image::load_from_memory(&file).expect("the image crate decodes it").to_rgb8();
        assert!(img.pixels().all(|p| p.0.iter().all(|&v| v.abs_diff(128) <= 1)), "{components} channel(s)");
        let turbo = turbojpeg::decompress(&file, turbojpeg::PixelFormat::RGB).expect("libjpeg-turbo decodes it");
        assert_eq!((turbo.width, turbo.height), (100, 37));
    }
}

#[test]
fn coding_processes_are_what_they_claim() {
    // SOF markers: C9 arithmetic sequential, CA arithmetic progressive, C3 lossless, C1 extended (12-bit).
    for (process, sof) in [
        (jpeg::Process::Arithmetic, 0xC9),
        (jpeg::Process::ArithmeticProgressive, 0xCA),
        (jpeg::Process::Lossless, 0xC3),
        (jpeg::Process::TwelveBit, 0xC1),
    ] {
        let file = jpeg::coded(process, 64, 48);
        assert!(file.windows(2).any(|w| w == [0xFF, sof]), "{process:?} has no FF {sof:X}");
    }
}

#[test]
fn icc_segments_and_webp_profiles_are_read_back() {
    let jpeg = jpeg::with_icc_segments(&person(), 3 * 65519 + 10);
    let mut decoder =
        image::ImageReader::new(std::io::Cursor::new(&jpeg)).with_guessed_format().unwrap().into_decoder().unwrap();
    assert_eq!(image::ImageDecoder::icc_profile(&mut decoder).unwrap().map(|p| p.len()), Some(3 * 65519 + 10));
    let webp = webp::with_iccp(60, 80, 5001, None);
    let mut decoder =
        image::ImageReader::new(std::io::Cursor::new(&webp)).with_guessed_format().unwrap().into_decoder().unwrap();
    assert_eq!(image::ImageDecoder::icc_profile(&mut decoder).unwrap().map(|p| p.len()), Some(5001));
    assert_eq!(image::load_from_memory(&webp).unwrap().to_rgb8(), picture::photo(60, 80));
}
