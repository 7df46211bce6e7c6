//! The labels and annotations the processes set and select by, all under `hris-operator.io/`.

use std::collections::BTreeMap;

use super::names::shortened_name;

/// Label naming the connection a Job, its sync access and its report Secrets belong to.
pub const CONNECTION_LABEL: &str = "hris-operator.io/connection";
/// Label holding the run id of a Job and of its report Secrets.
pub const RUN_LABEL: &str = "hris-operator.io/run";
/// Label telling a simulation from an apply.
pub const RUN_KIND_LABEL: &str = "hris-operator.io/run-kind";
/// Label holding the spec generation a Job runs with.
pub const GENERATION_LABEL: &str = "hris-operator.io/generation";
/// Label the controller sets on a Job once its run is recorded in status: a run is recorded
/// once, whatever the history keeps.
pub const RECORDED_LABEL: &str = "hris-operator.io/recorded";

/// Annotation holding the plan hash an apply was approved for.
pub const APPROVED_HASH_ANNOTATION: &str = "hris-operator.io/approved-hash";
/// Annotation of a report Secret: how many Secrets hold this run's reports.
pub const PARTS_ANNOTATION: &str = "hris-operator.io/report-parts";

/// Annotation of a connection: any new value requests one sync (an apply in `Active` mode).
pub const SYNC_REQUESTED: &str = "hris-operator.io/sync-requested-at";
/// Annotation of a connection: any new value requests one simulation.
pub const SIMULATE_REQUESTED: &str = "hris-operator.io/simulate-requested-at";
/// Annotation of a connection: a plan hash a person approves (a withheld plan, or a simulation
/// awaiting approval); it lets that plan through, that plan only.
pub const APPROVE_PLAN: &str = "hris-operator.io/approve-plan";

/// The value of [`CONNECTION_LABEL`] for a connection: its name, or for a name longer than a
/// label value may be (63 characters) the start of it and a hash of the whole.
pub fn connection_label(name: &str) -> String {
    shortened_name(name, "")
}

/// The labels of the objects a connection's sync runs with (its Jobs and Pods, its
/// ServiceAccount, Role and RoleBinding): the app's name, component and manager, and the
/// connection.
pub fn sync_workload_labels(connection_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_owned(),
            "hris-operator".to_owned(),
        ),
        ("app.kubernetes.io/component".to_owned(), "sync".to_owned()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "hris-operator".to_owned(),
        ),
        (
            CONNECTION_LABEL.to_owned(),
            connection_label(connection_name),
        ),
    ])
}
