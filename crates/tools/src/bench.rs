//! The benchmark behind `tryon bench`: the per-job local work of the real pipeline on the
//! shared job (12 MP EXIF-rotated phone JPEG, 4 MP alpha PNG garment, a model reply), run
//! interleaved with the Pillow peer baseline in the same process run, next to the floor (the
//! sum of the single primitives measured here), plus the peak RSS of one whole invocation and
//! the cold start of the Lambda binary, each in its own process. Prints figures; asserts
//! nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tryon::core::backend::Backend;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{ImageDecoder, ImageReader, RgbImage};

use tryon::backends::{nova, EncodedImage, RequestImages};
use tryon::core::error::{ErrorCode, JobError};
use tryon::core::image::colour::to_srgb;
use tryon::core::image::decode::{decode_pixels, flatten, into_rgb_on_white};
use tryon::core::image::geometry::pad;
use tryon::core::image::orient::orient;
use tryon::core::image::planes::{decode_resized, Resized};
use tryon::core::image::prepare::Target;
use tryon::core::image::probe::{probe, InputInfo, Probe};
use tryon::core::image::resize::resize_rgb;
use tryon::core::image::{
    encode, encode_prepared, encode_with, finish_output, layout, prepare, Chroma, Encoding, Layout, Prepared,
};
use tryon::core::input_limits::Limits;
use tryon::core::input_limits::RequestEncoding;
use tryon::core::manifest;

