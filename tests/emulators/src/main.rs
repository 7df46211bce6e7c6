//! `hris-emulators`: serves one emulator by hand (see [`hris_emulators::serve`]).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hris_emulators::serve::{Cli, serve};

#[tokio::main]
async fn main() -> ExitCode {
    serve(Cli::parse().emulator).await
}
