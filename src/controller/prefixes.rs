//! Two connections writing to one directory must not claim each other's users. Their
//! externalId prefixes end in a separator and a user belongs to a connection only when the rest
//! of its externalId holds no separator, so `acme:` and `acme:contractors:` stay apart; the same
//! prefix twice, or one prefix starting another, is still a mistake a person should hear about
//! (equal prefixes manage the same users; nested ones fight over adoptions).

use jiff::Timestamp;
use kube::ResourceExt;

use super::status::{EventNote, set_condition};
use crate::crd::{HrisConnection, HrisConnectionStatus, TargetSpec};

/// What identifies the directory a connection writes to, for comparing connections.
pub fn target_key(target: &TargetSpec) -> String {
    match target {
        TargetSpec::Scim(scim) => format!(
            "scim:{}",
            scim.base_url
                .trim()
                .trim_end_matches('/')
                .to_ascii_lowercase()
        ),
        TargetSpec::File(file) => format!("file:{}", file.path.trim()),
        TargetSpec::MicrosoftGraph(graph) => {
            format!("graph:{}", graph.app.tenant_id.trim().to_ascii_lowercase())
        }
        TargetSpec::GoogleWorkspace(google) => {
            let domain = google
                .account
                .admin_email
                .rsplit_once('@')
                .map_or("", |(_, domain)| domain);
            format!(
                "google:{}:{}",
                google.account.customer.trim(),
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
pub fn overlapping(connection: &HrisConnection, all: &[&HrisConnection]) -> Vec<String> {
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

/// Sets the condition `PrefixOverlap` while another connection writes to the same directory
/// with an equal or nested prefix, and returns the Event to emit when the overlap appears. The
/// condition shows up only once there is something to say, and clears when the overlap is gone.
pub fn note_overlap(
    connection: &HrisConnection,
    all: &[&HrisConnection],
    status: &mut HrisConnectionStatus,
    generation: i64,
    now: Timestamp,
) -> Option<EventNote> {
    let others = overlapping(connection, all);
    let known = status.conditions.iter().any(|c| c.type_ == "PrefixOverlap");
    if others.is_empty() && !known {
        return None;
    }
    let (reason, message) = if others.is_empty() {
        (
            "NoOverlap",
            "no other connection writes to this target with an overlapping externalIdPrefix"
                .to_owned(),
        )
    } else {
        (
            "PrefixOverlaps",
            format!(
                "externalIdPrefix {:?} overlaps the prefix of {} on the same target: give each \
                 connection its own prefix, not the start of another's",
                connection.spec.external_id_prefix,
                others.join(", ")
            ),
        )
    };
    // True while the problem stands, like SafeguardTriggered.
    let changed = set_condition(
        &mut status.conditions,
        "PrefixOverlap",
        !others.is_empty(),
        reason,
        message.clone(),
        generation,
        now,
    );
    (!others.is_empty() && (changed || !known)).then_some(EventNote {
        warning: true,
        reason: "PrefixOverlap",
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn connection(
        namespace: &str,
        name: &str,
        prefix: &str,
        base_url: &str,
    ) -> Arc<HrisConnection> {
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
        let owned = [
            connection("a", "employees", "acme:", url),
            connection("b", "contractors", "ACME:contractors:", &format!("{url}/")),
            connection("c", "same", "acme:", url),
            connection("d", "elsewhere", "acme:", "https://other.example/scim"),
            connection("e", "distinct", "acmex:", url),
        ];
        let all: Vec<&HrisConnection> = owned.iter().map(AsRef::as_ref).collect();
        assert_eq!(overlapping(all[0], &all), ["b/contractors", "c/same"]);
        assert_eq!(overlapping(all[1], &all), ["a/employees", "c/same"]);
        assert!(overlapping(all[3], &all).is_empty());
        assert!(overlapping(all[4], &all).is_empty());
    }

    #[test]
    fn the_condition_warns_once_and_clears_when_the_overlap_is_gone() {
        let url = "https://api.example.com/scim/v2";
        let now: Timestamp = "2026-11-22T03:00:00Z".parse().unwrap();
        let mine = connection("a", "employees", "acme:", url);
        let mut status = HrisConnectionStatus::default();
        assert!(note_overlap(&mine, &[&mine], &mut status, 1, now).is_none());
        assert!(
            status.conditions.is_empty(),
            "no condition until there is something to say"
        );

        let twin = connection("b", "twin", "ACME:", url);
        let all: [&HrisConnection; 2] = [&mine, &twin];
        let event = note_overlap(&mine, &all, &mut status, 1, now).expect("an Event");
        assert_eq!(event.reason, "PrefixOverlap");
        assert!(event.message.contains("b/twin"), "{}", event.message);
        let condition = &status.conditions[0];
        assert_eq!(
            (
                condition.type_.as_str(),
                condition.status.as_str(),
                condition.reason.as_str()
            ),
            ("PrefixOverlap", "True", "PrefixOverlaps")
        );
        assert!(
            note_overlap(&mine, &all, &mut status, 1, now).is_none(),
            "once"
        );

        assert!(note_overlap(&mine, &all[..1], &mut status, 2, now).is_none());
        assert_eq!(
            (
                status.conditions[0].status.as_str(),
                status.conditions[0].reason.as_str()
            ),
            ("False", "NoOverlap")
        );
    }
}
