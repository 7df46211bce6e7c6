//! The command lines: `hris-operator` (its commands on a manifest file in `local`, its commands
//! in a cluster in `cluster`) and `kubectl hris` (`plugin`). They parse arguments, call the
//! process that does the work and turn its result into messages and an exit code.

mod cluster;
mod local;
pub mod plugin;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};

use crate::{
    crd,
    sync::report::{self, RunMode},
};

/// Exit code: the manifest or its input is invalid, or the command cannot be carried out as
/// given (a manifest file that cannot be read, an `--out` folder that cannot be written).
pub const EXIT_INVALID: u8 = 2;
/// Exit code: a safeguard withheld removals.
pub const EXIT_WITHHELD: u8 = 3;
/// Exit code: anything else failed.
pub const EXIT_FAILED: u8 = 1;

/// HR-driven user provisioning for Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "hris-operator", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Plan a connection from a manifest file and write the reports; change nothing.
    Simulate(local::RunArgs),
    /// Plan a connection from a manifest file, apply the plan and write the reports.
    Apply(local::RunArgs),
    /// Run the operator: reconcile HrisConnections into sync Jobs, status and Events.
    Controller(cluster::ControllerArgs),
    /// Run one sync of a connection in the cluster (what a sync Job runs).
    Sync(cluster::SyncArgs),
    /// Write the report files of a connection's latest run from the cluster into a folder.
    Report(cluster::ReportArgs),
    /// List the source's fields (standard and custom) with example values, for building
    /// attributeMapping. Examples are personal data: they are printed, never logged.
    Fields(local::FieldsArgs),
    /// Print the HrisConnection CustomResourceDefinition as YAML.
    Crd,
    /// Print the version.
    Version,
}

/// Prints to stdout; a closed stdout (`| head`) is not an error worth failing a run for.
fn print_quietly(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Runs the command line and returns the process exit code.
pub async fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crd => {
            print_quietly(&crd::crd_yaml());
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("hris-operator {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Controller(args) => cluster::run_controller(args).await,
        Command::Fields(args) => local::list_fields(args).await,
        Command::Sync(args) => cluster::sync_in_cluster(args).await,
        Command::Report(args) => cluster::report_from_cluster(args).await,
        Command::Simulate(args) => local::run_manifest(args, RunMode::Simulate).await,
        Command::Apply(args) => local::run_manifest(args, RunMode::Apply).await,
    }
}

/// A folder the report files cannot be written to.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report files to {}: {source}", path.display())]
struct UnwritableOut {
    /// The folder, or the file in it that cannot be written.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Checks that the report files can be written into `dir` (created if missing), before anything
/// else is done: an `apply` that found out only after its writes would have changed the target
/// and kept no record of what it changed.
fn check_out_dir(dir: &Path) -> Result<(), UnwritableOut> {
    let unwritable = |path: &Path| {
        let path = path.to_path_buf();
        move |source| UnwritableOut { path, source }
    };
    std::fs::create_dir_all(dir).map_err(unwritable(dir))?;
    let probe = dir.join(format!(".hris-operator-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(unwritable(dir))?;
    let _ = std::fs::remove_file(&probe);
    // A report file already there (a read-only one, a folder of that name) must take the new
    // report too; opened without truncating, it stays as it was.
    for name in report::REPORT_FILES {
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(unwritable(&path))?;
        }
    }
    Ok(())
}
