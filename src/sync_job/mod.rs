//! What a sync Job runs (`hris-operator sync`): read its connection from the API, run the
//! pipeline with the secrets mounted as files, store the reports in Secrets owned by the
//! connection, send the notifications of `spec.notifications`, and leave the summary (no
//! personal data; with what became of the notifications) in the termination message for the
//! controller, which turns a failed delivery into a `NotificationFailed` Event and a metric.

mod reports;

use std::path::PathBuf;

use kube::{Api, Client};

use crate::{
    connectors::{
        ConfigMapResolver, ConnectorContext, SecretResolver, check_spec, connect,
        notify::{self, FinishedRun, Origin},
    },
    contract::{
        CONFIG_MAPS_DIR,
        names::MAX_REPORT_SECRETS,
        report_secrets::{ReportTooLarge, SECRET_DATA_LIMIT},
        termination::termination_message,
    },
    crd::HrisConnection,
    sync::{
        report::{RunMode, Summary},
        run::{self, RunOptions},
    },
};

/// One sync run, as a Job's arguments describe it.
#[derive(Clone, Debug)]
pub struct SyncRequest {
    /// Namespace of the connection.
    pub namespace: String,
    /// Name of the connection.
    pub name: String,
    /// Simulate or apply.
    pub kind: RunMode,
    /// Where the Job mounts the referenced Secrets (`DIR/NAME/KEY`).
    pub secrets_dir: PathBuf,
    /// The run id (labels the report Secrets).
    pub run_id: String,
    /// Name of the first report Secret.
    pub report: String,
    /// A plan hash approved for this run.
    pub approve: Option<String>,
    /// Where the summary is written for the controller.
    pub termination_log: PathBuf,
    /// Scratch folder for the report files.
    pub scratch: PathBuf,
    /// How the reports are split into Secrets, and how many a run may write.
    pub report_limits: ReportLimits,
}

/// How reports are split into Secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportLimits {
    /// Most data bytes in one Secret.
    pub secret_bytes: usize,
    /// Most Secrets of one run: the sync's Role names this many and no more.
    pub max_secrets: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            secret_bytes: SECRET_DATA_LIMIT,
            max_secrets: MAX_REPORT_SECRETS,
        }
    }
}

/// Why a sync could not produce a summary of its own.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The connection could not be read.
    #[error("cannot read HrisConnection {namespace}/{name}: {source}")]
    Connection {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The API's error.
        #[source]
        source: kube::Error,
    },
    /// The reports could not be stored.
    #[error("cannot store the report Secret {name}: {source}")]
    Report {
        /// The Secret.
        name: String,
        /// The API's error.
        #[source]
        source: kube::Error,
    },
    /// The reports would need more Secrets than a run may write; none was written.
    #[error("cannot store the reports: {0}")]
    ReportTooLarge(#[from] ReportTooLarge),
    /// Local files could not be written or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl SyncError {
    /// Category for status and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            SyncError::Connection { .. } => "ConnectionUnreadable",
            SyncError::Report { .. } => "ReportNotStored",
            SyncError::ReportTooLarge(_) => "ReportTooLarge",
            SyncError::Io(_) => "LocalIoFailed",
        }
    }
}

/// Runs one sync. Returns the run's summary, which is also in the termination log; a run
/// that fails before planning still leaves a summary saying why (nothing was written).
pub async fn sync(client: Client, request: &SyncRequest) -> Result<Summary, SyncError> {
    let connections: Api<HrisConnection> = Api::namespaced(client.clone(), &request.namespace);
    let connection =
        connections
            .get(&request.name)
            .await
            .map_err(|source| SyncError::Connection {
                namespace: request.namespace.clone(),
                name: request.name.clone(),
                source,
            })?;
    let ran = run_and_store_reports(client, request, &connection).await?;
    let mut summary = ran.summary;
    if ran.spec_valid && !connection.spec.notifications.is_empty() {
        // The run's record first: a Job that dies while it notifies still leaves its result.
        std::fs::write(&request.termination_log, termination_message(&summary))?;
        // After the reports are stored, so that a message's next step finds them.
        let secrets = secrets_of(request);
        let run = FinishedRun {
            namespace: &request.namespace,
            name: &request.name,
            run_id: &request.run_id,
            summary: &summary,
            origin: Origin::Cluster,
            refused_by: ran.refused_by,
        };
        summary.notifications = notify::notify(&connection.spec, run, &secrets).await;
    }
    std::fs::write(&request.termination_log, termination_message(&summary))?;
    Ok(summary)
}

/// The Secrets mounted into the Job, named as in the cluster.
fn secrets_of(request: &SyncRequest) -> SecretResolver {
    SecretResolver::from_dir(&request.secrets_dir).in_namespace(&request.namespace)
}

/// A run whose reports are stored (or that failed before planning).
struct Ran {
    summary: Summary,
    /// The spec passed its checks (an invalid one is not trusted to say where to notify).
    spec_valid: bool,
    /// The side that refused the credentials, when the run stopped for it.
    refused_by: Option<&'static str>,
}

/// Runs the pipeline and stores its reports; the summary of a run that failed before planning
/// says why.
async fn run_and_store_reports(
    client: Client,
    request: &SyncRequest,
    connection: &HrisConnection,
) -> Result<Ran, SyncError> {
    let label = format!("{}/{}", request.namespace, request.name);
    let mode = request.kind;
    let policy = match check_spec(&connection.spec) {
        Ok(policy) => policy,
        Err(errors) => {
            tracing::warn!(
                problems = errors.0.len(),
                "the connection's spec is invalid"
            );
            return Ok(Ran {
                summary: Summary::failed(&label, mode, String::new(), "InvalidSpec"),
                spec_valid: false,
                refused_by: None,
            });
        }
    };
    let context = ConnectorContext {
        base_dir: PathBuf::from("/"),
        secrets: secrets_of(request),
        config_maps: ConfigMapResolver::from_dir(CONFIG_MAPS_DIR),
    };
    let options = RunOptions {
        mode,
        as_of: policy.date_at(jiff::Timestamp::now()),
        approved_hash: request.approve.clone(),
    };
    let ran = async {
        let (source, target) = connect(&connection.spec, &context).await?;
        run::run(&label, &policy, &*source, &*target, &options).await
    };
    match ran.await {
        Err(error) => {
            tracing::warn!(
                category = error.category(),
                "the run failed before planning"
            );
            Ok(Ran {
                summary: Summary::failed(&label, mode, options.as_of.to_string(), error.category()),
                spec_valid: true,
                refused_by: notify::refused_side(&error),
            })
        }
        Ok(output) => {
            reports::store_reports(client, request, connection, &output).await?;
            Ok(Ran {
                summary: output.summary,
                spec_valid: true,
                refused_by: None,
            })
        }
    }
}
