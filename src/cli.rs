//! The command line: `simulate`, `apply`, `fields`, `crd`, `version`.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Args, Parser, Subcommand};
use jiff::civil::Date;

use crate::{
    connectors::{ConfigMapResolver, ConnectorContext, SecretResolver},
    crd::{self, Mode, RunResult},
    manifest::Manifest,
    sync::{
        apply::{Applied, Outcome},
        policy::{SyncPolicy, parse_date},
        report::{self, RunMode},
        run::{self, RunOptions},
    },
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
    Simulate(RunArgs),
    /// Plan a connection from a manifest file, apply the plan and write the reports.
    Apply(RunArgs),
    /// Run the operator: reconcile HrisConnections into sync Jobs, status and Events.
    Controller(ControllerArgs),
    /// Run one sync of a connection in the cluster (what a sync Job runs).
    Sync(SyncArgs),
    /// Write the report files of a connection's latest run from the cluster into a folder.
    Report(ReportArgs),
    /// List the source's fields (standard and custom) with example values, for building
    /// attributeMapping. Examples are personal data: they are printed, never logged.
    Fields(FieldsArgs),
    /// Print the HrisConnection CustomResourceDefinition as YAML.
    Crd,
    /// Print the version.
    Version,
}

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
    #[arg(long, value_parser = ["simulate", "apply"])]
    pub mode: String,
    /// Where the referenced Secrets are mounted, as DIR/NAME/KEY.
    #[arg(long, value_name = "DIR", default_value = crate::controller::job::SECRETS_DIR)]
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
    #[arg(long, value_name = "FILE", default_value = "/dev/termination-log")]
    pub termination_log: PathBuf,
}

/// Arguments of `fields`.
#[derive(Args, Debug)]
pub struct FieldsArgs {
    /// The HrisConnection manifest.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// Directory of secrets, read as DIR/NAME/KEY.
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// Directory of ConfigMaps, read as DIR/NAME/KEY (for a csv source's configMapRef).
    #[arg(long, value_name = "DIR")]
    pub config_maps_dir: Option<PathBuf>,
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

/// Arguments of `simulate` and `apply`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The HrisConnection manifest.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// Directory for the report files.
    #[arg(long, value_name = "DIR", default_value = "hris-reports")]
    pub out: PathBuf,
    /// Evaluate lifecycle rules on this date (YYYY-MM-DD) instead of today in the
    /// connection's time zone.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_as_of)]
    pub as_of: Option<Date>,
    /// Directory of secrets, read as DIR/NAME/KEY.
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// Directory of ConfigMaps, read as DIR/NAME/KEY (for a csv source's configMapRef).
    #[arg(long, value_name = "DIR")]
    pub config_maps_dir: Option<PathBuf>,
    /// A plan hash to approve: a plan with this hash is not withheld by the safeguards.
    #[arg(long, value_name = "HASH")]
    pub approve: Option<String>,
}

/// Prints to stdout; a closed stdout (`| head`) is not an error worth failing a run for.
fn print_quietly(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn parse_as_of(value: &str) -> Result<Date, String> {
    parse_date(value)
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
        Command::Controller(args) => run_controller(args).await,
        Command::Fields(args) => list_fields(args).await,
        Command::Sync(args) => sync_in_cluster(args).await,
        Command::Report(args) => report_from_cluster(args).await,
        Command::Simulate(args) => run_manifest(args, RunMode::Simulate).await,
        Command::Apply(args) => run_manifest(args, RunMode::Apply).await,
    }
}

async fn run_controller(args: ControllerArgs) -> ExitCode {
    use crate::controller::{
        job::{JobDefaults, overridden_settings},
        leader::LeaseTiming,
        operator::{OperatorConfig, run},
        sync_pod::SyncPodSettings,
    };
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
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the controller stopped");
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn context_of(
    manifest: &Manifest,
    secrets_dir: Option<PathBuf>,
    config_maps_dir: Option<PathBuf>,
) -> ConnectorContext {
    ConnectorContext {
        base_dir: manifest.dir.clone(),
        secrets: secrets_dir
            .map(SecretResolver::from_dir)
            .unwrap_or_else(SecretResolver::none),
        config_maps: config_maps_dir
            .map(ConfigMapResolver::from_dir)
            .unwrap_or_else(ConfigMapResolver::none),
    }
}

/// Loads a manifest, or says why not. Every failure is exit code 2: a file that is missing,
/// unreadable or not a valid HrisConnection is the command line's to fix, like any usage error.
fn load_manifest(file: &Path) -> Result<(Manifest, SyncPolicy), ExitCode> {
    Manifest::load(file).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(EXIT_INVALID)
    })
}

