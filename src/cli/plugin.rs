//! `kubectl hris …`: the command line of the kubectl plugin, the same binary installed as
//! `kubectl-hris`. It reads kubectl's flags itself (kubectl hands a plugin its arguments but not
//! their effect); the work is the kubectl side's.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use super::{EXIT_INVALID, check_out_dir};
use crate::{
    connectors::http::install_crypto_provider,
    kubectl::{
        ApproveError, Which, approve, cluster_client, fetch_report, list_connections,
        request_simulation, request_sync, status_table,
    },
};

/// kubectl plugin for HrisConnections.
#[derive(Parser, Debug)]
#[command(name = "kubectl hris", bin_name = "kubectl hris", version, about)]
pub struct PluginCli {
    /// Namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config). kubectl hands a plugin
    /// its arguments but not its own flags' effect, so the plugin reads them itself.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// Plugin subcommands.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Request one sync now (a simulation in Simulate mode).
    Sync {
        /// The HrisConnection.
        name: String,
    },
    /// Request one simulation now.
    Simulate {
        /// The HrisConnection.
        name: String,
    },
    /// Approve a plan: the withheld one, or the simulation awaiting approval (or `--hash`).
    Approve {
        /// The HrisConnection.
        name: String,
        /// The plan hash to approve (default: the one status names).
        #[arg(long)]
        hash: Option<String>,
    },
    /// Write the latest run's report files into a folder.
    Report {
        /// The HrisConnection.
        name: String,
        /// Folder the files are written to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The last simulation's report rather than the latest run's.
        #[arg(long, conflicts_with = "sync")]
        simulation: bool,
        /// The last sync's report rather than the latest run's.
        #[arg(long)]
        sync: bool,
    },
    /// List the connections and how their last runs went.
    Status {
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
    /// Print the version.
    Version,
}

fn version_line() -> String {
    format!("kubectl-hris (hris-operator) {}", env!("CARGO_PKG_VERSION"))
}

/// Runs the plugin.
pub async fn main(cli: PluginCli) -> ExitCode {
    match &cli.command {
        // Answered without a cluster: it is what one asks when the cluster is the problem.
        PluginCommand::Version => {
            println!("{}", version_line());
            return ExitCode::SUCCESS;
        }
        PluginCommand::Report { out, .. } => {
            if let Err(error) = check_out_dir(out) {
                eprintln!("error: {error}");
                return ExitCode::from(EXIT_INVALID);
            }
        }
        _ => {}
    }
    install_crypto_provider();
    let (client, cluster) =
        match cluster_client(cli.kubeconfig.as_deref(), cli.context.as_deref()).await {
            Ok(connected) => connected,
            Err(error) => {
                eprintln!("error: cannot reach the Kubernetes API: {error}");
                return ExitCode::FAILURE;
            }
        };
    let explain = |error: kube::Error| cluster.explain(&error);
    let namespace = cli
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let now = jiff::Timestamp::now().to_string();
    let result: Result<String, String> = match cli.command {
        PluginCommand::Sync { name } => request_sync(client, &namespace, &name, &now)
            .await
            .map(|()| format!("sync of {namespace}/{name} requested"))
            .map_err(explain),
        PluginCommand::Simulate { name } => request_simulation(client, &namespace, &name, &now)
            .await
            .map(|()| format!("simulation of {namespace}/{name} requested"))
            .map_err(explain),
        PluginCommand::Approve { name, hash } => approve(client, &namespace, &name, hash)
            .await
            .map(|hash| format!("plan {hash} of {namespace}/{name} approved"))
            .map_err(|error| match error {
                ApproveError::Api(error) => explain(error),
                ApproveError::NothingToApprove => {
                    format!("{namespace}/{name} has no plan to approve yet")
                }
            }),
        PluginCommand::Report {
            name,
            out,
            simulation,
            sync,
        } => {
            let which = match (simulation, sync) {
                (true, _) => Which::Simulation,
                (_, true) => Which::Sync,
                _ => Which::Latest,
            };
            fetch_report(client, &namespace, &name, which, &out)
                .await
                .map(|files| format!("{} files written to {}", files.len(), out.display()))
                .map_err(|e| cluster.explain_report(&e))
        }
        PluginCommand::Status { all_namespaces } => {
            list_connections(client, (!all_namespaces).then_some(namespace.as_str()))
                .await
                .map(|connections| status_table(&connections).trim_end().to_owned())
                .map_err(explain)
        }
        PluginCommand::Version => Ok(version_line()),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the binary was started as the kubectl plugin.
pub fn invoked_as_plugin(argv0: &str) -> bool {
    std::path::Path::new(argv0)
        .file_stem()
        .is_some_and(|stem| stem == "kubectl-hris")
}
