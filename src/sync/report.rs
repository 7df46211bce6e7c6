//! Reports of a run: CSV files with personal data (for people with access to the reports),
//! `summary.json` without any (safe for status, termination messages and logs), and the table
//! `simulate`/`apply` print.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    apply::{Applied, Outcome},
    model::{AttrChange, RecordError},
    plan::{Change, ChangeKind, Plan, SafeguardTrip},
    ports::target::TargetErrorKind,
};

/// The report files every run writes.
pub const REPORT_FILES: [&str; 8] = [
    "created.csv",
    "updated.csv",
    "deactivated.csv",
    "deleted.csv",
    "conflicts.csv",
    "skipped.csv",
    "errors.csv",
    "summary.json",
];

/// Most changes listed in `summary.json`'s sample (and so in `status.changeSample`).
pub const SAMPLE_SIZE: usize = 20;

/// Whether a run only planned or also applied.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Planned only.
    Simulate,
    /// Planned and applied.
    Apply,
}

/// How a run ended.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// Every planned change was made (or, for a simulation, planned).
    Succeeded,
    /// The run failed; nothing after the failure was applied.
    Failed,
    /// A safeguard withheld the changes it guards; the other changes went through.
    Withheld,
}

impl RunResult {
    /// The name used in reports and status.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Succeeded => "Succeeded",
            RunResult::Failed => "Failed",
            RunResult::Withheld => "Withheld",
        }
    }
}

/// What a run did (a simulation: would do), counted by kind.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    /// Users created.
    pub created: u64,
    /// Users updated (including adopted and reactivated users).
    pub updated: u64,
    /// Users deactivated.
    pub deactivated: u64,
    /// Users deleted.
    pub deleted: u64,
    /// Users already in the desired state.
    pub unchanged: u64,
    /// Employees not provisioned yet or changes not allowed by `operations` (every row of
    /// skipped.csv, the seat-limited ones included).
    pub skipped: u64,
    /// Employees that could not be matched safely.
    pub conflicts: u64,
    /// Source records and writes that failed.
    pub errors: u64,
    /// Creates and reactivations not attempted because they would pass
    /// `safeguards.seatLimit` (also counted in `skipped`).
    #[serde(default)]
    pub seat_limited: u64,
}

/// One change, without personal data: what is done to which externalId, and which attributes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSample {
    /// `Create`, `Update`, `Deactivate` or `Delete`.
    pub action: String,
    /// The user's externalId.
    pub external_id: String,
    /// Names of the changed attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

/// `summary.json`: the run without personal data.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `namespace/name` of the connection.
    pub connection: String,
    /// Simulate or Apply.
    pub mode: RunMode,
    /// Date lifecycle rules were evaluated on.
    pub as_of: String,
    /// Succeeded, Failed or Withheld.
    pub result: RunResult,
    /// What the run did (a simulation: would do).
    pub counts: ChangeCounts,
    /// The hash to approve: the whole plan for a simulation, the withheld remainder for an
    /// apply that withheld removals, the applied plan otherwise.
    pub plan_hash: String,
    /// Why removals were withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard: Option<SafeguardTrip>,
    /// Employees the source returned.
    pub source_employees: usize,
    /// Users in the target before the run.
    pub target_users: usize,
    /// Users managed by this connection before the run.
    pub managed_users: usize,
    /// Some of the changes, by externalId and attribute names.
    pub sample: Vec<ChangeSample>,
    /// Category of the failure that ended a failed run, or of the first write failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_category: Option<String>,
    /// The seats, when `safeguards.seatLimit` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<SeatUse>,
    /// Writes that failed for lack of licenses or seats: refused by the target, or not
    /// attempted because a removal that was to free a seat failed (also counted in `errors`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub license_failures: u64,
    /// Failed writes by category (`UserConflict`, `LicenseLimitExceeded`, …): manager links
    /// included, so the counts add up to the write failures within `counts.errors`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, u64>,
    /// What became of the run's notifications. Sent after the reports are stored, so it is in
    /// the summary the controller reads, not in `summary.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<NotificationReport>,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// The seats of a run under `safeguards.seatLimit`, without personal data.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SeatUse {
    /// `safeguards.seatLimit`.
    pub limit: u32,
    /// Active users in the target before the run, managed by this connection or not.
    pub active_before: u64,
    /// Active users once the planned changes are made (withheld ones not counted).
    pub active_after: u64,
}