/// Milliseconds per stage of one run, in order.
pub type Stages = Vec<(&'static str, f64)>;

/// The shared job's inputs, read once.
pub struct Job {
    pub person: Vec<u8>,
    pub garment: Vec<u8>,
    /// The reply in Nova's shape (`images`, `maskImage`).
    pub reply: Vec<u8>,
}

impl Job {
    /// Reads `person.jpg`, `garment.png` and `response.json` (`result`/`mask` fields).
    pub fn load(dir: &Path) -> Result<Job, String> {
        let read = |n: &str| std::fs::read(dir.join(n)).map_err(|e| format!("{}: {e}", dir.join(n).display()));
        let response: serde_json::Value =
            serde_json::from_slice(&read("response.json")?).map_err(|e| format!("response.json: {e}"))?;
        let reply = serde_json::json!({ "images": [response["result"]], "maskImage": response["mask"] });
        Ok(Job {
            person: read("person.jpg")?,
            garment: read("garment.png")?,
            reply: serde_json::to_vec(&reply).unwrap_or_default(),
        })
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn limits() -> Limits {
    Limits::default()
}

fn spec() -> manifest::JobSpec {
    manifest::parse(br#"{"source": "person.jpg", "garment": "garment.png"}"#, "uploads/bench/", &[Backend::NovaCanvas])
        .unwrap_or_else(|_| unreachable!())
}

fn encoding_for(choice: RequestEncoding, p: &Prepared) -> Encoding {
    match choice {
        RequestEncoding::Auto => tryon::pipeline::choose_encoding(p.input.format),
        RequestEncoding::Jpeg => Encoding::Jpeg,
        RequestEncoding::Png => Encoding::Png,
    }
}

/// Milliseconds spent in each step of [`prepare_timed`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct StepTimes {
    decode: f64,
    convert: f64,
    resize: f64,
    orient: f64,
    color: f64,
    pad: f64,
}

/// `image::prepare_with`, its steps timed one by one: the same steps in the same order (a
/// test checks that both give the same result). The 4:2:0 route, which decodes, resizes and
/// turns upright in one step, counts as decoding.
fn prepare_timed(bytes: &[u8], what: &str, chroma: Chroma) -> Result<(Prepared, StepTimes), JobError> {
    let mut times = StepTimes::default();
    let t = Instant::now();
    let probe = probe(bytes, &limits(), what)?;
    let target = Target::of(&probe, chroma, &limits().canvas);
    let Probe { decoder, jpeg, orientation, info, icc } = probe;
    let planes_route =
        jpeg.as_ref().and_then(|j| decode_resized(bytes, j, target.stored, orientation, target.half_chroma));
    let (mut upright, planes, had_alpha) = match planes_route {
        Some(resized) => {
            times.decode = ms(t);
            match resized {
                Resized::Rgb(rgb) => (rgb, None, false),
                Resized::Planes(p, rgb) => (rgb, Some(Arc::new(p)), false),
            }
        }
        None => {
            let pixels = decode_pixels(decoder, bytes, jpeg.as_ref(), what)?;
            times.decode = ms(t);
            let t = Instant::now();
            let (rgb, had_alpha) = flatten(pixels)?;
            times.convert = ms(t);
            let t = Instant::now();
            let resized = resize_rgb(rgb, target.stored.0, target.stored.1)?;
            times.resize = ms(t);
            let t = Instant::now();
            let upright = orient(resized, orientation);
            times.orient = ms(t);
            (upright, None, had_alpha)
        }
    };
    let mut input = InputInfo { had_alpha, ..info };
    let t = Instant::now();
    if let Some(icc) = icc {
        input.color_profile = Some(to_srgb(&mut upright, &icc));
    }
    times.color = ms(t);
    let t = Instant::now();
    let canvas = pad(upright, &target.layout);
    times.pad = ms(t);
    Ok((Prepared { canvas, layout: target.layout, input, planes }, times))
}

fn prepare_and_encode(
    bytes: &[u8],
    what: &str,
    choice: RequestEncoding,
) -> Result<(Prepared, Vec<u8>, StepTimes, f64), JobError> {
    let (p, times) = prepare_timed(bytes, what, Chroma::for_request(choice))?;
    let t = Instant::now();
    let encoded = encode_prepared(&p, encoding_for(choice, &p), tryon::pipeline::subsample(choice, &p.input))?;
    Ok((p, encoded, times, ms(t)))
}

/// One job's local work through the real code: both inputs (decode, orient, flatten, fit,
/// encode, body), then the reply (parse, crop or pass through, write the outputs to `out`).
/// With `parallel`, the source and the garment are prepared on two threads.
pub fn pipeline(job: &Job, choice: RequestEncoding, parallel: bool, out: &Path) -> Result<(Stages, usize), JobError> {
    let start = Instant::now();
    let mut stages: Stages = Vec::new();
    let ((src, src_enc, st, st_enc), (gar, gar_enc, gt, gt_enc)) = if parallel {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| prepare_and_encode(&job.person, "source", choice));
            let b = prepare_and_encode(&job.garment, "garment", choice);
            (a.join().unwrap_or_else(|_| Err(JobError::new(ErrorCode::Internal, "thread panicked"))), b)
        });
        (a?, b?)
    } else {
        (prepare_and_encode(&job.person, "source", choice)?, prepare_and_encode(&job.garment, "garment", choice)?)
    };
    if !parallel {
        stages.extend([
            ("p_decode", st.decode),
            ("p_convert", st.convert),
            ("p_resize", st.resize),
            ("p_orient", st.orient),
            ("p_color", st.color),
            ("p_encode", st_enc),
            ("g_decode", gt.decode),
            ("g_flatten", gt.convert),
            ("g_resize", gt.resize + gt.orient + gt.color + gt.pad),
            ("g_encode", gt_enc),
        ]);
    } else {
        stages.push(("inputs_parallel", ms(start)));
    }
    let t = Instant::now();
    let mut tiles = vec![
        tryon::core::sheet::tile_of(&src.canvas, src.layout.content, "Source")?,
        tryon::core::sheet::tile_of(&gar.canvas, gar.layout.content, "Garment")?,
    ];
    stages.push(("sheet_tiles", ms(t)));
    let t = Instant::now();
    let images = RequestImages { source: encoded(&src_enc, &src), reference: encoded(&gar_enc, &gar), mask: None };
    let body = nova::request_body(&spec(), images);
    stages.push(("body_b64_json", ms(t)));
    let body_len = body.len();
    drop(body);
    let layout = src.layout;
    drop((src, gar, src_enc, gar_enc));
    let t = Instant::now();
    let reply = nova::parse_reply(&job.reply)?;
    stages.push(("r_parse_b64", ms(t)));
    let t = Instant::now();
    // The shared reply is 1024x1024 whatever the source: map it as the pipeline would.
    let result = finish_output(&reply.images[0], &layout, &limits(), "result")?;
    let mask = reply.mask.as_deref().map(|m| finish_output(m, &layout, &limits(), "mask")).transpose()?;
    stages.push(("r_finish", ms(t)));
    let t = Instant::now();
    if let Some(m) = &mask {
        tiles.push(tryon::core::sheet::tile_from_bytes(m, "Mask")?);
    }
    tiles.push(tryon::core::sheet::tile_from_bytes(&result, "Result")?);
    let sheet = tryon::core::sheet::encode(&tiles)?;
    stages.push(("r_sheet", ms(t)));
    let t = Instant::now();
    let io = |e: std::io::Error| JobError::new(ErrorCode::Internal, e.to_string());
    std::fs::write(out.join("result.png"), &result).map_err(io)?;
    if let Some(m) = mask {
        std::fs::write(out.join("mask.png"), m).map_err(io)?;
    }
    std::fs::write(out.join("sheet.jpg"), sheet).map_err(io)?;
    stages.push(("r_write", ms(t)));
    stages.push(("total", ms(start)));
    Ok((stages, body_len))
}

