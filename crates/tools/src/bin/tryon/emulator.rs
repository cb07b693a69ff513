//! `tryon emulator`: serve the emulators of every backend (Bedrock `InvokeModel` and
//! `Converse`, Vertex AI `:predict` and `:generateContent`, Google's token endpoints) on one
//! port, and print the variables that point the function at them.

use std::net::SocketAddr;
use std::process::ExitCode;

use tryon::core::backend::Backend;
use tryon_emulators::Emulator;
use tryon_tools::wiring::local_environment;

use crate::common::fail;

pub async fn emulator(
    addr: SocketAddr,
    model_ids: Vec<String>,
    backend: Option<Backend>,
    requests_per_minute: Option<f64>,
) -> ExitCode {
    if let Some(rpm) = requests_per_minute.filter(|r| r.is_nan() || *r <= 0.0) {
        return fail(&format!("--requests-per-minute must be positive, not {rpm}"));
    }
    let emulator = Emulator::new(model_ids);
    emulator.set_requests_per_minute(requests_per_minute);
    match emulator.spawn(addr).await {
        Ok((local, task)) => {
            let base = format!("http://{local}");
            eprintln!("emulators of every backend listening on {base}");
            if let Some(rpm) = requests_per_minute {
                eprintln!("InvokeModel quota: {rpm} requests a minute (429 ThrottlingException beyond)");
            }
            if let Some(b) = backend {
                eprintln!("to run the function against {b} here, set (with the S3 variables of your local S3):");
                for (name, value) in local_environment(b, &base) {
                    println!("export {name}='{value}'");
                }
            }
            match task.await {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => fail(&e.to_string()),
                Err(e) => fail(&e.to_string()),
            }
        }
        Err(e) => fail(&format!("cannot listen on {addr}: {e}")),
    }
}
