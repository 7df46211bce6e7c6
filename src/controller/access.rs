//! What a sync Job may do, per connection and per run: a ServiceAccount, a Role and a
//! RoleBinding in the connection's namespace, one each per connection and owned by it (deleted
//! with it). The Role lets the Job read its own HrisConnection and create or patch this run's
//! report Secrets, by name, and nothing else: no other connection, no other Secret (the
//! credentials of this connection included), no reading Secrets at all. It is rewritten before
//! each run; at most one Job of a connection runs at a time, so it always names the reports of
//! the run in progress.
//!
//! A connection that names a ServiceAccount of its own (`spec.job.serviceAccountName`) gets
//! none of this: its owner grants that account what it needs.

use k8s_openapi::{
    api::{
        core::v1::ServiceAccount,
        rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
};

use crate::{
    contract::{
        FIELD_MANAGER,
        labels::sync_workload_labels,
        names::{report_secret_names, sync_access_name},
    },
    crd::{GROUP, HrisConnection},
};

/// The rules of a run's Role: get the connection `connection` (by name); create and patch the
/// report Secrets of the run whose first report Secret is `report` (by name, every part a run
/// may write). A server-side apply that creates a Secret is authorised as `create` of that
/// name, so the names bind creation too.
pub fn sync_rules(connection: &str, report: &str) -> Vec<PolicyRule> {
    vec![
        PolicyRule {
            api_groups: Some(vec![GROUP.to_owned()]),
            resources: Some(vec!["hrisconnections".to_owned()]),
            verbs: vec!["get".to_owned()],
            resource_names: Some(vec![connection.to_owned()]),
            non_resource_urls: None,
        },
        PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".to_owned()]),
            verbs: vec!["create".to_owned(), "patch".to_owned()],
            resource_names: Some(report_secret_names(report)),
            non_resource_urls: None,
        },
    ]
}

/// Metadata shared by the three objects: name, namespace, labels, and the connection as owner.
fn metadata(connection: &HrisConnection) -> ObjectMeta {
    ObjectMeta {
        name: Some(sync_access_name(connection)),
        namespace: connection.namespace(),
        labels: Some(sync_workload_labels(&connection.name_any())),
        owner_references: connection.controller_owner_ref(&()).map(|o| vec![o]),
        ..ObjectMeta::default()
    }
}

/// The connection's sync ServiceAccount.
pub fn sync_service_account(connection: &HrisConnection) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(connection),
        // The sync container talks to the API server (its connection, its reports).
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    }
}

/// The connection's sync Role for the run whose first report Secret is `report`.
pub fn sync_role(connection: &HrisConnection, report: &str) -> Role {
    Role {
        metadata: metadata(connection),
        rules: Some(sync_rules(&connection.name_any(), report)),
    }
}

/// The binding of the connection's sync Role to its sync ServiceAccount.
pub fn sync_role_binding(connection: &HrisConnection) -> RoleBinding {
    let name = sync_access_name(connection);
    RoleBinding {
        metadata: metadata(connection),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name,
            namespace: connection.namespace(),
            ..Subject::default()
        }]),
    }
}