/// A folder the report files cannot be written to.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report files to {}: {source}", path.display())]
pub struct UnwritableOut {
    /// The folder, or the file in it that cannot be written.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Checks that the report files can be written into `dir` (created if missing), before anything
/// else is done: an `apply` that found out only after its writes would have changed the target
/// and kept no record of what it changed.
pub fn check_out_dir(dir: &Path) -> Result<(), UnwritableOut> {
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

/// What to tell someone whose reports could not be written after the run: whether the target
/// was changed. An apply that made writes says so, with how many, since the reports were to be
/// their record.
pub fn report_failure_note(mode: RunMode, applied: &Applied) -> String {
    let writes = applied
        .outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Applied))
        .count();
    match mode {
        RunMode::Apply if writes > 0 => format!(
            "The target WAS changed: {writes} changes were written before the reports failed. \
             The table below is the only record of them; the report files are missing or \
             incomplete."
        ),
        _ => "Nothing was changed in the target.".to_owned(),
    }
}

async fn list_fields(args: FieldsArgs) -> ExitCode {
    let (manifest, _) = match load_manifest(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let context = context_of(&manifest, args.secrets_dir, args.config_maps_dir);
    let listed = match crate::connectors::source::build(&manifest.spec.source, &context).await {
        Ok(source) => source.fields().await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(fields) => {
            print_quietly(&fields_table(&fields));
            if let Some(warning) = missing_fields_warning(&fields) {
                eprintln!("{warning}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// A warning naming the fields the spec reads that the source does not have, if any.
pub fn missing_fields_warning(fields: &[crate::connectors::source::SourceField]) -> Option<String> {
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| !f.found)
        .map(|f| match &f.feeds {
            Some(feeds) => format!("{} (for {feeds})", f.name),
            None => f.name.clone(),
        })
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "warning: the spec reads {} field(s) the source's example record does not have: {}. \
             Check their spelling against the FIELD column above, or set the source's \
             referenceEmployeeId to an employee who has them.",
            missing.len(),
            missing.join(", ")
        )
    })
}

/// The fields as a table: FIELD, FEEDS (the canonical field), EXAMPLE. A field the spec
/// names that the source lacks shows `(not in the source)` as its example.
pub fn fields_table(fields: &[crate::connectors::source::SourceField]) -> String {
    let example = |value: &Option<serde_json::Value>| {
        let text = match value {
            None => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let text: String = text.replace(['\n', '\r', '\t'], " ");
        if text.chars().count() > 60 {
            format!("{}…", text.chars().take(59).collect::<String>())
        } else {
            text
        }
    };
    let rows: Vec<[String; 3]> = fields
        .iter()
        .map(|f| {
            [
                f.name.clone(),
                f.feeds.clone().unwrap_or_else(|| "-".into()),
                if f.found {
                    example(&f.example)
                } else {
                    "(not in the source)".to_owned()
                },
            ]
        })
        .collect();
    let header = ["FIELD".to_owned(), "FEEDS".to_owned(), "EXAMPLE".to_owned()];
    let width = |column: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (name_width, feeds_width) = (width(0), width(1));
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line = format!(
            "{:name_width$}  {:feeds_width$}  {}",
            row[0], row[1], row[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} fields. Map one with attributeMapping: `from` takes its FEEDS name (or `email`, the \
         address emails.priority picks).\nA field shown with `-` feeds nothing yet: add it to the \
         source's customFields, then map `customFields.<name>`.\n",
        fields.len()
    ));
    out
}

async fn report_from_cluster(args: ReportArgs) -> ExitCode {
    use crate::controller::fetch_report::{Which, fetch_report};
    if let Err(error) = check_out_dir(&args.out) {
        eprintln!("error: {error}");
        return ExitCode::from(EXIT_INVALID);
    }
    crate::connectors::http::install_crypto_provider();
    let (client, cluster) = match crate::plugin::cluster_client(None, None).await {
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

async fn sync_in_cluster(args: SyncArgs) -> ExitCode {
    use crate::controller::{job::RunKind, sync_run};
    let Some((namespace, name)) = args.connection.split_once('/') else {
        eprintln!(
            "error: --connection takes NAMESPACE/NAME, not `{}`",
            args.connection
        );
        return ExitCode::from(EXIT_INVALID);
    };
    crate::connectors::http::install_crypto_provider();
    let (client, cluster) = match crate::plugin::cluster_client(None, None).await {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("error: cannot reach the Kubernetes API: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let request = sync_run::SyncRequest {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        kind: if args.mode == "apply" {
            RunKind::Apply
        } else {
            RunKind::Simulate
        },
        secrets_dir: args.secrets_dir,
        scratch: std::env::temp_dir().join(format!("hris-reports-{}", args.run_id)),
        run_id: args.run_id,
        report: args.report,
        approve: args.approve,
        termination_log: args.termination_log,
        report_limits: sync_run::ReportLimits::default(),
    };
    match sync_run::sync(client, &request).await {
        // The result is in the termination message; a non-zero exit would make the Job retry
        // a run that finished (withheld, or with failed writes) as if it had crashed.
        Ok(summary) => {
            tracing::info!(result = summary.result.as_str(), "sync finished");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(category = error.category(), "sync failed");
            let message = match &error {
                sync_run::SyncError::Connection {
                    namespace,
                    name,
                    source,
                } => format!(
                    "cannot read HrisConnection {namespace}/{name}: {}",
                    cluster.explain(source)
                ),
                sync_run::SyncError::Report { name, source } => format!(
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

async fn run_manifest(args: RunArgs, mode: RunMode) -> ExitCode {
    let (manifest, policy) = match load_manifest(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // In the cluster a Deactivated connection runs nothing; applying it here would be the one
    // way to write with it. A simulation writes nothing, so it stays allowed.
    if mode == RunMode::Apply && manifest.spec.mode == Mode::Deactivated {
        eprintln!(
            "error: {}: spec.mode is Deactivated, which runs nothing, so `apply` does not \
             either; set spec.mode to Active to apply it, or run `simulate` to see the plan",
            args.file.display()
        );
        return ExitCode::from(EXIT_INVALID);
    }
    if let Err(error) = check_out_dir(&args.out) {
        eprintln!("error: {error}");
        eprintln!("Nothing was changed in the target; choose another --out.");
        return ExitCode::from(EXIT_INVALID);
    }
    let context = context_of(&manifest, args.secrets_dir, args.config_maps_dir);
    let connection = format!("{}/{}", manifest.namespace, manifest.name);
    let options = RunOptions {
        mode,
        as_of: args.as_of,
        approved_hash: args.approve,
    };
    let output = match run::run(&connection, &manifest.spec, &policy, &context, &options).await {
        Ok(output) => output,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("Nothing was changed in the target.");
            return ExitCode::from(if error.is_invalid_input() {
                EXIT_INVALID
            } else {
                EXIT_FAILED
            });
        }
    };
    // Reports first: they are the record of the run, whatever happens to the terminal.
    if let Err(error) = report::write_reports(
        &args.out,
        &output.plan,
        &output.applied,
        &output.record_errors,
        &output.mapped,
        &output.summary,
    ) {
        eprintln!(
            "error: cannot write the reports to {}: {error}",
            args.out.display()
        );
        eprintln!("{}", report_failure_note(mode, &output.applied));
        print_quietly(&report::render_table(
            &output.summary,
            &output.plan,
            &output.applied,
        ));
        return ExitCode::from(EXIT_FAILED);
    }
    let table = report::render_table(&output.summary, &output.plan, &output.applied);
    print_quietly(&format!(
        "{table}Reports written to {}\n",
        args.out.display()
    ));
    match output.summary.result {
        RunResult::Succeeded => ExitCode::SUCCESS,
        RunResult::Withheld => ExitCode::from(EXIT_WITHHELD),
        RunResult::Failed => ExitCode::from(EXIT_FAILED),
    }
}
