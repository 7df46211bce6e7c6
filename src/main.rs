#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Installed (or linked) as `kubectl-hris`, the binary answers `kubectl hris …`.
    let argv0 = std::env::args().next().unwrap_or_default();
    if hris_operator::plugin::invoked_as_plugin(&argv0) {
        return hris_operator::plugin::main(hris_operator::plugin::PluginCli::parse()).await;
    }
    hris_operator::cli::main(hris_operator::cli::Cli::parse()).await
}
