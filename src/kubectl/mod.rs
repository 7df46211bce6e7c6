//! The kubectl side (`kubectl hris …`, the same binary installed as `kubectl-hris`, and
//! `hris-operator report`): requests are annotations the controller acts on once, `status`
//! reads the connections, `report` fetches a run's report files from their Secrets.

mod cluster;
mod report;
mod requests;
mod status_table;

pub use cluster::{ClusterName, client_config, cluster_client};
pub use report::{ReportError, Which, fetch_report};
pub use requests::{annotate, hash_to_approve};
pub use status_table::status_table;
