//! The commands on a manifest file, with no cluster: `simulate`, `apply` and `fields`.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::Args;
use jiff::civil::Date;

use super::{EXIT_FAILED, EXIT_INVALID, EXIT_WITHHELD, check_out_dir, print_quietly};
use crate::{
    connectors::{
        ConfigMapResolver, ConnectorContext, SecretResolver,
        notify::{self, FinishedRun, Origin},
        source,
    },
    crd::Mode,
    manifest::Manifest,
    sync::{
        apply::{Applied, Outcome},
        policy::{SyncPolicy, parse_date},
        ports::source::SourceField,
        report::{self, NotificationReport, RunMode, RunResult, Summary},
        run::{self, RunError, RunOptions},
    },
};

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
    /// Send the notifications of spec.notifications (their Secrets read from --secrets-dir).
    /// Without it a local run sends nothing.
    #[arg(long)]
    pub notify: bool,
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

fn parse_as_of(value: &str) -> Result<Date, String> {
    parse_date(value)
}

pub(super) async fn run_manifest(args: RunArgs, mode: RunMode) -> ExitCode {
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
    let context = context_of(
        &manifest,
        args.secrets_dir.clone(),
        args.config_maps_dir.clone(),
    );
    let connection = format!("{}/{}", manifest.namespace, manifest.name);
    let options = RunOptions {
        mode,
        as_of: args
            .as_of
            .unwrap_or_else(|| policy.date_at(jiff::Timestamp::now())),
        approved_hash: args.approve.clone(),
    };
    let ran = async {
        let (source, target) = crate::connectors::connect(&manifest.spec, &context).await?;
        run::run(&connection, &policy, &*source, &*target, &options).await
    };
    let notifications = Notifications {
        args: &args,
        manifest: &manifest,
        secrets: &context.secrets,
        run_id: format!("local-{:08x}", fastrand::u32(..)),
    };
    let output = match ran.await {
        Ok(output) => output,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("Nothing was changed in the target.");
            let summary = Summary::failed(
                &connection,
                mode,
                options.as_of.to_string(),
                error.category(),
            );
            notifications.send(&summary, Some(&error)).await;
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
    notifications.send(&output.summary, None).await;
    match output.summary.result {
        RunResult::Succeeded => ExitCode::SUCCESS,
        RunResult::Withheld => ExitCode::from(EXIT_WITHHELD),
        RunResult::Failed => ExitCode::from(EXIT_FAILED),
    }
}

/// The notifications of a local run: sent with `--notify` only, after the reports are written.
struct Notifications<'a> {
    args: &'a RunArgs,
    manifest: &'a Manifest,
    secrets: &'a SecretResolver,
    run_id: String,
}

impl Notifications<'_> {
    /// Sends them (with `--notify`) and says what became of them; without `--notify`, says
    /// that they were not sent.
    async fn send(&self, summary: &Summary, failure: Option<&RunError>) {
        let channels = self.manifest.spec.notifications.len();
        if channels == 0 {
            return;
        }
        if !self.args.notify {
            print_quietly(&format!(
                "Notifications: not sent ({channels} channel(s) in spec.notifications; pass \
                 --notify to send them)\n"
            ));
            return;
        }
        let run = FinishedRun {
            namespace: &self.manifest.namespace,
            name: &self.manifest.name,
            run_id: &self.run_id,
            summary,
            origin: Origin::Local {
                manifest: &self.args.file,
                out: &self.args.out,
            },
            refused_by: failure.and_then(notify::refused_side),
        };
        if let Some(report) = notify::notify(&self.manifest.spec, run, self.secrets).await {
            print_notifications(&report);
        }
    }
}

/// What became of the notifications, in one line (the log has a warning for each failed
/// delivery, with why).
fn print_notifications(report: &NotificationReport) {
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    let failed = if failures.is_empty() {
        String::new()
    } else {
        format!(": {}; the run's result is unchanged", failures.join(", "))
    };
    print_quietly(&format!(
        "Notifications: {} sent, {} not delivered{failed}\n",
        report.sent, report.failed
    ));
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

/// What to tell someone whose reports could not be written after the run: whether the target
/// was changed. An apply that made writes says so, with how many, since the reports were to be
/// their record.
fn report_failure_note(mode: RunMode, applied: &Applied) -> String {
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

pub(super) async fn list_fields(args: FieldsArgs) -> ExitCode {
    let (manifest, _) = match load_manifest(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let context = context_of(&manifest, args.secrets_dir, args.config_maps_dir);
    let listed = match source::build(&manifest.spec.source, &context).await {
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
fn missing_fields_warning(fields: &[SourceField]) -> Option<String> {
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
fn fields_table(fields: &[SourceField]) -> String {
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
         source's customFields (fieldMap.customFields for csv, afas and workday), then map \
         `customFields.<name>`.\n",
        fields.len()
    ));
    out
}
