//! `tryon samples`: write the synthetic sample pictures.

use std::path::Path;
use std::process::ExitCode;

use crate::common::fail;

pub fn samples(folder: &Path) -> ExitCode {
    let person = tryon_tools::samples::person(900, 1200);
    let files = [
        ("person.jpg", tryon_tools::samples::phone_jpeg(&person, 6).unwrap_or_default()),
        ("garment.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(800))),
        ("mask.png", tryon_tools::samples::png_rgb(&tryon_tools::samples::torso_mask(900, 1200))),
        ("trousers.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::trousers(800))),
        ("boots.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::boots(600))),
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
