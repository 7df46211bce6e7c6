//! The kind of a run — it only plans, or it also applies — is the sync core's
//! [`RunMode`](crate::sync::report::RunMode): the one enum every process uses. What lives here
//! are its spellings outside the core, which the processes must agree on: the `--mode` value of
//! `hris-operator sync`, the run-kind label of a Job, the kind in a Job's name, the kind status
//! records and the label of the runs metric.

use crate::sync::report::RunMode;

impl RunMode {
    /// `simulate` or `apply`: the `--mode` of `hris-operator sync`, the run-kind label value of
    /// a Job and the `kind` label of the runs metric.
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Simulate => "simulate",
            RunMode::Apply => "apply",
        }
    }

    /// The kind an [`as_str`](RunMode::as_str) value names; anything but `apply` reads as a
    /// simulation, the kind that changes nothing.
    pub fn from_value(value: &str) -> RunMode {
        if value == RunMode::Apply.as_str() {
            RunMode::Apply
        } else {
            RunMode::Simulate
        }
    }

    /// `Simulate` or `Apply`: the kind as status records it (`history[].kind`, `lastRunKind`).
    pub fn status_name(self) -> &'static str {
        match self {
            RunMode::Simulate => "Simulate",
            RunMode::Apply => "Apply",
        }
    }

    /// `sim` or `apply`: the kind in a Job's name (short, names have 63 characters).
    pub fn job_name_part(self) -> &'static str {
        match self {
            RunMode::Simulate => "sim",
            RunMode::Apply => "apply",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads_back() {
        for kind in [RunMode::Simulate, RunMode::Apply] {
            assert_eq!(RunMode::from_value(kind.as_str()), kind);
            // What summary.json says is what status says.
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.status_name())
            );
        }
        assert_eq!(RunMode::from_value("unknown"), RunMode::Simulate);
    }
}
