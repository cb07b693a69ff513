//! Hostile and unusual inputs: every case of `tests/corpus/cases.json` through the real
//! handler against moto and the emulator. Each must end in its documented status with no
//! panic and a successful invocation; failures must cost no model call.
//!
//! The corpus files are checked in; `cargo test --test hostile -- --ignored generate_corpus`
//! rewrites them.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use support::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The manifest; default `{"source": "person.jpg", "garment": "garment.png"}`.
    #[serde(default)]
    manifest: Option<Value>,
    /// Raw manifest bytes from a corpus file instead of `manifest`.
    #[serde(default)]
    manifest_file: Option<String>,
    /// Job-folder name → corpus file, on top of person.jpg and garment.png.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Names of the default files to leave out.
    #[serde(default)]
    omit: Vec<String>,
    #[serde(default)]
    max_image_bytes: Option<u64>,
    /// An error code, or "succeeded".
    expect: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_case_ends_in_its_documented_status() {
    let cases: Vec<Case> = serde_json::from_slice(&std::fs::read(corpus_dir().join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let mut config = tryon::config::Config { emit_metrics: false, ..tryon_tools::wiring::nova_config() };
        if let Some(m) = case.max_image_bytes {
            config.limits.max_image_bytes = m;
        }
        let w = World::with_config(config).await;
        let job = format!("case-{i}");
        let mut files: BTreeMap<String, String> = BTreeMap::from([
            ("person.jpg".to_string(), "good-person.jpg".to_string()),
            ("garment.png".to_string(), "good-garment.png".to_string()),
        ]);
        for o in &case.omit {
            files.remove(o);
        }
        files.extend(case.files.clone());
        for (name, file) in &files {
            let bytes = std::fs::read(corpus_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            w.put(&format!("uploads/{job}/{name}"), bytes).await;
        }
        let manifest = match (&case.manifest_file, &case.manifest) {
            (Some(f), _) => std::fs::read(corpus_dir().join(f)).unwrap(),
            (None, Some(m)) => serde_json::to_vec(m).unwrap(),
            (None, None) => serde_json::to_vec(&json!({"source": "person.jpg", "garment": "garment.png"})).unwrap(),
        };
        w.put(&format!("uploads/{job}/job.json"), manifest).await;
        let result = w.deliver(&format!("uploads/{job}/job.json")).await;
        let status = w.status(&job).await;
        let got = if status["state"] == "succeeded" {
            "succeeded".to_string()
        } else {
            status["error"]["code"].as_str().unwrap_or("?").to_string()
        };
        *by_code.entry(got.clone()).or_default() += 1;
        let calls = w.calls().len();
        let ok = result.is_ok()
            && got == case.expect
            && (got == "succeeded" || (calls == 0 || status["error"]["code"] == "content_filtered"));
        println!(
            "{:<34} expect {:<18} got {:<18} calls {calls} {}",
            case.name,
            case.expect,
            got,
            if ok { "" } else { "  <-- MISMATCH" }
        );
        if got != "succeeded" {
            let msg = status["error"]["message"].as_str().unwrap_or_default();
            assert!(!msg.is_empty(), "{}: no message", case.name);
            assert_eq!(status["error"]["retryable"], false, "{}: hostile input is never retried", case.name);
        }
        if !ok {
            failures.push(format!(
                "{}: expected {}, got {got} (invocation ok: {}, calls: {calls}): {}",
                case.name,
                case.expect,
                result.is_ok(),
                status["error"]["message"]
            ));
        }
    }
    println!("corpus: {} cases; outcomes: {by_code:?}", cases.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Rewrites the corpus files.
#[test]
#[ignore]
fn generate_corpus() {
    use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
    use std::io::Cursor;
    let dir = corpus_dir();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let encode = |img: DynamicImage, f: ImageFormat| {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), f).unwrap();
        out
    };
    let person = tryon_tools::samples::person(360, 480);
    let person_jpg = tryon_tools::samples::phone_jpeg(&person, 1).unwrap();
    write("good-person.jpg", &person_jpg);
    write("good-garment.png", &tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(320)));
    write("good-mask.png", &tryon_tools::samples::png_rgb(&tryon_tools::samples::torso_mask(360, 480)));
    let person_png = tryon_tools::samples::png_rgb(&person);
    let webp = encode(DynamicImage::ImageRgb8(person.clone()), ImageFormat::WebP);
    write("good-person.webp", &webp);

    // Broken files.
    write("truncated.jpg", &person_jpg[..person_jpg.len() / 3]);
    let mut corrupt = person_jpg.clone();
    for b in corrupt.iter_mut().skip(2).take(600) {
        *b = 0xA5;
    }
    write("corrupt-header.jpg", &corrupt);
    write("truncated.png", &person_png[..person_png.len() / 2]);
    let mut bad_crc = person_png.clone();
    let idat = bad_crc.windows(4).position(|w| w == b"IDAT").unwrap();
    for b in bad_crc.iter_mut().skip(idat + 4).take(64) {
        *b ^= 0xFF;
    }
    write("corrupt-data.png", &bad_crc);
    write("truncated.webp", &webp[..webp.len() / 2]);
    let mut bad_webp = webp.clone();
    for b in bad_webp.iter_mut().skip(20).take(200) {
        *b = 0x5A;
    }
    write("corrupt.webp", &bad_webp);
    write("empty.jpg", b"");
    write("text.jpg", b"This is a text file that someone named person.jpg.\n");
    write("page.jpg", b"<!DOCTYPE html><html><body>not a photo</body></html>");

    // Headers that promise too much (decompression bombs): only the header is real.
    let png_header = |w: u32, h: u32| {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            out.extend((data.len() as u32).to_be_bytes());
            let mut c = kind.to_vec();
            c.extend(data);
            out.extend(&c);
            out.extend(crc32fast::hash(&c).to_be_bytes());
        };
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(b"IEND", &[]);
        out
    };
    write("bomb-100000x100000.png", &png_header(100_000, 100_000));
    write("bomb-20000x100.png", &png_header(20_000, 100));
    // A real 7100x7100 black PNG: 50.4 MP, a few hundred KB.
    let mut big = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut big, 7100, 7100);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&vec![0u8; 7100 * 7100]).unwrap();
    }
    write("bomb-7100x7100.png", &big);

    // Valid but unusual.
    write(
        "thin-1x10000.png",
        &tryon_tools::samples::png_rgb(&RgbImage::from_fn(1, 10_000, |_, y| Rgb([(y % 256) as u8, 90, 160]))),
    );
    write("tiny-1x1.png", &tryon_tools::samples::png_rgb(&RgbImage::from_pixel(1, 1, Rgb([200, 30, 40]))));
    write(
        "panorama-3000x500.jpg",
        &tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(3000, 500), 1).unwrap(),
    );
    write(
        "grey.jpg",
        &encode(DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(person.clone()).to_luma8()), ImageFormat::Jpeg),
    );
    write(
        "rgb16.png",
        &encode(DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(person.clone()).to_rgb16()), ImageFormat::Png),
    );
    write(
        "rgba16-translucent.png",
        &encode(
            DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(300, 400, |x, _| {
                image::Rgba([40000u16, 9000, 9000, (x * 200) as u16])
            })),
            ImageFormat::Png,
        ),
    );
    let mut cmyk = Vec::new();
    {
        let pixels: Vec<u8> = person
            .pixels()
            .flat_map(|p| {
                let (r, g, b) = (p[0] as f32 / 255.0, p[1] as f32 / 255.0, p[2] as f32 / 255.0);
                let k = 1.0 - r.max(g).max(b);
                let f = |c: f32| if k >= 1.0 { 0 } else { (((1.0 - c - k) / (1.0 - k)) * 255.0) as u8 };
                [f(r), f(g), f(b), (k * 255.0) as u8]
            })
            .collect();
        let enc = jpeg_encoder::Encoder::new(&mut cmyk, 90);
        enc.encode(&pixels, 360, 480, jpeg_encoder::ColorType::Cmyk).unwrap();
    }
    write("cmyk.jpg", &cmyk);
    let mut palette = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut palette, 400, 400);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![255, 255, 255, 200, 30, 45, 40, 50, 90, 120, 120, 130]);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..400 * 400).map(|i| ((i / 400) / 100) as u8).collect();
        w.write_image_data(&data).unwrap();
    }
    write("palette.png", &palette);

    // Formats that are not accepted.
    write(
        "animated.gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00!\xf9\x04\x00\x0a\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00!\xf9\x04\x00\x0a\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02L\x01\x00;",
    );
    write("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x01\x00meta\x00\x00\x00\x00");
    write("photo.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf\x00\x00\x00\x00");
    write("vector.svg", b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"400\"><rect width=\"400\" height=\"400\"/></svg>\n");
    let mut bmp = b"BM".to_vec();
    for v in [70u32, 0, 54, 40, 2, 2] {
        bmp.extend(v.to_le_bytes());
    }
    bmp.extend([1, 0, 24, 0]);
    for v in [0u32, 16, 2835, 2835, 0, 0] {
        bmp.extend(v.to_le_bytes());
    }
    bmp.extend([0u8; 16]);
    write("image.bmp", &bmp);
    write("image.tiff", b"II*\x00\x08\x00\x00\x00\x00\x00");

    // Masks.
    write("mask-wrong-size.png", &tryon_tools::samples::png_rgb(&tryon_tools::samples::torso_mask(500, 500)));
    write("mask-photo.png", &person_png);
    write("mask-all-white.png", &tryon_tools::samples::png_rgb(&RgbImage::from_pixel(360, 480, Rgb([255, 255, 255]))));
    write("mask-half-size.png", &tryon_tools::samples::png_rgb(&tryon_tools::samples::torso_mask(180, 240)));

    // Manifests that are not JSON objects of the right shape.
    write("manifest-invalid.json", b"{\"source\": \"person.jpg\", \"garment\": ");
    write("manifest-empty.json", b"");
    write("manifest-array.json", b"[\"person.jpg\", \"garment.png\"]");
    write("manifest-nested.json", format!("{}{}", "[".repeat(5000), "]".repeat(5000)).as_bytes());
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(br#"{"source": "person.jpg", "garment": "garment.png"}"#);
    write("manifest-bom.json", &bom);
    write(
        "manifest-utf16.json",
        &"{\"source\": \"person.jpg\"}".encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<_>>(),
    );
    let huge = format!(
        r#"{{"source": "person.jpg", "garment": "garment.png", "virtualTryOnParams": {{"promptBasedMask": {{"maskPrompt": "{}"}}}}}}"#,
        "x".repeat(70_000)
    );
    write("manifest-huge.json", huge.as_bytes());
    write(
        "manifest-duplicate-key.json",
        br#"{"source": "person.jpg", "source": "other.jpg", "garment": "garment.png"}"#,
    );
}
