//! How a run's report files are stored in the cluster, and read back: in Secrets owned by the
//! connection (they hold personal data), each under 900 KiB, a file larger than that split into
//! numbered parts. The sync Job writes them; the kubectl side reads them.

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{Resource, ResourceExt};

use super::{
    labels::{CONNECTION_LABEL, PARTS_ANNOTATION, RUN_LABEL, connection_label},
    names::report_part_name,
};
use crate::crd::HrisConnection;

/// Most data bytes in one report Secret (Secrets may hold 1 MiB in all).
pub const SECRET_DATA_LIMIT: usize = 900 * 1024;

/// Reports that would need more Secrets than a run may write.
#[derive(Debug, thiserror::Error)]
#[error("the reports need {needed} Secrets; a run may write at most {max}")]
pub struct ReportTooLarge {
    /// Secrets the reports would take.
    pub needed: usize,
    /// Secrets a run may write.
    pub max: usize,
}

/// `report_secrets`, refused as a whole when they would be more than `max_secrets` (the
/// sync's Role allows no more), so that nothing is written in part.
pub fn bounded_report_secrets(
    connection: &HrisConnection,
    report: &str,
    run_id: &str,
    files: &[(String, Vec<u8>)],
    limit: usize,
    max_secrets: usize,
) -> Result<Vec<Secret>, ReportTooLarge> {
    let secrets = report_secrets(connection, report, run_id, files, limit);
    if secrets.len() > max_secrets {
        return Err(ReportTooLarge {
            needed: secrets.len(),
            max: max_secrets,
        });
    }
    Ok(secrets)
}

/// The Secrets holding a run's report files, in order. A file over the limit is stored as
/// `NAME.part-000`, `NAME.part-001`, … so it reads back byte for byte.
pub fn report_secrets(
    connection: &HrisConnection,
    report: &str,
    run_id: &str,
    files: &[(String, Vec<u8>)],
    limit: usize,
) -> Vec<Secret> {
    let mut pieces: Vec<(String, &[u8])> = Vec::new();
    for (name, bytes) in files {
        if bytes.len() <= limit {
            pieces.push((name.clone(), bytes));
        } else {
            for (index, chunk) in bytes.chunks(limit).enumerate() {
                pieces.push((format!("{name}.part-{index:03}"), chunk));
            }
        }
    }
    let mut groups: Vec<BTreeMap<String, ByteString>> = vec![BTreeMap::new()];
    let mut size = 0;
    for (key, bytes) in pieces {
        if size + bytes.len() > limit && !groups.last().is_some_and(BTreeMap::is_empty) {
            groups.push(BTreeMap::new());
            size = 0;
        }
        size += bytes.len();
        groups
            .last_mut()
            .expect("at least one group")
            .insert(key, ByteString(bytes.to_vec()));
    }
    let parts = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(index, data)| Secret {
            metadata: ObjectMeta {
                name: Some(report_part_name(report, index)),
                namespace: connection.namespace(),
                labels: Some(BTreeMap::from([
                    (
                        CONNECTION_LABEL.to_owned(),
                        connection_label(&connection.name_any()),
                    ),
                    (RUN_LABEL.to_owned(), run_id.to_owned()),
                    (
                        "app.kubernetes.io/managed-by".to_owned(),
                        "hris-operator".to_owned(),
                    ),
                ])),
                annotations: Some(BTreeMap::from([(
                    PARTS_ANNOTATION.to_owned(),
                    parts.to_string(),
                )])),
                owner_references: connection.controller_owner_ref(&()).map(|o| vec![o]),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: Some(data),
            ..Secret::default()
        })
        .collect()
}