/// Most failed deliveries a summary lists one by one (it counts all of them).
pub const NOTIFICATION_FAILURES_LISTED: usize = 8;

/// The notifications of a run: how many were delivered, and which were not.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotificationReport {
    /// Messages delivered.
    pub sent: u64,
    /// Messages that could not be delivered, after their retries.
    pub failed: u64,
    /// The first [`NOTIFICATION_FAILURES_LISTED`] failed deliveries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<NotificationFailure>,
}

/// One message that could not be delivered; shown as
/// `spec.notifications[1] (webhook) SyncFailed: Unreachable`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotificationFailure {
    /// The channel's index in `spec.notifications`.
    pub channel: usize,
    /// The channel's kind: `slack`, `msTeams`, `webhook` or `email`.
    pub kind: String,
    /// The event the message was about.
    pub event: String,
    /// Why: `SecretUnreadable`, `InvalidUrl`, `InvalidAddress`, `Unreachable` or `Refused`.
    pub reason: String,
}

impl std::fmt::Display for NotificationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "spec.notifications[{}] ({}) {}: {}",
            self.channel, self.kind, self.event, self.reason
        )
    }
}

impl Summary {
    /// The summary of a run that failed before planning (nothing was written).
    pub fn failed(connection: &str, mode: RunMode, as_of: String, category: &str) -> Self {
        Summary {
            connection: connection.to_owned(),
            mode,
            as_of,
            result: RunResult::Failed,
            counts: ChangeCounts::default(),
            plan_hash: String::new(),
            safeguard: None,
            source_employees: 0,
            target_users: 0,
            managed_users: 0,
            sample: Vec::new(),
            error_category: Some(category.to_owned()),
            seats: None,
            license_failures: 0,
            failures: BTreeMap::new(),
            notifications: None,
        }
    }
}

/// Builds the summary of a planned (and possibly applied) run.
pub fn summarize(
    connection: &str,
    mode: RunMode,
    plan: &Plan,
    applied: &Applied,
    record_errors: &[RecordError],
    target_users: usize,
) -> Summary {
    let counted = |kind: ChangeKind| {
        plan.changes
            .iter()
            .zip(&applied.outcomes)
            .filter(|(c, o)| c.kind == kind && matches!(o, Outcome::Applied | Outcome::Planned))
            .count() as u64
    };
    let failures = applied.failures();
    let counts = ChangeCounts {
        created: counted(ChangeKind::Create),
        updated: counted(ChangeKind::Update),
        deactivated: counted(ChangeKind::Deactivate),
        deleted: counted(ChangeKind::Delete),
        unchanged: plan.unchanged as u64,
        skipped: plan.skipped.len() as u64,
        conflicts: plan.conflicts.len() as u64,
        errors: (record_errors.len() + failures) as u64,
        seat_limited: plan.held_back().len() as u64,
    };
    let result = if failures > 0 {
        RunResult::Failed
    } else if plan.safeguard.is_some() {
        RunResult::Withheld
    } else {
        RunResult::Succeeded
    };
    let plan_hash = match mode {
        RunMode::Apply => plan.withheld_hash().unwrap_or_else(|| plan.hash.clone()),
        RunMode::Simulate => plan.hash.clone(),
    };
    let error_category = applied
        .outcomes
        .iter()
        .find_map(|o| match o {
            Outcome::Failed(e) => Some(e.kind.as_str().to_owned()),
            _ => None,
        })
        .or_else(|| {
            applied
                .link_failures
                .first()
                .map(|f| f.error.kind.as_str().to_owned())
        });
    let mut failures_by_category = BTreeMap::new();
    let failed = applied.outcomes.iter().filter_map(|o| match o {
        Outcome::Failed(e) => Some(e),
        _ => None,
    });
    for error in failed.chain(applied.link_failures.iter().map(|f| &f.error)) {
        *failures_by_category
            .entry(error.kind.as_str().to_owned())
            .or_insert(0) += 1;
    }
    let license_failures = failures_by_category
        .get(TargetErrorKind::LicenseLimitExceeded.as_str())
        .copied()
        .unwrap_or(0);
    let sample = plan
        .changes
        .iter()
        .chain(&plan.withheld)
        .take(SAMPLE_SIZE)
        .map(|c| ChangeSample {
            action: c.kind.as_str().to_owned(),
            external_id: c.external_id.to_string(),
            attributes: c.changes.iter().map(|a| a.attr.name().to_owned()).collect(),
        })
        .collect();
    Summary {
        connection: connection.to_owned(),
        mode,
        as_of: plan.as_of.to_string(),
        result,
        counts,
        plan_hash,
        safeguard: plan.safeguard.clone(),
        source_employees: plan.employees,
        target_users,
        managed_users: plan.managed_users,
        sample,
        error_category,
        seats: plan.seats.as_ref().map(|seats| SeatUse {
            limit: seats.limit,
            active_before: seats.active_before as u64,
            active_after: seats.active_after as u64,
        }),
        license_failures,
        failures: failures_by_category,
        notifications: None,
    }
}

