//! `tryon samples`: write the synthetic sample pictures.

use std::path::Path;
use std::process::ExitCode;

use crate::common::fail;

pub fn samples(folder: &Path) -> ExitCode {
    let person = tryon::samples::person(900, 1200);
    let files = [
        ("person.jpg", tryon::samples::phone_jpeg(&person, 6).unwrap_or_default()),
        ("garment.png", tryon::samples::png_rgba(&tryon::samples::garment(800))),
        ("mask.png", tryon::samples::png_rgb(&tryon::samples::torso_mask(900, 1200))),
        ("trousers.png", tryon::samples::png_rgba(&tryon::samples::trousers(800))),
        ("boots.png", tryon::samples::png_rgba(&tryon::samples::boots(600))),
    ];
    if let Err(e) = std::fs::create_dir_all(folder) {
        return fail(&e.to_string());
    }
    for (name, bytes) in files {
        if let Err(e) = std::fs::write(folder.join(name), bytes) {
            return fail(&format!("{name}: {e}"));
        }
        println!("wrote {}", folder.join(name).display());
    }
    ExitCode::SUCCESS
}