/// Applies (server-side, forced, our field manager) the connection's sync ServiceAccount, its
/// Role for this run and the RoleBinding, in that order: a Job started after this returns runs
/// with exactly this run's permissions.
pub async fn apply_sync_access(
    client: &Client,
    connection: &HrisConnection,
    report: &str,
) -> Result<(), kube::Error> {
    let namespace = connection.namespace().unwrap_or_default();
    let name = sync_access_name(connection);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    accounts
        .patch(
            &name,
            &params,
            &Patch::Apply(&sync_service_account(connection)),
        )
        .await?;
    let roles: Api<Role> = Api::namespaced(client.clone(), &namespace);
    roles
        .patch(
            &name,
            &params,
            &Patch::Apply(&sync_role(connection, report)),
        )
        .await?;
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &namespace);
    bindings
        .patch(
            &name,
            &params,
            &Patch::Apply(&sync_role_binding(connection)),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        contract::{
            labels::CONNECTION_LABEL,
            names::{MAX_REPORT_SECRETS, job_name, report_name},
        },
        crd::HrisConnectionSpec,
        sync::report::RunMode,
    };

    fn connection(name: &str) -> HrisConnection {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(
            "source: {csv: {path: e.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'hr:'\n",
        )
        .unwrap();
        let mut connection = HrisConnection::new(name, spec);
        connection.metadata.namespace = Some("people".into());
        connection.metadata.uid = Some("uid-1".into());
        connection.metadata.generation = Some(3);
        connection
    }

    fn strings(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn the_role_of_a_run_reads_its_connection_and_writes_only_its_reports() {
        let connection = connection("acme");
        let report = report_name(&job_name(&connection, RunMode::Apply, "ab12cd34"));
        let role = sync_role(&connection, &report);
        let rules = role.rules.unwrap();
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert_eq!(rules[0].api_groups, strings(&["hris-operator.io"]));
        assert_eq!(rules[0].resources, strings(&["hrisconnections"]));
        assert_eq!(rules[0].verbs, ["get"]);
        assert_eq!(rules[0].resource_names, strings(&["acme"]));
        assert_eq!(rules[1].api_groups, strings(&[""]));
        assert_eq!(rules[1].resources, strings(&["secrets"]));
        assert_eq!(rules[1].verbs, ["create", "patch"]);
        let names = rules[1].resource_names.as_ref().unwrap();
        assert_eq!(names.len(), MAX_REPORT_SECRETS);
        assert_eq!(names[0], "acme-apply-3-ab12cd34-report");
        assert_eq!(names[1], "acme-apply-3-ab12cd34-report-2");
        assert_eq!(
            names[MAX_REPORT_SECRETS - 1],
            format!("acme-apply-3-ab12cd34-report-{MAX_REPORT_SECRETS}")
        );
        assert!(rules.iter().all(|rule| rule.non_resource_urls.is_none()));
        // A later run's Role names that run's reports, and none of this one's.
        let later = sync_role(&connection, &report_name("acme-sim-4-ffff0000"));
        let later_names = later.rules.unwrap()[1].resource_names.clone().unwrap();
        assert!(later_names.iter().all(|name| !names.contains(name)));
    }

    #[test]
    fn the_three_objects_share_one_owned_labelled_name_and_bind_each_other() {
        let connection = connection("acme");
        let account = sync_service_account(&connection);
        let role = sync_role(&connection, "acme-sim-3-x-report");
        let binding = sync_role_binding(&connection);
        for meta in [&account.metadata, &role.metadata, &binding.metadata] {
            assert_eq!(meta.name.as_deref(), Some("acme-sync"));
            assert_eq!(meta.namespace.as_deref(), Some("people"));
            let owner = &meta.owner_references.as_ref().unwrap()[0];
            assert_eq!(
                (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
                ("HrisConnection", "acme", "uid-1")
            );
            assert_eq!(owner.controller, Some(true));
            let labels = meta.labels.as_ref().unwrap();
            assert_eq!(labels[CONNECTION_LABEL], "acme");
            assert_eq!(labels["app.kubernetes.io/managed-by"], "hris-operator");
            assert_eq!(labels["app.kubernetes.io/component"], "sync");
        }
        assert_eq!(
            (
                binding.role_ref.kind.as_str(),
                binding.role_ref.name.as_str()
            ),
            ("Role", "acme-sync")
        );
        let subjects = binding.subjects.unwrap();
        assert_eq!(subjects.len(), 1);
        assert_eq!(
            (
                subjects[0].kind.as_str(),
                subjects[0].name.as_str(),
                subjects[0].namespace.as_deref()
            ),
            ("ServiceAccount", "acme-sync", Some("people"))
        );
    }
}