/// Every change with its outcome, the withheld ones last.
fn rows<'a>(plan: &'a Plan, applied: &'a Applied) -> impl Iterator<Item = (&'a Change, Outcome)> {
    plan.changes
        .iter()
        .zip(applied.outcomes.iter().cloned())
        .chain(plan.withheld.iter().map(|c| (c, Outcome::Withheld)))
}

fn display(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

fn describe_changes(changes: &[AttrChange]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.attr.name(),
                display(c.before.as_ref()),
                display(c.after.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn error_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed(error) => error.to_string(),
        _ => String::new(),
    }
}

/// The characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection
/// list): `=`, `+`, `-`, `@`, tab and carriage return.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A report cell that a spreadsheet will show as text: a cell starting with a formula
/// character gets a leading `'`. Report cells hold HR and directory data, and a name such as
/// `=HYPERLINK(…)` must not run when someone opens the report. Plain numbers (`-5`, `+3.25`)
/// are left as they are: they are no formula, and a spreadsheet computes with them as numbers.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) && !is_plain_number(value) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// An optional sign, digits, and at most one decimal point among them: nothing a
/// spreadsheet could evaluate beyond the number itself (no exponent, no `inf`).
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    !(whole.is_empty() && fraction.is_empty())
        && whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
}

/// A CSV writer whose every cell goes through [`csv_cell`].
struct SafeWriter(csv::Writer<std::fs::File>);

