//! Two connections writing to one directory must not claim each other's users. Their
//! externalId prefixes end in a separator and a user belongs to a connection only when the rest
//! of its externalId holds no separator, so `acme:` and `acme:contractors:` stay apart; the same
//! prefix twice, or one prefix starting another, is still a mistake a person should hear about
//! (equal prefixes manage the same users; nested ones fight over adoptions).

use std::sync::Arc;

use kube::ResourceExt;

use crate::crd::{HrisConnection, TargetSpec};

/// What identifies the directory a connection writes to, for comparing connections.
pub fn target_key(target: &TargetSpec) -> String {
    match target {
        TargetSpec::Scim(scim) => format!(
            "scim:{}",
            scim.base_url.trim().trim_end_matches('/').to_ascii_lowercase()
        ),
        TargetSpec::File(file) => format!("file:{}", file.path.trim()),
        TargetSpec::MicrosoftGraph(graph) => {
            format!("graph:{}", graph.tenant_id.trim().to_ascii_lowercase())
        }
        TargetSpec::GoogleWorkspace(google) => {
            let domain = google
                .admin_email
                .rsplit_once('@')
                .map_or("", |(_, domain)| domain);
            format!(
                "google:{}:{}",
                google.customer.trim(),
                domain.trim().to_ascii_lowercase()
            )
        }
    }
}

/// Whether two prefixes overlap: equal, or one the start of the other (without case).
pub fn overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    a.starts_with(&b) || b.starts_with(&a)
}

/// The other connections (`namespace/name`, sorted) that write to the same directory with an
/// overlapping prefix. Connections being deleted do not count.
pub fn overlapping(connection: &HrisConnection, all: &[Arc<HrisConnection>]) -> Vec<String> {
    let key = target_key(&connection.spec.target);
    let uid = connection.metadata.uid.as_deref();
    let mut found: Vec<String> = all
        .iter()
        .filter(|other| {
            other.metadata.deletion_timestamp.is_none()
                && !(uid.is_some() && other.metadata.uid.as_deref() == uid)
                && !(other.namespace() == connection.namespace()
                    && other.name_any() == connection.name_any())
                && target_key(&other.spec.target) == key
                && overlap(
                    &other.spec.external_id_prefix,
                    &connection.spec.external_id_prefix,
                )
        })
        .map(|other| {
            format!(
                "{}/{}",
                other.namespace().unwrap_or_default(),
                other.name_any()
            )
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(namespace: &str, name: &str, prefix: &str, base_url: &str) -> Arc<HrisConnection> {
        let spec = serde_saphyr::from_str(&format!(
            "source: {{csv: {{path: e.csv}}}}\n\
             target: {{scim: {{baseUrl: '{base_url}', credentialsSecretRef: {{name: s, key: t}}}}}}\n\
             externalIdPrefix: '{prefix}'"
        ))
        .unwrap();
        let mut connection = HrisConnection::new(name, spec);
        connection.metadata.namespace = Some(namespace.into());
        Arc::new(connection)
    }

    #[test]
    fn equal_or_nested_prefixes_on_one_directory_overlap() {
        let url = "https://api.example.com/scim/v2";
        let all = [
            connection("a", "employees", "acme:", url),
            connection("b", "contractors", "ACME:contractors:", &format!("{url}/")),
            connection("c", "same", "acme:", url),
            connection("d", "elsewhere", "acme:", "https://other.example/scim"),
            connection("e", "distinct", "acmex:", url),
        ];
        assert_eq!(overlapping(&all[0], &all), ["b/contractors", "c/same"]);
        assert_eq!(overlapping(&all[1], &all), ["a/employees", "c/same"]);
        assert!(overlapping(&all[3], &all).is_empty());
        assert!(overlapping(&all[4], &all).is_empty());
    }
}
