//! The names of what a run is made of: its Job, its report Secrets, and the ServiceAccount,
//! Role and RoleBinding its connection's sync Jobs run as. Every name is at most 63 characters,
//! so it is also a valid label value.

use kube::ResourceExt;
use sha2::{Digest, Sha256};

use crate::{crd::HrisConnection, sync::report::RunMode};

/// Most Secrets one run's reports may take (about 57 MiB): the sync Job's Role names each of
/// them, so a run can write these and no other Secret.
pub const MAX_REPORT_SECRETS: usize = 64;

/// `<name><suffix>`, never over 63 characters: a name too long keeps its start and gains a
/// hash of the whole, so that two long names sharing a start still differ.
pub fn shortened_name(name: &str, suffix: &str) -> String {
    let room = 63usize.saturating_sub(suffix.len());
    if name.len() <= room {
        return format!("{name}{suffix}");
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest[..3].iter().map(|b| format!("{b:02x}")).collect();
    let keep = room.saturating_sub(hash.len() + 1);
    let prefix = name[..keep].trim_end_matches('-');
    format!("{prefix}-{hash}{suffix}")
}

/// The Job name of a run: `<connection>-<sim|apply>-<generation>-<run id>`, shortened with a
/// hash when the connection name is long, never over 63 characters.
pub fn job_name(connection: &HrisConnection, kind: RunMode, run_id: &str) -> String {
    let generation = connection.metadata.generation.unwrap_or(0);
    shortened_name(
        &connection.name_any(),
        &format!("-{}-{generation}-{run_id}", kind.job_name_part()),
    )
}

/// The kind of run a Job name (see [`job_name`]) says, for a Job that is gone and left only its
/// name behind.
pub fn kind_of_job_name(job_name: &str) -> RunMode {
    let apply = format!("-{}", RunMode::Apply.job_name_part());
    if job_name
        .rsplitn(3, '-')
        .nth(2)
        .is_some_and(|head| head.ends_with(&apply))
    {
        RunMode::Apply
    } else {
        RunMode::Simulate
    }
}

/// The name of a run's first report Secret; further parts add `-2`, `-3`, ….
pub fn report_name(job_name: &str) -> String {
    format!("{job_name}-report")
}

/// The name of the report Secret at `index` (0: `report` itself, then `report-2`, `report-3`, …).
pub fn report_part_name(report: &str, index: usize) -> String {
    match index {
        0 => report.to_owned(),
        n => format!("{report}-{}", n + 1),
    }
}

/// Every Secret name a run's reports may take, first to last (`MAX_REPORT_SECRETS` of them).
pub fn report_secret_names(report: &str) -> Vec<String> {
    (0..MAX_REPORT_SECRETS)
        .map(|index| report_part_name(report, index))
        .collect()
}

/// The one name of a connection's sync ServiceAccount, Role and RoleBinding:
/// `<connection>-sync`, shortened with a hash to 63 characters.
pub fn sync_access_name(connection: &HrisConnection) -> String {
    shortened_name(&connection.name_any(), "-sync")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::HrisConnectionSpec;

    fn connection(name: &str) -> HrisConnection {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(
            "source: {csv: {path: e.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'hr:'\n",
        )
        .unwrap();
        let mut connection = HrisConnection::new(name, spec);
        connection.metadata.namespace = Some("people".into());
        connection.metadata.generation = Some(7);
        connection
    }

    #[test]
    fn long_job_names_are_shortened_with_a_hash_to_63_characters() {
        let long = "a".repeat(60);
        let name = job_name(&connection(&long), RunMode::Simulate, "abcd1234");
        assert!(name.len() <= 63, "{name} ({})", name.len());
        assert!(name.ends_with("-sim-7-abcd1234"));
        let other = job_name(
            &connection(&format!("{long}b")),
            RunMode::Simulate,
            "abcd1234",
        );
        assert_ne!(name, other, "different connections never share a Job name");
    }

    #[test]
    fn a_job_name_says_its_kind() {
        for kind in [RunMode::Simulate, RunMode::Apply] {
            for name in ["acme", "apply", "acme-apply", "acme-sim", &"b".repeat(70)] {
                let job = job_name(&connection(name), kind, "ab12cd34");
                assert_eq!(kind_of_job_name(&job), kind, "{job}");
            }
        }
    }

    #[test]
    fn sync_access_names_are_deterministic_and_at_most_63_characters() {
        let long = "a-very-long-connection-name-for-the-people-of-the-northern-region-of-acme";
        let name = sync_access_name(&connection(long));
        assert!(name.len() <= 63, "{name} ({})", name.len());
        assert!(name.ends_with("-sync"), "{name}");
        assert_eq!(name, sync_access_name(&connection(long)));
        let other = sync_access_name(&connection(&format!("{long}-2")));
        assert!(other.len() <= 63);
        assert_ne!(name, other, "two long names sharing a start still differ");
        assert_eq!(sync_access_name(&connection("acme")), "acme-sync");
    }

    #[test]
    fn every_report_secret_name_follows_the_first() {
        let report = report_name("acme-apply-2-cd");
        let names = report_secret_names(&report);
        assert_eq!(names.len(), MAX_REPORT_SECRETS);
        assert_eq!(names[0], "acme-apply-2-cd-report");
        assert_eq!(names[1], "acme-apply-2-cd-report-2");
        assert_eq!(
            names.last().unwrap(),
            &format!("acme-apply-2-cd-report-{MAX_REPORT_SECRETS}")
        );
    }
}
