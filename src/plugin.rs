//! `kubectl hris …`: the same binary installed as `kubectl-hris`. Requests are annotations the
//! controller acts on once; `status` reads the connections; `report` fetches files.
//!
//! A failed request names the cluster it went to: the API server URL and the kubeconfig
//! context, and when the server could not be reached at all, what to check.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::json;

use crate::{
    connectors::http::shown_url,
    controller::fetch_report::ReportError,
    controller::{
        decide::{APPROVE_PLAN, SIMULATE_REQUESTED, SYNC_REQUESTED},
        fetch_report::{Which, fetch_report},
    },
    crd::{HrisConnection, RunResult, RunStatus},
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

/// The client configuration kubectl would use: `kubeconfig` (else `$KUBECONFIG`, then
/// `~/.kube/config`, then the Pod's ServiceAccount) and `context` (else the current one).
pub async fn client_config(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Config, String> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let named = |error: &dyn std::fmt::Display| match context {
        Some(context) => format!("cannot use context `{context}`: {error}"),
        None => error.to_string(),
    };
    match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read --kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| named(&e))
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| named(&e)),
        None => kube::Config::infer().await.map_err(|e| e.to_string()),
    }
}

/// The cluster a command talks to, as its messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterName {
    /// The API server's URL, without credentials.
    pub server: String,
    /// The kubeconfig context; `None` for the in-cluster configuration (a Pod's own).
    pub context: Option<String>,
}

impl ClusterName {
    /// The cluster `config` points at. Its context is `context`, else the current context of
    /// the kubeconfig (`kubeconfig`, else `$KUBECONFIG`, then `~/.kube/config`); none when no
    /// kubeconfig can be read, which is when the configuration is the in-cluster one.
    pub fn of(config: &kube::Config, kubeconfig: Option<&Path>, context: Option<&str>) -> Self {
        let context = context.map(str::to_owned).or_else(|| {
            let file = match kubeconfig {
                Some(path) => Kubeconfig::read_from(path).ok(),
                None => Kubeconfig::read().ok(),
            };
            file.and_then(|file| file.current_context)
        });
        let server = shown_url(&config.cluster_url.to_string());
        ClusterName {
            server: server.trim_end_matches('/').to_owned(),
            context,
        }
    }

    /// A failed request to this cluster as a message: what a server that answered said, with
    /// the server and context; for one that could not be reached, the reason at the root of
    /// the failure and what to check.
    pub fn explain(&self, error: &kube::Error) -> String {
        match error {
            kube::Error::Api(status) => format!(
                "the Kubernetes API server {self} answered {} {}: {}",
                status.code, status.reason, status.message
            ),
            other => {
                let check = match self.context {
                    Some(_) => {
                        "check that the cluster is up, and that the kubeconfig (KUBECONFIG) and \
                         its context point at it"
                    }
                    None => "check that the cluster's API server is up and reachable from here",
                };
                format!(
                    "cannot reach the Kubernetes API server {self}: {}; {check}",
                    root_cause(other)
                )
            }
        }
    }

