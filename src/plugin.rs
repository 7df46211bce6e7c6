//! `kubectl hris …`: the same binary installed as `kubectl-hris`. Requests are annotations the
//! controller acts on once (DESIGN §1); `status` reads the connections; `report` fetches files.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use crate::{
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
    /// Namespace (default: the kubeconfig's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
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
    },
    /// List the connections and how their last runs went.
    Status {
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
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

/// Runs the plugin.
pub async fn main(cli: PluginCli) -> ExitCode {
    crate::connectors::http::install_crypto_provider();
    let client = match Client::try_default().await {
        Ok(client) => client,
        Err(error) => {
            eprintln!("error: cannot reach the Kubernetes API: {error}");
            return ExitCode::FAILURE;
        }
    };
    let namespace = cli
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let now = jiff::Timestamp::now().to_string();
    let result: Result<String, String> = match cli.command {
        PluginCommand::Sync { name } => annotate(client, &namespace, &name, SYNC_REQUESTED, &now)
            .await
            .map(|()| format!("sync of {namespace}/{name} requested"))
            .map_err(|e| e.to_string()),
        PluginCommand::Simulate { name } => {
            annotate(client, &namespace, &name, SIMULATE_REQUESTED, &now)
                .await
                .map(|()| format!("simulation of {namespace}/{name} requested"))
                .map_err(|e| e.to_string())
        }
        PluginCommand::Approve { name, hash } => {
            let hash = match hash {
                Some(hash) => Ok(hash),
                None => Api::<HrisConnection>::namespaced(client.clone(), &namespace)
                    .get(&name)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|connection| {
                        hash_to_approve(&connection)
                            .ok_or_else(|| format!("{namespace}/{name} has no plan to approve yet"))
                    }),
            };
            match hash {
                Ok(hash) => annotate(client, &namespace, &name, APPROVE_PLAN, &hash)
                    .await
                    .map(|()| format!("plan {hash} of {namespace}/{name} approved"))
                    .map_err(|e| e.to_string()),
                Err(error) => Err(error),
            }
        }
        PluginCommand::Report { name, out } => {
            fetch_report(client, &namespace, &name, Which::Latest, &out)
                .await
                .map(|files| format!("{} files written to {}", files.len(), out.display()))
                .map_err(|e| e.to_string())
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
                .map_err(|e| e.to_string())
        }
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