/// A prepared image's encoded bytes as a request image.
fn encoded<'a>(bytes: &'a [u8], p: &Prepared) -> EncodedImage<'a> {
    let mime = tryon::core::image::format::sniff(bytes).map_or("image/png", |f| match f {
        tryon::core::image::InputFormat::Jpeg => "image/jpeg",
        _ => "image/png",
    });
    EncodedImage { bytes, mime, width: p.canvas.width(), height: p.canvas.height() }
}

/// The single primitives of the job, each timed alone: their sum is the floor.
pub fn primitives(job: &Job, out: &Path) -> Result<BTreeMap<&'static str, f64>, JobError> {
    let bad = |e: String| JobError::new(ErrorCode::Internal, e);
    let mut m = BTreeMap::new();
    // The fastest decode available: zune-jpeg or libjpeg-turbo to RGB, libjpeg-turbo to planes.
    let t = Instant::now();
    let person = image::load_from_memory(&job.person).map_err(|e| bad(e.to_string()))?.into_rgb8();
    let mut decode = ms(t);
    if let Some(hd) = tryon::core::image::jpeg::header(&job.person) {
        let t = Instant::now();
        drop(tryon::core::image::jpeg::decode_rgb(&job.person, &hd));
        decode = decode.min(ms(t));
        let t = Instant::now();
        if tryon::core::image::jpeg::decode_planes(&job.person, &hd).is_some() {
            decode = decode.min(ms(t));
        }
    }
    m.insert("p_decode", decode);
    let target = layout(person.height(), person.width(), &tryon::core::backend::Backend::NovaCanvas.canvas());
    let (w, h) = (target.content.height, target.content.width);
    let src = fast_image_resize::images::Image::from_vec_u8(
        person.width(),
        person.height(),
        person.into_raw(),
        fast_image_resize::PixelType::U8x3,
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut dst = fast_image_resize::images::Image::new(w, h, fast_image_resize::PixelType::U8x3);
    let t = Instant::now();
    fast_image_resize::Resizer::new().resize(&src, &mut dst, None).map_err(|e| bad(e.to_string()))?;
    m.insert("p_resize", ms(t));
    drop(src);
    let small = RgbImage::from_raw(w, h, dst.into_vec()).ok_or_else(|| bad("resize".into()))?;
    let t = Instant::now();
    let upright = image::imageops::rotate90(&small);
    m.insert("p_orient", ms(t));
    drop(small);
    let t = Instant::now();
    let p_jpeg = encode_with(&upright, Encoding::Jpeg, true)?;
    m.insert("p_encode_jpeg", ms(t));
    let t = Instant::now();
    let p_png = encode(&upright, Encoding::Png)?;
    m.insert("p_encode_png", ms(t));
    drop(upright);
    let t = Instant::now();
    let garment = image::load_from_memory(&job.garment).map_err(|e| bad(e.to_string()))?;
    m.insert("g_decode", ms(t));
    let t = Instant::now();
    let garment = into_rgb_on_white(garment)?;
    m.insert("g_flatten", ms(t));
    let t = Instant::now();
    let g_jpeg = encode(&garment, Encoding::Jpeg)?;
    m.insert("g_encode_jpeg", ms(t));
    let t = Instant::now();
    let g_png = encode(&garment, Encoding::Png)?;
    m.insert("g_encode_png", ms(t));
    drop(garment);
    let t = Instant::now();
    let b = (B64.encode(&p_jpeg), B64.encode(&g_png));
    m.insert("base64_jpeg_png", ms(t));
    drop(b);
    let t = Instant::now();
    let b = (B64.encode(&p_png), B64.encode(&g_png));
    m.insert("base64_png_png", ms(t));
    drop(b);
    let t = Instant::now();
    let b = (B64.encode(&p_jpeg), B64.encode(&g_jpeg));
    m.insert("base64_jpeg_jpeg", ms(t));
    drop(b);
    let reply: serde_json::Value = serde_json::from_slice(&job.reply).map_err(|e| bad(e.to_string()))?;
    let t = Instant::now();
    let r = B64.decode(reply["images"][0].as_str().unwrap_or_default()).map_err(|e| bad(e.to_string()))?;
    let mk = B64.decode(reply["maskImage"].as_str().unwrap_or_default()).map_err(|e| bad(e.to_string()))?;
    m.insert("r_b64", ms(t));
    let t = Instant::now();
    std::fs::write(out.join("floor-result.png"), &r).map_err(|e| bad(e.to_string()))?;
    std::fs::write(out.join("floor-mask.png"), &mk).map_err(|e| bad(e.to_string()))?;
    m.insert("r_write", ms(t));
    Ok(m)
}

