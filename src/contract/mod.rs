//! What the three processes of the binary must agree on: the controller that builds and watches
//! sync Jobs, the sync Job that runs in them (`hris-operator sync`), and the kubectl side that
//! asks for runs and reads their reports (`kubectl hris`, `hris-operator report`).
//!
//! Label and annotation names (`labels`), the names of Jobs, report Secrets and the sync
//! ServiceAccount (`names`), the spellings of a run's kind (`run_kind`), the termination message
//! (`termination`), how report files are stored in Secrets (`report_secrets`), the field
//! manager and where a sync Job finds its mounted files. Each process imports this module and
//! none imports another process, so a name changed here changes for all of them at once.

pub(crate) mod labels;
pub mod names;
pub mod report_secrets;
mod run_kind;
pub mod termination;

/// Field manager of everything the operator writes (status, sync access, report Secrets).
pub const FIELD_MANAGER: &str = "hris-operator";

/// Where secret references are mounted in the sync container (`DIR/NAME/KEY`).
pub const SECRETS_DIR: &str = "/var/run/secrets/hris-operator";
/// Where ConfigMap references are mounted in the sync container (`DIR/NAME/KEY`).
pub const CONFIG_MAPS_DIR: &str = "/var/run/configmaps/hris-operator";
/// Where the sync container writes its termination message: Kubernetes' default path, which
/// the Job leaves as it is.
pub const TERMINATION_LOG: &str = "/dev/termination-log";
