//! The commands that work in a cluster: `controller` (the operator), `sync` (what a sync Job
//! runs) and `report` (a run's report files, fetched from their Secrets).

use std::{path::PathBuf, process::ExitCode};

use clap::Args;

use super::{EXIT_FAILED, EXIT_INVALID, check_out_dir, print_quietly};
use crate::{
    connectors::http::install_crypto_provider,
    contract::{SECRETS_DIR, TERMINATION_LOG},
    controller::{
        job::{JobDefaults, overridden_settings},
        leader::LeaseTiming,
        operator::{self, OperatorConfig},
        sync_pod::SyncPodSettings,
    },
    kubectl::{Which, cluster_client, fetch_report},
    sync::report::RunMode,
    sync_job::{ReportLimits, SyncError, SyncRequest, sync},
};

/// Arguments of `controller`.
#[derive(Args, Debug)]
pub struct ControllerArgs {
    /// Where `/metrics` listens.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// Where `/healthz` and `/readyz` listen.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8081")]
    pub health_addr: std::net::SocketAddr,
    /// Reconcile only while holding a Lease, so that several replicas can run.
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the leader Lease.
    #[arg(long, default_value = "hris-operator-leader")]
    pub lease_name: String,
    /// Namespace of the leader Lease (default: the controller's own, POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// Namespaces to watch, comma-separated; none watches every namespace.
    #[arg(long, value_delimiter = ',', value_name = "NS,...")]
    pub namespaces: Vec<String>,
    /// Image of the sync Jobs.
    #[arg(long, env = "HRIS_SYNC_IMAGE", default_value = concat!("hris-operator:", env!("CARGO_PKG_VERSION")))]
    pub sync_image: String,
    /// Image pull Secrets of the sync Pods, comma-separated (each must exist in the
    /// namespaces of the connections).
    #[arg(
        long,
        env = "HRIS_SYNC_IMAGE_PULL_SECRETS",
        value_delimiter = ',',
        value_name = "NAME,..."
    )]
    pub sync_image_pull_secrets: Vec<String>,
    /// Log level of the sync containers (their RUST_LOG).
    #[arg(long, env = "HRIS_SYNC_LOG_LEVEL", default_value = "info")]
    pub sync_log_level: String,
    /// A YAML or JSON file of settings for every sync Pod (env, nodeSelector, tolerations,
    /// affinity, topologySpreadConstraints, priorityClassName, labels, annotations, resources),
    /// checked at start: the chart's `sync.pod` values.
    #[arg(long, env = "HRIS_SYNC_POD_SETTINGS", value_name = "FILE")]
    pub sync_pod_settings: Option<PathBuf>,
    /// Seconds Kubernetes keeps a finished Job the controller has not pruned.
    #[arg(long, default_value_t = 86_400)]
    pub job_ttl_seconds: i32,
    /// How late a missed scheduled run may still start (seconds); older misses are skipped.
    #[arg(long, default_value_t = 3_600)]
    pub starting_deadline_seconds: u64,
}

/// Arguments of `sync`.
#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The connection, as NAMESPACE/NAME.
    #[arg(long, value_name = "NS/NAME")]
    pub connection: String,
    /// `simulate` plans and reports; `apply` also writes to the target.
    #[arg(long, value_parser = [RunMode::Simulate.as_str(), RunMode::Apply.as_str()])]
    pub mode: String,
    /// Where the referenced Secrets are mounted, as DIR/NAME/KEY.
    #[arg(long, value_name = "DIR", default_value = SECRETS_DIR)]
    pub secrets_dir: PathBuf,
    /// The run id (labels the report Secrets).
    #[arg(long)]
    pub run_id: String,
    /// Name of the report Secret.
    #[arg(long)]
    pub report: String,
    /// A plan hash approved for this run.
    #[arg(long, value_name = "HASH")]
    pub approve: Option<String>,
    /// Where the summary for the controller is written.
    #[arg(long, value_name = "FILE", default_value = TERMINATION_LOG)]
    pub termination_log: PathBuf,
}

