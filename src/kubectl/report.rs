//! `hris-operator report NAME --out DIR` and `kubectl hris report`: the report files of a
//! connection's latest run (or latest simulation), read back from the Secrets the sync Job
//! stored them in.

use std::path::Path;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt, api::ListParams};

use crate::{
    contract::{
        labels::{CONNECTION_LABEL, RUN_LABEL, connection_label},
        report_secrets::report_files,
    },
    crd::{HrisConnection, RunStatus},
};

/// Which run's report to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The most recent run, sync or simulation.
    Latest,
    /// The last simulation.
    Simulation,
    /// The last sync.
    Sync,
}

/// Why no report could be fetched.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The API refused or failed.
    #[error("{0}")]
    Api(#[from] kube::Error),
    /// The connection has no such report.
    #[error("{0}")]
    Missing(String),
    /// The files could not be written.
    #[error("cannot write the report files: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes a run's report files into `out`; returns their names.
pub async fn fetch_report(
    client: Client,
    namespace: &str,
    name: &str,
    which: Which,
    out: &Path,
) -> Result<Vec<String>, ReportError> {
    let connection = Api::<HrisConnection>::namespaced(client.clone(), namespace)
        .get(name)
        .await?;
    let status = connection.status.clone().unwrap_or_default();
    let finished = |run: &Option<RunStatus>| {
        run.as_ref()
            .and_then(|r| r.finished_at.as_ref().map(|t| t.0))
    };
    let run = match which {
        Which::Simulation => status.last_simulation.as_ref(),
        Which::Sync => status.last_sync.as_ref(),
        Which::Latest if finished(&status.last_sync) >= finished(&status.last_simulation) => status
            .last_sync
            .as_ref()
            .or(status.last_simulation.as_ref()),
        Which::Latest => status.last_simulation.as_ref(),
    };
    let report = run.and_then(|r| r.report_ref.clone()).ok_or_else(|| {
        ReportError::Missing(format!(
            "HrisConnection {namespace}/{name} has no report yet: no finished run stored one"
        ))
    })?;
    let secrets: Api<Secret> = Api::namespaced(client, namespace);
    let first = secrets.get(&report).await?;
    let run_id = first.labels().get(RUN_LABEL).cloned().ok_or_else(|| {
        ReportError::Missing(format!(
            "Secret {report} is not a report (no {RUN_LABEL} label)"
        ))
    })?;
    let selector = format!(
        "{CONNECTION_LABEL}={},{RUN_LABEL}={run_id}",
        connection_label(name)
    );
    let parts = secrets
        .list(&ListParams::default().labels(&selector))
        .await?;
    let files = report_files(&parts.items).map_err(ReportError::Missing)?;
    std::fs::create_dir_all(out)?;
    let mut written = Vec::with_capacity(files.len());
    for (file, bytes) in files {
        // Report files are flat names; anything else is not ours to write.
        if file.contains(['/', '\\']) || file.starts_with('.') {
            return Err(ReportError::Missing(format!(
                "unexpected report entry `{file}`"
            )));
        }
        std::fs::write(out.join(&file), bytes)?;
        written.push(file);
    }
    Ok(written)
}