/// The report files of a run, read back from its Secrets (in any order), parts joined.
pub fn report_files(secrets: &[Secret]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let expected: usize = secrets
        .first()
        .and_then(|s| s.annotations().get(PARTS_ANNOTATION))
        .and_then(|n| n.parse().ok())
        .ok_or("the report Secrets carry no part count")?;
    if secrets.len() != expected {
        return Err(format!(
            "the report is split over {expected} Secrets but {} were found",
            secrets.len()
        ));
    }
    let mut whole: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut parts: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for secret in secrets {
        for (key, value) in secret.data.iter().flatten() {
            match key.rsplit_once(".part-") {
                Some((file, index))
                    if index.len() == 3 && index.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    parts
                        .entry(file.to_owned())
                        .or_default()
                        .insert(index.to_owned(), value.0.clone());
                }
                _ => {
                    whole.insert(key.clone(), value.0.clone());
                }
            }
        }
    }
    for (file, pieces) in parts {
        let joined = pieces.into_values().flatten().collect();
        whole.insert(file, joined);
    }
    Ok(whole.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        contract::names::{MAX_REPORT_SECRETS, report_name, report_secret_names},
        crd::HrisConnectionSpec,
    };

    fn connection() -> HrisConnection {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(
            "source: {csv: {path: e.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'hr:'\n",
        )
        .unwrap();
        let mut connection = HrisConnection::new("acme", spec);
        connection.metadata.namespace = Some("people".into());
        connection.metadata.uid = Some("uid-1".into());
        connection
    }

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("created.csv".into(), vec![b'c'; 2_500]),
            ("summary.json".into(), b"{}".to_vec()),
            (
                "updated.csv".into(),
                (0..10_000u32).flat_map(|n| n.to_le_bytes()).collect(),
            ),
        ]
    }

    #[test]
    fn small_reports_fit_one_owned_secret() {
        let secrets = report_secrets(
            &connection(),
            &report_name("acme-sim-1-ab"),
            "ab",
            &files(),
            SECRET_DATA_LIMIT,
        );
        assert_eq!(secrets.len(), 1);
        let secret = &secrets[0];
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("acme-sim-1-ab-report")
        );
        assert_eq!(secret.metadata.namespace.as_deref(), Some("people"));
        assert_eq!(
            secret.metadata.owner_references.as_ref().unwrap()[0].uid,
            "uid-1"
        );
        assert_eq!(secret.labels()[RUN_LABEL], "ab");
        assert_eq!(report_files(&secrets).unwrap(), files());
    }

    #[test]
    fn big_reports_split_into_parts_under_the_limit_and_read_back_byte_for_byte() {
        let limit = 4_096;
        let mut secrets = report_secrets(
            &connection(),
            &report_name("acme-apply-2-cd"),
            "cd",
            &files(),
            limit,
        );
        assert!(secrets.len() > 5, "{} secrets", secrets.len());
        for secret in &secrets {
            let size: usize = secret
                .data
                .as_ref()
                .unwrap()
                .values()
                .map(|v| v.0.len())
                .sum();
            assert!(size <= limit, "{size} bytes in one secret");
        }
        assert_eq!(
            secrets[1].metadata.name.as_deref(),
            Some("acme-apply-2-cd-report-2")
        );
        secrets.reverse();
        assert_eq!(report_files(&secrets).unwrap(), files());
        secrets.pop();
        assert!(report_files(&secrets).unwrap_err().contains("were found"));
    }

    #[test]
    fn every_report_secret_is_one_the_run_may_write_and_more_are_refused_whole() {
        let report = report_name("acme-apply-2-cd");
        let names = report_secret_names(&report);
        assert_eq!(names.len(), MAX_REPORT_SECRETS);
        assert_eq!(names[0], "acme-apply-2-cd-report");
        assert_eq!(names[1], "acme-apply-2-cd-report-2");
        assert_eq!(
            names.last().unwrap(),
            &format!("acme-apply-2-cd-report-{MAX_REPORT_SECRETS}")
        );
        let limit = 4_096;
        let secrets = report_secrets(&connection(), &report, "cd", &files(), limit);
        for secret in &secrets {
            assert!(names.contains(secret.metadata.name.as_ref().unwrap()));
        }
        let fits =
            bounded_report_secrets(&connection(), &report, "cd", &files(), limit, secrets.len());
        assert_eq!(fits.unwrap(), secrets);
        let error = bounded_report_secrets(
            &connection(),
            &report,
            "cd",
            &files(),
            limit,
            secrets.len() - 1,
        )
        .unwrap_err();
        assert_eq!(error.needed, secrets.len());
        assert_eq!(error.max, secrets.len() - 1);
        assert!(error.to_string().contains("at most"), "{error}");
    }
}