/// The floor for a request encoding: decode, resize, rotate and encode the source; decode,
/// flatten and encode the garment; base64; decode and write the reply.
pub fn floor(p: &BTreeMap<&'static str, f64>, encoding: &str) -> f64 {
    let g = |k: &str| p.get(k).copied().unwrap_or(0.0);
    let (pe, ge, b) = match encoding {
        "png" => (g("p_encode_png"), g("g_encode_png"), g("base64_png_png")),
        "jpeg" => (g("p_encode_jpeg"), g("g_encode_jpeg"), g("base64_jpeg_jpeg")),
        _ => (g("p_encode_jpeg"), g("g_encode_png"), g("base64_jpeg_png")),
    };
    g("p_decode")
        + g("p_resize")
        + g("p_orient")
        + pe
        + g("g_decode")
        + g("g_flatten")
        + ge
        + b
        + g("r_b64")
        + g("r_write")
}

/// Peak signal-to-noise ratio of `encoded` against `reference` pixels, in dB.
pub fn psnr(reference: &RgbImage, encoded: &[u8]) -> f64 {
    let Ok(decoded) = image::load_from_memory(encoded) else { return 0.0 };
    let decoded = decoded.into_rgb8();
    let mse =
        reference.as_raw().iter().zip(decoded.as_raw()).map(|(a, b)| (*a as f64 - *b as f64).powi(2)).sum::<f64>()
            / reference.as_raw().len().max(1) as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// One Pillow baseline job: the second (warm) line of `pillow_baseline.py --iters 2`.
pub fn pillow(python: &Path, script: &Path, data: &Path, out: &Path, fmt: &str) -> Option<(f64, serde_json::Value)> {
    let output = Command::new(python)
        .arg(script)
        .args([
            "--data",
            &data.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--fmt",
            fmt,
            "--iters",
            "2",
        ])
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&output.stdout).lines().rfind(|l| l.starts_with('{'))?.to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).ok()?;
    Some((v["total_ms"].as_f64()?, v))
}