    /// [`ClusterName::explain`] for the errors of fetching a report.
    pub fn explain_report(&self, error: &ReportError) -> String {
        match error {
            ReportError::Api(error) => self.explain(error),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for ClusterName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.context {
            Some(context) => write!(f, "{} (context {context})", self.server),
            None => write!(f, "{} (in-cluster configuration)", self.server),
        }
    }
}

/// The innermost error of a chain: for a connection that failed, the operating system's
/// reason ("Connection refused"), the name that did not resolve or the certificate refused.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A client for `kubeconfig` and `context` (see [`client_config`]) and the name of its cluster
/// for messages.
pub async fn cluster_client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<(Client, ClusterName), String> {
    let config = client_config(kubeconfig, context).await?;
    let name = ClusterName::of(&config, kubeconfig, context);
    let client =
        Client::try_from(config).map_err(|e| format!("cannot build a client for {name}: {e}"))?;
    Ok((client, name))
}

/// Sets a request annotation; returns the value set.
pub async fn annotate(
    client: Client,
    namespace: &str,
    name: &str,
    key: &str,
    value: &str,
) -> Result<(), kube::Error> {
    let patch = json!({"metadata": {"annotations": {key: value}}});
    Api::<HrisConnection>::namespaced(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
}

/// The plan hash a person would approve now: a withheld sync's, else the last simulation's.
pub fn hash_to_approve(connection: &HrisConnection) -> Option<String> {
    let status = connection.status.as_ref()?;
    let withheld = |run: &Option<RunStatus>| {
        run.as_ref()
            .filter(|r| r.result == Some(RunResult::Withheld))
            .and_then(|r| r.plan_hash.clone())
    };
    withheld(&status.last_sync)
        .or_else(|| withheld(&status.last_simulation))
        .or_else(|| {
            status
                .last_simulation
                .as_ref()
                .and_then(|r| r.plan_hash.clone())
        })
}

/// The `status` table.
pub fn status_table(connections: &[HrisConnection]) -> String {
    let mut rows = vec![[
        "NAMESPACE".to_owned(),
        "NAME".to_owned(),
        "MODE".to_owned(),
        "READY".to_owned(),
        "LAST RUN".to_owned(),
        "RESULT".to_owned(),
        "CHANGES".to_owned(),
        "PLAN HASH".to_owned(),
    ]];
    for connection in connections {
        let status = connection.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map_or("Unknown".to_owned(), |c| c.status.clone());
        let latest = [status.last_sync.as_ref(), status.last_simulation.as_ref()]
            .into_iter()
            .flatten()
            .max_by_key(|run| run.finished_at.as_ref().map(|t| t.0));
        let (when, result, changes, hash) = match latest {
            Some(run) => (
                run.finished_at
                    .as_ref()
                    .map_or(String::new(), |t| t.0.to_string()),
                run.result.map_or(String::new(), |r| r.as_str().to_owned()),
                format!(
                    "+{} ~{} -{} x{}",
                    run.counts.created,
                    run.counts.updated,
                    run.counts.deactivated,
                    run.counts.deleted
                ),
                run.plan_hash.clone().unwrap_or_default(),
            ),
            None => Default::default(),
        };
        rows.push([
            connection.namespace().unwrap_or_default(),
            connection.name_any(),
            format!("{:?}", connection.spec.mode),
            ready,
            when,
            result,
            changes,
            hash,
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned() + "\n"
        })
        .collect()
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
            if let Err(error) = crate::cli::check_out_dir(out) {
                eprintln!("error: {error}");
                return ExitCode::from(crate::cli::EXIT_INVALID);
            }
        }
        _ => {}
    }
    crate::connectors::http::install_crypto_provider();
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
        PluginCommand::Sync { name } => annotate(client, &namespace, &name, SYNC_REQUESTED, &now)
            .await
            .map(|()| format!("sync of {namespace}/{name} requested"))
            .map_err(explain),
        PluginCommand::Simulate { name } => {
            annotate(client, &namespace, &name, SIMULATE_REQUESTED, &now)
                .await
                .map(|()| format!("simulation of {namespace}/{name} requested"))
                .map_err(explain)
        }
        PluginCommand::Approve { name, hash } => {
            let hash = match hash {
                Some(hash) => Ok(hash),
                None => Api::<HrisConnection>::namespaced(client.clone(), &namespace)
                    .get(&name)
                    .await
                    .map_err(explain)
                    .and_then(|connection| {
                        hash_to_approve(&connection)
                            .ok_or_else(|| format!("{namespace}/{name} has no plan to approve yet"))
                    }),
            };
            match hash {
                Ok(hash) => annotate(client, &namespace, &name, APPROVE_PLAN, &hash)
                    .await
                    .map(|()| format!("plan {hash} of {namespace}/{name} approved"))
                    .map_err(explain),
                Err(error) => Err(error),
            }
        }
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
            let api: Api<HrisConnection> = if all_namespaces {
                Api::all(client)
            } else {
                Api::namespaced(client, &namespace)
            };
            api.list(&ListParams::default())
                .await
                .map(|list| status_table(&list.items).trim_end().to_owned())
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
