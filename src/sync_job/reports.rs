//! The sync Job's reports: written as files to its scratch folder, then stored in the report
//! Secrets its Role lets it write, all or nothing.

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};

use super::{SyncError, SyncRequest};
use crate::{
    contract::{FIELD_MANAGER, report_secrets::bounded_report_secrets},
    crd::HrisConnection,
    sync::{
        report::{self, REPORT_FILES},
        run::RunOutput,
    },
};

/// Stores a run's report files in Secrets owned by the connection. A report too large for the
/// Secrets this run may write is refused before the first one is written.
pub(super) async fn store_reports(
    client: Client,
    request: &SyncRequest,
    connection: &HrisConnection,
    output: &RunOutput,
) -> Result<(), SyncError> {
    report::write_reports(
        &request.scratch,
        &output.plan,
        &output.applied,
        &output.record_errors,
        &output.mapped,
        &output.summary,
    )?;
    let mut files = Vec::new();
    for name in REPORT_FILES {
        files.push((name.to_owned(), std::fs::read(request.scratch.join(name))?));
    }
    let report_secrets = bounded_report_secrets(
        connection,
        &request.report,
        &request.run_id,
        &files,
        request.report_limits.secret_bytes,
        request.report_limits.max_secrets,
    )?;
    let secrets: Api<Secret> = Api::namespaced(client, &request.namespace);
    for secret in report_secrets {
        let name = secret.metadata.name.clone().unwrap_or_default();
        secrets
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .map_err(|source| SyncError::Report {
                name: name.clone(),
                source,
            })?;
    }
    Ok(())
}