/// Arguments of `report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The HrisConnection.
    pub name: String,
    /// Its namespace (default: the kubeconfig's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Folder the files are written to.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The last simulation's report rather than the latest run's.
    #[arg(long, conflicts_with = "sync")]
    pub simulation: bool,
    /// The last sync's report rather than the latest run's.
    #[arg(long)]
    pub sync: bool,
}

pub(super) async fn run_controller(args: ControllerArgs) -> ExitCode {
    let pod = match &args.sync_pod_settings {
        None => SyncPodSettings::default(),
        Some(path) => match SyncPodSettings::load(path) {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("error: --sync-pod-settings {}: {error}", path.display());
                return ExitCode::from(EXIT_INVALID);
            }
        },
    };
    let identity = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("hris-operator-{}", std::process::id()));
    let config = OperatorConfig {
        namespaces: args
            .namespaces
            .into_iter()
            .filter(|namespace| !namespace.is_empty())
            .collect(),
        metrics_addr: args.metrics_addr,
        health_addr: args.health_addr,
        leader_elect: args.leader_elect,
        lease_namespace: args.lease_namespace,
        lease_name: args.lease_name,
        identity,
        lease_timing: LeaseTiming::default(),
        defaults: JobDefaults {
            image: args.sync_image,
            image_pull_secrets: args
                .sync_image_pull_secrets
                .into_iter()
                .filter(|name| !name.is_empty())
                .collect(),
            ttl_seconds_after_finished: args.job_ttl_seconds,
            log_level: args.sync_log_level,
            pod,
        },
        starting_deadline: std::time::Duration::from_secs(args.starting_deadline_seconds),
    };
    for field in overridden_settings(&config.defaults) {
        tracing::warn!(
            field,
            "a sync Pod setting is the controller's own; the controller's value wins"
        );
    }
    match operator::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the controller stopped");
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

pub(super) async fn report_from_cluster(args: ReportArgs) -> ExitCode {
    if let Err(error) = check_out_dir(&args.out) {
        eprintln!("error: {error}");
        return ExitCode::from(EXIT_INVALID);
    }
    install_crypto_provider();
    let (client, cluster) = match cluster_client(None, None).await {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("error: cannot reach the Kubernetes API: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let namespace = args
        .namespace
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let which = match (args.simulation, args.sync) {
        (true, _) => Which::Simulation,
        (_, true) => Which::Sync,
        _ => Which::Latest,
    };
    match fetch_report(client, &namespace, &args.name, which, &args.out).await {
        Ok(files) => {
            print_quietly(&format!(
                "{} files written to {}: {}\n",
                files.len(),
                args.out.display(),
                files.join(", ")
            ));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", cluster.explain_report(&error));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

pub(super) async fn sync_in_cluster(args: SyncArgs) -> ExitCode {
    let Some((namespace, name)) = args.connection.split_once('/') else {
        eprintln!(
            "error: --connection takes NAMESPACE/NAME, not `{}`",
            args.connection
        );
        return ExitCode::from(EXIT_INVALID);
    };
    install_crypto_provider();
    let (client, cluster) = match cluster_client(None, None).await {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("error: cannot reach the Kubernetes API: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let request = SyncRequest {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        kind: RunMode::from_value(&args.mode),
        secrets_dir: args.secrets_dir,
        scratch: std::env::temp_dir().join(format!("hris-reports-{}", args.run_id)),
        run_id: args.run_id,
        report: args.report,
        approve: args.approve,
        termination_log: args.termination_log,
        report_limits: ReportLimits::default(),
    };
    match sync(client, &request).await {
        // The result is in the termination message; a non-zero exit would make the Job retry
        // a run that finished (withheld, or with failed writes) as if it had crashed.
        Ok(summary) => {
            tracing::info!(result = summary.result.as_str(), "sync finished");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(category = error.category(), "sync failed");
            let message = match &error {
                SyncError::Connection {
                    namespace,
                    name,
                    source,
                } => format!(
                    "cannot read HrisConnection {namespace}/{name}: {}",
                    cluster.explain(source)
                ),
                SyncError::Report { name, source } => format!(
                    "cannot store the report Secret {name}: {}",
                    cluster.explain(source)
                ),
                other => other.to_string(),
            };
            eprintln!("error: {message}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