/// The largest inputs the memory budget of the default function accepts, as job folders
/// (`person.jpg` replaced, the shared garment kept): a `MAX_INPUT_PIXELS` photo, 8-bit and
/// 16-bit RGBA PNGs just inside the budget, and one just past it (which must be refused).
/// Smooth gradients, so the files stay small.
pub fn largest_inputs(data: &Path, out: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let limits = tryon::core::input_limits::Limits::default();
    let side = |bytes_per_px: u64| {
        // decoded + conversion copy + canvas + bands + the upload itself (≤ 1 MiB) = budget
        let fixed = tryon::core::budget::canvas_bytes() + (8 << 20) + (1 << 20);
        ((limits.max_decode_alloc.saturating_sub(fixed) / (bytes_per_px + 4)) as f64).sqrt() as u32
    };
    let (jw, jh) = (8660u32, (limits.max_input_pixels / 8660) as u32);
    let cases: Vec<(String, Vec<u8>)> = vec![
        (format!("JPEG {jw}x{jh} (MAX_INPUT_PIXELS)"), {
            let img = RgbImage::from_fn(jw, jh, |x, y| image::Rgb([(x / 34) as u8, (y / 23) as u8, 128]));
            tryon::core::image::jpeg::encode_rgb(&img, 90, true)?
        }),
        rgba_png("PNG RGBA 8-bit", side(4), false)?,
        rgba_png("PNG RGBA 16-bit", side(8), true)?,
        // The boundary: a tenth more pixels must be refused, not attempted.
        rgba_png("PNG RGBA 16-bit, past it", side(8) * 105 / 100, true)?,
    ];
    let garment = std::fs::read(data.join("garment.png")).map_err(|e| e.to_string())?;
    let mut folders = Vec::new();
    for (i, (name, bytes)) in cases.into_iter().enumerate() {
        let dir = out.join(format!("largest-{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("person.jpg"), bytes).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("garment.png"), &garment).map_err(|e| e.to_string())?;
        folders.push((name, dir));
    }
    Ok(folders)
}

fn rgba_png(name: &str, side: u32, deep: bool) -> Result<(String, Vec<u8>), String> {
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    let res = if deep {
        let img = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::from_fn(side, side, |x, y| {
            image::Rgba([(x * 16) as u16, (y * 16) as u16, 30_000, 65_535 - (x % 256) as u16])
        });
        image::DynamicImage::ImageRgba16(img).write_with_encoder(enc)
    } else {
        let img = image::RgbaImage::from_fn(side, side, |x, y| image::Rgba([(x / 16) as u8, (y / 16) as u8, 90, 200]));
        image::DynamicImage::ImageRgba8(img).write_with_encoder(enc)
    };
    res.map_err(|e| e.to_string())?;
    Ok((format!("{name} {side}x{side}"), out))
}

/// Peak resident memory of this process in MiB (`VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Milliseconds from starting the Lambda binary to its first runtime-API poll, served by a
/// throwaway listener standing in for the runtime API.
pub fn cold_start(lambda: &Path) -> Result<f64, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(lambda)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "tryon")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", lambda.display()))?;
    listener.set_nonblocking(false).map_err(|e| e.to_string())?;
    let (mut conn, _) = listener.accept().map_err(|e| e.to_string())?;
    let mut first = [0u8; 64];
    let _ = conn.read(&mut first);
    let elapsed = ms(started);
    let _ = child.kill();
    let _ = child.wait();
    if !String::from_utf8_lossy(&first).starts_with("GET /2018-06-01/runtime/invocation/next") {
        return Err(format!("unexpected first request: {:?}", String::from_utf8_lossy(&first)));
    }
    Ok(elapsed)
}

/// Starts `tryon emulator` as a child process and returns it with its address.
pub fn spawn_emulator(tryon: &Path) -> Result<(std::process::Child, String), String> {
    let mut child = Command::new(tryon)
        .args(["emulator", "--port", "0"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(line)) = lines.next() {
            if let Some(url) = line.split("listening on ").nth(1) {
                // Keep draining stderr so the child never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                return Ok((child, url.trim().to_owned()));
            }
        }
    }
    let _ = child.kill();
    Err("the emulator did not start".into())
}

