//! `tryon emulator`: serve the Nova Canvas emulator.

use std::net::SocketAddr;
use std::process::ExitCode;

use tryon::emulator::Emulator;

use crate::common::fail;

pub async fn emulator(addr: SocketAddr, model_ids: Vec<String>) -> ExitCode {
    match Emulator::new(model_ids).spawn(addr).await {
        Ok((local, task)) => {
            eprintln!("Nova Canvas emulator listening on http://{local}");
            match task.await {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => fail(&e.to_string()),
                Err(e) => fail(&e.to_string()),
            }
        }
        Err(e) => fail(&format!("cannot listen on {addr}: {e}")),
    }
}
