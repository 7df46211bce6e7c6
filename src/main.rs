#![forbid(unsafe_code)]

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// How long the process waits, once its command is done, for work left on blocking threads
/// (such as a DNS lookup of an API server that does not answer) before it exits anyway.
const LEFTOVER_WORK_GRACE: Duration = Duration::from_secs(1);

/// Logs shown unless `RUST_LOG` says otherwise: warnings, but not the Kubernetes client's own
/// line for every failed request, which the command's error message says better (it names the
/// API server, the context and the cause).
const DEFAULT_LOG_FILTER: &str = "warn,kube_client::client::builder=off";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(command());
    runtime.shutdown_timeout(LEFTOVER_WORK_GRACE);
    code
}

async fn command() -> ExitCode {
    // Installed (or linked) as `kubectl-hris`, the binary answers `kubectl hris …`.
    let argv0 = std::env::args().next().unwrap_or_default();
    if hris_operator::cli::plugin::invoked_as_plugin(&argv0) {
        return hris_operator::cli::plugin::main(hris_operator::cli::plugin::PluginCli::parse())
            .await;
    }
    hris_operator::cli::main(hris_operator::cli::Cli::parse()).await
}