impl SafeWriter {
    fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.0.write_record(
            record
                .into_iter()
                .map(|cell| csv_cell(cell.as_ref()).into_owned()),
        )
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The `outcome` of a row of `conflicts.csv` or `skipped.csv`: in a simulation `planned`, as every
/// row of a simulation is (it reports what an apply would); in an apply `untouched_as`, since
/// those people were left as they were.
fn untouched(mode: RunMode, untouched_as: &'static str) -> &'static str {
    match mode {
        RunMode::Simulate => Outcome::Planned.as_str(),
        RunMode::Apply => untouched_as,
    }
}

/// Writes every report file into `dir` (created if missing). Files are always written, empty
/// ones with just their header, so a reader can rely on them.
pub fn write_reports(
    dir: &Path,
    plan: &Plan,
    applied: &Applied,
    record_errors: &[RecordError],
    mapped: &[std::sync::Arc<str>],
    summary: &Summary,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let writer = |name: &str| csv::Writer::from_path(dir.join(name)).map(SafeWriter);
    write_created(writer("created.csv")?, plan, applied, mapped)?;
    write_updated(writer("updated.csv")?, plan, applied)?;
    for (kind, name) in [
        (ChangeKind::Deactivate, "deactivated.csv"),
        (ChangeKind::Delete, "deleted.csv"),
    ] {
        write_removals(writer(name)?, kind, plan, applied)?;
    }
    write_conflicts(writer("conflicts.csv")?, plan, summary.mode)?;
    write_skipped(writer("skipped.csv")?, plan, summary.mode)?;
    write_errors(writer("errors.csv")?, plan, applied, record_errors)?;
    let json = serde_json::to_vec_pretty(summary).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("summary.json"), json)
}

/// An optional id as a report cell.
fn id(value: &Option<compact_str::CompactString>) -> String {
    value.as_deref().unwrap_or("").to_owned()
}

/// `created.csv`: one row per created user, with its mapped attributes.
fn write_created(
    mut created: SafeWriter,
    plan: &Plan,
    applied: &Applied,
    mapped: &[std::sync::Arc<str>],
) -> std::io::Result<()> {
    let mut header = vec![
        "outcome",
        "externalId",
        "employeeId",
        "email",
        "firstName",
        "lastName",
        "active",
        "manager",
        "reason",
        "error",
    ];
    header.extend(mapped.iter().map(|m| m.as_ref()));
    created.write_record(&header)?;
    for (change, outcome) in rows(plan, applied).filter(|(c, _)| c.kind == ChangeKind::Create) {
        let user = change.create.as_ref().expect("a Create carries its user");
        let mut record = vec![
            outcome.as_str().to_owned(),
            change.external_id.to_string(),
            id(&change.employee_id),
            user.email.to_string(),
            user.first_name.to_string(),
            user.last_name.to_string(),
            user.active.to_string(),
            id(&user.manager),
            format!("{:?}", change.reason),
            error_text(&outcome),
        ];
        record.extend(mapped.iter().map(|m| display(user.attributes.get(m))));
        created.write_record(&record)?;
    }
    created.flush()
}

/// `updated.csv`: one row per changed attribute.
fn write_updated(mut updated: SafeWriter, plan: &Plan, applied: &Applied) -> std::io::Result<()> {
    updated.write_record([
        "outcome",
        "externalId",
        "employeeId",
        "targetId",
        "email",
        "reason",
        "attribute",
        "before",
        "after",
        "error",
    ])?;
    for (change, outcome) in rows(plan, applied).filter(|(c, _)| c.kind == ChangeKind::Update) {
        for attr in &change.changes {
            updated.write_record([
                outcome.as_str(),
                &change.external_id,
                &id(&change.employee_id),
                &id(&change.target_id),
                &id(&change.email),
                &format!("{:?}", change.reason),
                attr.attr.name(),
                &display(attr.before.as_ref()),
                &display(attr.after.as_ref()),
                &error_text(&outcome),
            ])?;
        }
    }
    updated.flush()
}

/// `deactivated.csv` or `deleted.csv`: one row per removal of `kind`.
fn write_removals(
    mut file: SafeWriter,
    kind: ChangeKind,
    plan: &Plan,
    applied: &Applied,
) -> std::io::Result<()> {
    file.write_record([
        "outcome",
        "externalId",
        "employeeId",
        "targetId",
        "email",
        "reason",
        "changes",
        "error",
    ])?;
    for (change, outcome) in rows(plan, applied).filter(|(c, _)| c.kind == kind) {
        file.write_record([
            outcome.as_str(),
            &change.external_id,
            &id(&change.employee_id),
            &id(&change.target_id),
            &id(&change.email),
            &format!("{:?}", change.reason),
            &describe_changes(&change.changes),
            &error_text(&outcome),
        ])?;
    }
    file.flush()
}

/// `conflicts.csv`: one row per conflict, with how to resolve it.
fn write_conflicts(mut conflicts: SafeWriter, plan: &Plan, mode: RunMode) -> std::io::Result<()> {
    conflicts.write_record([
        "outcome",
        "employeeId",
        "email",
        "kind",
        "targetIds",
        "targetExternalIds",
        "resolution",
    ])?;
    for conflict in &plan.conflicts {
        let joined = |ids: &[compact_str::CompactString]| {
            ids.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" ")
        };
        conflicts.write_record([
            untouched(mode, "conflict"),
            conflict.employee_id.as_str(),
            conflict.email.as_deref().unwrap_or(""),
            &format!("{:?}", conflict.kind),
            &joined(&conflict.target_ids),
            &joined(&conflict.holders),
            &conflict.resolution(),
        ])?;
    }
    conflicts.flush()
}