/// Median of a sample (which it sorts).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// Minimum of a sample.
pub fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Writes a line to stdout and flushes (the benchmark's progress is watched live).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The shared job's two images prepared and encoded (the pipeline's `auto` choice) for
/// `backend`'s limits: milliseconds, the source's canvas size, and the encoded bytes of both.
pub fn prepare_for(job: &Job, backend: Backend) -> Result<(f64, (u32, u32), usize), JobError> {
    let limits = Limits { canvas: backend.canvas(), ..limits() };
    let t = Instant::now();
    let src = prepare(&job.person, &limits, "source")?;
    let gar = prepare(&job.garment, &limits, "garment")?;
    let mut bytes = 0;
    for p in [&src, &gar] {
        let enc = encoding_for(RequestEncoding::Auto, p);
        bytes += tryon::core::image::encode_prepared(p, enc, p.input.chroma_subsampled)?.len();
    }
    Ok((ms(t), (src.layout.canvas_width, src.layout.canvas_height), bytes))
}

/// The prepared source of the shared job, for PSNR.
pub fn prepared_source(job: &Job) -> Result<(RgbImage, Layout), JobError> {
    let p = prepare(&job.person, &limits(), "source")?;
    Ok((p.canvas, p.layout))
}

/// The garment flattened, at its prepared size.
pub fn prepared_garment(job: &Job) -> Result<RgbImage, JobError> {
    Ok(prepare(&job.garment, &limits(), "garment")?.canvas)
}

/// Dimensions and EXIF orientation of the shared photo, for the report.
pub fn describe(bytes: &[u8]) -> String {
    let reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format();
    match reader.ok().and_then(|r| r.into_decoder().ok()) {
        Some(mut d) => {
            let (w, h) = d.dimensions();
            let o = d.orientation().map(|o| o.to_exif()).unwrap_or(1);
            format!("{w}x{h}, EXIF orientation {o}, {:.1} MB", bytes.len() as f64 / 1e6)
        }
        None => "unreadable".into(),
    }
}

/// The default location of the shared bench data and baseline script, beside the project.
pub fn default_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/data")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark times the pipeline's own steps: it must prepare exactly what the
    /// pipeline prepares, on each route (4:2:0 planes with either chroma, RGB decode with
    /// alpha, padding, colour conversion).
    #[test]
    fn the_timed_steps_prepare_what_the_pipeline_prepares() {
        let mut garment = Vec::new();
        image::DynamicImage::ImageRgba8(crate::samples::garment(300))
            .write_to(&mut std::io::Cursor::new(&mut garment), image::ImageFormat::Png)
            .unwrap();
        let mut adobe = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut adobe, 90);
        enc.add_icc_profile(&moxcms::ColorProfile::new_adobe_rgb().encode().unwrap()).unwrap();
        enc.encode(crate::samples::person(300, 400).as_raw(), 300, 400, jpeg_encoder::ColorType::Rgb).unwrap();
        let inputs = [
            crate::samples::phone_jpeg(&crate::samples::person(641, 479), 6).unwrap(),
            crate::samples::phone_jpeg(&crate::samples::person(2000, 400), 1).unwrap(),
            garment,
            adobe,
        ];
        for (i, bytes) in inputs.iter().enumerate() {
            for chroma in [Chroma::Full, Chroma::Half] {
                let (timed, _) = prepare_timed(bytes, "input", chroma).unwrap();
                let plain = tryon::core::image::prepare_with(bytes, &limits(), "input", chroma).unwrap();
                let what = format!("input {i}, {chroma:?}");
                assert_eq!(
                    (&timed.canvas, timed.layout, &timed.input),
                    (&plain.canvas, plain.layout, &plain.input),
                    "{what}"
                );
                let planes = |p: &Prepared| p.planes.as_ref().map(|p| (p.y.clone(), p.u.clone(), p.v.clone()));
                assert_eq!(planes(&timed), planes(&plain), "{what}");
            }
        }
    }
}
