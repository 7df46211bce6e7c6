//! The kubectl side (`kubectl hris …`, the same binary installed as `kubectl-hris`, and
//! `hris-operator report`): requests are annotations the controller acts on once, `status`
//! reads the connections, `report` fetches a run's report files from their Secrets.

mod cluster;
mod report;
mod requests;
mod status;

pub use cluster::{ClusterName, client_config, cluster_client};
pub use report::{ReportError, Which, fetch_report};
pub use requests::{
    ApproveError, annotate, approve, hash_to_approve, request_simulation, request_sync,
};
pub use status::{list_connections, status_table};