/// `skipped.csv`: one row per employee or change left alone.
fn write_skipped(mut skipped: SafeWriter, plan: &Plan, mode: RunMode) -> std::io::Result<()> {
    skipped.write_record(["outcome", "employeeId", "externalId", "reason", "detail"])?;
    for skip in &plan.skipped {
        skipped.write_record([
            untouched(mode, "skipped"),
            &id(&skip.employee_id),
            skip.external_id.as_str(),
            skip.reason.code(),
            &skip.reason.describe(),
        ])?;
    }
    skipped.flush()
}

/// `errors.csv`: the unreadable source records, the failed writes and the failed manager links.
fn write_errors(
    mut errors: SafeWriter,
    plan: &Plan,
    applied: &Applied,
    record_errors: &[RecordError],
) -> std::io::Result<()> {
    // Every row is a failure that happened, in a simulation too (a simulation reads the source).
    let failed = Outcome::FAILED;
    errors.write_record([
        "outcome",
        "stage",
        "line",
        "employeeId",
        "externalId",
        "field",
        "message",
    ])?;
    for error in record_errors {
        errors.write_record([
            failed,
            "source",
            &error.line.map(|l| l.to_string()).unwrap_or_default(),
            &id(&error.employee_id),
            "",
            error.field.as_deref().unwrap_or(""),
            &error.message,
        ])?;
    }
    for (change, outcome) in rows(plan, applied) {
        if let Outcome::Failed(error) = outcome {
            errors.write_record([
                failed,
                "target",
                "",
                &id(&change.employee_id),
                &change.external_id,
                "",
                &error.to_string(),
            ])?;
        }
    }
    for failure in &applied.link_failures {
        errors.write_record([
            failed,
            "target",
            "",
            "",
            &failure.external_id,
            "manager",
            &failure.error.to_string(),
        ])?;
    }
    errors.flush()
}

