//! `tryon validate`: check a manifest offline with the Lambda's own validator.

use std::path::Path;
use std::process::ExitCode;

use tryon::config::Config;

use crate::common::fail;

pub fn validate(path: &Path) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return fail(&format!("cannot read {}: {e}", path.display())),
    };
    let max_calls = Config::from_env().map_or(10, |c| c.max_model_calls_per_job as usize);
    let backends = crate::common::local_backends();
    match tryon::pipeline::plan::parse(&bytes, "uploads/<job>/", max_calls, &backends) {
        Ok(plan) => {
            println!("{}: valid, {} model call(s)", path.display(), plan.calls());
            let items = match plan {
                tryon::pipeline::plan::JobPlan::Single(spec) => {
                    vec![tryon::pipeline::plan::Item { name: "job".into(), spec: *spec }]
                }
                tryon::pipeline::plan::JobPlan::Variants(items) | tryon::pipeline::plan::JobPlan::Outfit(items) => {
                    items
                }
            };
            for it in items {
                let spec = &it.spec;
                println!(
                    "  {}: source {}, garment {}, maskType {}, {} image(s), quality {}",
                    it.name,
                    spec.source_key.trim_start_matches("uploads/<job>/"),
                    spec.garment_key.trim_start_matches("uploads/<job>/"),
                    spec.mask_type().as_str(),
                    spec.number_of_images(),
                    spec.quality().as_str()
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            println!("{}: {} problem(s)", path.display(), errors.0.len());
            for e in &errors.0 {
                println!("  - {e}");
            }
            ExitCode::FAILURE
        }
    }
}