/// Text from the data made safe to print on a terminal: C0 and C1 control characters (line
/// breaks and tabs included) and DEL are removed, and so is the whole of every escape
/// sequence (CSI such as `ESC [ 31 m`, OSC such as a window title or a hyperlink, and the
/// string sequences DCS, SOS, PM, APC), so a name cannot move the cursor, recolour the
/// terminal, retitle the window or forge a line of the table.
pub fn terminal_text(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        // The 7-bit form (ESC and a letter) and the 8-bit form (one C1 character) open the
        // same sequences.
        let opener = match c {
            '\u{1b}' => Some(match chars.next_if(|n| ('\u{40}'..='\u{5f}').contains(n)) {
                Some(n) => Sequence::of(char::from_u32(u32::from(n) + 0x40).unwrap_or(n)),
                None => Sequence::Escape,
            }),
            '\u{80}'..='\u{9f}' => Some(Sequence::of(c)),
            c if c.is_control() => None,
            c => {
                out.push(c);
                continue;
            }
        };
        match opener {
            // A lone control character: dropped.
            None | Some(Sequence::Single) => {}
            // ESC, intermediates (space to /), then one final character.
            Some(Sequence::Escape) => {
                while chars.next_if(|n| (' '..='/').contains(n)).is_some() {}
                chars.next_if(|n| ('0'..='~').contains(n));
            }
            // Parameters and intermediates (0x20 to 0x3F), then one final character.
            Some(Sequence::Csi) => {
                while chars.next_if(|n| (' '..='?').contains(n)).is_some() {}
                chars.next_if(|n| ('@'..='~').contains(n));
            }
            // Up to the string terminator (ESC \ or ST), or BEL for OSC.
            Some(Sequence::Text) => {
                while let Some(n) = chars.next() {
                    if n == '\u{7}' || n == '\u{9c}' {
                        break;
                    }
                    if n == '\u{1b}' {
                        chars.next_if_eq(&'\\');
                        break;
                    }
                }
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What an escape opens, by its C1 character.
enum Sequence {
    /// ESC followed by something other than a C1 letter.
    Escape,
    /// Control Sequence Introducer.
    Csi,
    /// A string sequence: DCS, SOS, OSC, PM or APC.
    Text,
    /// Any other C1 control: nothing follows.
    Single,
}

impl Sequence {
    fn of(c1: char) -> Sequence {
        match c1 {
            '\u{9b}' => Sequence::Csi,
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Sequence::Text,
            _ => Sequence::Single,
        }
    }
}

/// Most changes of one kind listed in the table.
pub const TABLE_ROWS: usize = 15;

/// The table `simulate` and `apply` print: counts, then changes per user, cut for big plans.
pub fn render_table(summary: &Summary, plan: &Plan, applied: &Applied) -> String {
    let mut out = String::new();
    let c = &summary.counts;
    let verb = match summary.mode {
        RunMode::Simulate => "would be",
        RunMode::Apply => "were",
    };
    let _ = writeln!(
        out,
        "{} — {:?} as of {}: {} employees in the source, {} users in the target ({} managed)\n",
        terminal_text(&summary.connection),
        summary.mode,
        summary.as_of,
        summary.source_employees,
        summary.target_users,
        summary.managed_users
    );
    let mut counts = vec![
        ("created", c.created),
        ("updated", c.updated),
        ("deactivated", c.deactivated),
        ("deleted", c.deleted),
        ("unchanged", c.unchanged),
        ("skipped", c.skipped),
        ("conflicts", c.conflicts),
        ("errors", c.errors),
    ];
    if summary.seats.is_some() || c.seat_limited > 0 {
        counts.push(("seat-limited", c.seat_limited));
    }
    for (label, count) in counts {
        let _ = writeln!(out, "  {label:<12} {count:>7}");
    }
    out.push('\n');
    let sections = [
        (ChangeKind::Create, "Created"),
        (ChangeKind::Update, "Updated"),
        (ChangeKind::Deactivate, "Deactivated"),
        (ChangeKind::Delete, "Deleted"),
    ];
    for (kind, title) in sections {
        let all: Vec<_> = rows(plan, applied)
            .filter(|(c, _)| c.kind == kind)
            .collect();
        if !all.is_empty() {
            let _ = writeln!(out, "{title} ({} {verb}):", all.len());
            write_changes(&mut out, &all);
        }
    }
    if let Some(seats) = &plan.seats
        && !seats.held_back.is_empty()
    {
        let held: Vec<_> = seats
            .held_back
            .iter()
            .map(|c| (c, Outcome::Planned))
            .collect();
        let _ = writeln!(
            out,
            "Held back by seatLimit {} ({} {} created or reactivated):",
            seats.limit,
            held.len(),
            match summary.mode {
                RunMode::Simulate => "would not be",
                RunMode::Apply => "were not",
            }
        );
        write_changes(&mut out, &held);
    }
    write_conflicts_table(&mut out, plan);
    let _ = writeln!(
        out,
        "Result: {}   plan hash: {}",
        summary.result.as_str(),
        summary.plan_hash
    );
    write_seats(&mut out, summary);
    write_safeguard(&mut out, summary);
    out
}

/// Rows of changes of one kind, cut at [`TABLE_ROWS`], and a blank line.
fn write_changes(out: &mut String, all: &[(&Change, Outcome)]) {
    for (change, outcome) in all.iter().take(TABLE_ROWS) {
        let detail = match change.kind {
            ChangeKind::Create => {
                let user = change.create.as_ref().expect("a Create carries its user");
                format!(
                    "{} {} <{}>{}",
                    terminal_text(&user.first_name),
                    terminal_text(&user.last_name),
                    terminal_text(&user.email),
                    if user.active { "" } else { " (inactive)" }
                )
            }
            ChangeKind::Delete => terminal_text(change.email.as_deref().unwrap_or("")).into(),
            _ => terminal_text(&describe_changes(&change.changes)).into_owned(),
        };
        let status = match outcome {
            Outcome::Planned | Outcome::Applied => String::new(),
            other => format!(" [{}]", other.as_str()),
        };
        let _ = writeln!(
            out,
            "  {:<24} {:<13} {detail}{status}",
            terminal_text(&change.external_id),
            format!("{:?}", change.reason)
        );
    }
    if all.len() > TABLE_ROWS {
        let _ = writeln!(
            out,
            "  … and {} more (see the report files)",
            all.len() - TABLE_ROWS
        );
    }
    out.push('\n');
}

fn write_conflicts_table(out: &mut String, plan: &Plan) {
    if plan.conflicts.is_empty() {
        return;
    }
    let _ = writeln!(out, "Conflicts ({}):", plan.conflicts.len());
    for conflict in plan.conflicts.iter().take(TABLE_ROWS) {
        let _ = writeln!(
            out,
            "  employee {:<14} {:<20} {}",
            terminal_text(&conflict.employee_id),
            format!("{:?}", conflict.kind),
            terminal_text(conflict.email.as_deref().unwrap_or(""))
        );
    }
    if plan.conflicts.len() > TABLE_ROWS {
        let _ = writeln!(out, "  … and {} more", plan.conflicts.len() - TABLE_ROWS);
    }
    out.push('\n');
}

/// The seat limit's line (how many active users before and after, how many held back) and the
/// writes that failed for lack of licenses.
fn write_seats(out: &mut String, summary: &Summary) {
    if let Some(seats) = &summary.seats {
        let _ = write!(
            out,
            "Seats: seatLimit {}, {} active users in the target before the run, {} after",
            seats.limit, seats.active_before, seats.active_after
        );
        match summary.counts.seat_limited {
            0 => out.push('\n'),
            held => {
                let _ = writeln!(
                    out,
                    "; {held} creates or reactivations held back (skipped.csv, reason SeatLimit)"
                );
            }
        }
    }
    if summary.license_failures > 0 {
        let _ = writeln!(
            out,
            "Licenses: {} writes failed for lack of licenses or seats (see errors.csv)",
            summary.license_failures
        );
    }
}

fn write_safeguard(out: &mut String, summary: &Summary) {
    let Some(trip) = &summary.safeguard else {
        return;
    };
    let _ = writeln!(out, "Safeguard: {} changes withheld", trip.withheld);
    if trip.empty_source {
        let _ = writeln!(
            out,
            "  the source returned no employees; nobody is removed on an empty source"
        );
    }
    if trip.outdated_approval.is_some() {
        let _ = writeln!(out, "  {}", terminal_text(&trip.limit));
    }
    for guard in &trip.guards {
        let _ = writeln!(out, "  {}", terminal_text(&guard.limit));
    }
    if !trip.empty_source {
        let _ = writeln!(
            out,
            "  To let exactly these changes through, run again with --approve {}",
            summary.plan_hash
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{
        model::{Attr, NewUser},
        plan::Reason,
    };

    #[test]
    fn formula_cells_get_a_leading_quote_and_numbers_and_text_do_not() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"https://x.example\",\"pay\")",
                "'=HYPERLINK(\"https://x.example\",\"pay\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tTAB", "'\tTAB"),
            ("\rCR", "'\rCR"),
            ("-", "'-"),
            ("+46 70 123 45 67", "'+46 70 123 45 67"),
            ("-1e5", "'-1e5"),
            ("-inf", "'-inf"),
            ("-5", "-5"),
            ("+3.25", "+3.25"),
            ("-.5", "-.5"),
            ("Ada", "Ada"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(cell), written, "{cell:?}");
        }
    }

    #[test]
    fn terminal_text_drops_controls_and_whole_escape_sequences() {
        for (text, shown) in [
            ("Åsa Lind", "Åsa Lind"),
            ("\u{1b}[31mRed\u{1b}[0m", "Red"),
            ("\u{1b}[2J\u{1b}[1;1HAda", "Ada"),
            ("\u{1b}]0;pwned\u{7}Ada", "Ada"),
            (
                "\u{1b}]8;;https://x.example\u{1b}\\link\u{1b}]8;;\u{1b}\\",
                "link",
            ),
            ("\u{9b}31mAda", "Ada"),
            ("\u{1b}PdataAda\u{1b}\\!", "!"),
            ("\u{1b}7Ada\u{1b}8", "Ada"),
            ("\u{1b}(BAda", "Ada"),
            ("Ada\r\nResult: Succeeded", "AdaResult: Succeeded"),
            ("A\u{8}\u{7}\u{0}\u{7f}\u{85}da", "Ada"),
            ("\u{1b}", ""),
        ] {
            assert_eq!(terminal_text(text), shown, "{text:?}");
        }
    }

    fn hostile_plan() -> (Plan, Applied) {
        let create = Change {
            kind: ChangeKind::Create,
            reason: Reason::Joiner,
            external_id: "acme:\u{1b}[2J1".into(),
            employee_id: Some("=1+1".into()),
            target_id: None,
            version: None,
            email: Some("ada@acme.example".into()),
            create: Some(NewUser {
                external_id: "acme:1".into(),
                email: "ada@acme.example".into(),
                first_name: "=HYPERLINK(\"https://x.example\")".into(),
                last_name: "\u{1b}[31mLind\u{1b}]0;owned\u{7}".into(),
                active: true,
                ..NewUser::default()
            }),
            changes: Vec::new(),
        };
        let update = Change {
            kind: ChangeKind::Update,
            reason: Reason::Changed,
            external_id: "acme:2".into(),
            employee_id: Some("2".into()),
            target_id: Some("u2".into()),
            version: None,
            email: Some("bo@acme.example".into()),
            create: None,
            changes: vec![AttrChange {
                attr: Attr::LastName,
                before: Some(Value::String("-5".into())),
                after: Some(Value::String("@evil\nResult: Succeeded".into())),
            }],
        };
        let plan = Plan {
            as_of: jiff::civil::date(2026, 11, 22),
            changes: vec![create, update],
            withheld: Vec::new(),
            safeguard: None,
            conflicts: Vec::new(),
            skipped: Vec::new(),
            unchanged: 0,
            managed_users: 0,
            employees: 2,
            hash: "h".into(),
            seats: None,
        };
        let applied = Applied::simulated(&plan);
        (plan, applied)
    }

    #[test]
    fn report_cells_holding_formulas_are_written_as_text() {
        let (plan, applied) = hostile_plan();
        let summary = summarize("people/acme", RunMode::Simulate, &plan, &applied, &[], 0);
        let dir = tempfile::tempdir().unwrap();
        write_reports(dir.path(), &plan, &applied, &[], &[], &summary).unwrap();
        let rows = |name: &str| -> Vec<Vec<String>> {
            csv::Reader::from_path(dir.path().join(name))
                .unwrap()
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect()
        };
        let created = &rows("created.csv")[0];
        assert_eq!(created[2], "'=1+1");
        assert_eq!(created[4], "'=HYPERLINK(\"https://x.example\")");
        let updated = &rows("updated.csv")[0];
        assert_eq!(updated[7], "-5", "a plain number stays a number");
        assert_eq!(updated[8], "'@evil\nResult: Succeeded");
    }

    #[test]
    fn the_table_carries_no_control_character_from_the_data() {
        let (plan, applied) = hostile_plan();
        let summary = summarize("people/acme", RunMode::Simulate, &plan, &applied, &[], 0);
        let table = render_table(&summary, &plan, &applied);
        assert!(
            !table.chars().any(|c| c.is_control() && c != '\n'),
            "{table:?}"
        );
        assert!(
            table.contains("=HYPERLINK(\"https://x.example\") Lind <ada@acme.example>"),
            "{table}"
        );
        assert!(
            table.contains("lastName: -5 → @evilResult: Succeeded"),
            "{table}"
        );
        assert_eq!(
            table.lines().filter(|l| l.starts_with("Result:")).count(),
            1,
            "no forged result line: {table}"
        );
    }
}
