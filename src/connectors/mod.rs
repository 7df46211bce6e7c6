//! Connectors: one `Source` per HR system, one `Target` per directory, each implementing the
//! core's port, and the notification channels a run reports to ([`notify`]). The spec's one-of
//! enum picks the connector with an exhaustive `match` (one per side: [`source::connector`],
//! [`target::connector`]); there is no registry. Everything the operator knows of a connector
//! lives in its file: the secrets its sync Job mounts, the checks of its settings, and how to
//! build it.

pub mod checks;
pub mod entra;
pub mod google;
pub mod http;
pub mod notify;
pub mod secrets;
pub mod source;
pub mod target;

use std::path::{Path, PathBuf};

pub use secrets::{ConfigMapResolver, SecretResolver};

use crate::{
    crd::{ConfigMapKeyRef, HrisConnectionSpec, SecretKeyRef},
    sync::{
        policy::{SpecError, SpecErrors, SyncPolicy},
        ports::{source::Source, target::Target},
        run::RunError,
    },
};

/// What a connector needs from its surroundings.
#[derive(Clone, Debug)]
pub struct ConnectorContext {
    /// Directory relative paths in the spec resolve against (the manifest's directory).
    pub base_dir: PathBuf,
    /// Where secret references are read from.
    pub secrets: SecretResolver,
    /// Where ConfigMap references are read from.
    pub config_maps: ConfigMapResolver,
}

impl ConnectorContext {
    /// Resolves a path from the spec against the base directory.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// The source and the target a spec names, built with their credentials read: what a run reads
/// from and writes to. The source is built first; a failure on either side is the run's.
pub async fn connect(
    spec: &HrisConnectionSpec,
    context: &ConnectorContext,
) -> Result<(Box<dyn Source>, Box<dyn Target>), RunError> {
    let source = source::build(&spec.source, context)
        .await
        .map_err(RunError::Source)?;
    let target = target::build(&spec.target, context)
        .await
        .map_err(RunError::Target)?;
    Ok((source, target))
}

/// Checks a whole spec, collecting every problem: the core's rules (compiled into the policy
/// when they hold), then the source's and the target's own settings. What the local commands
/// and the controller both call, so a spec is refused the same way everywhere.
pub fn check_spec(spec: &HrisConnectionSpec) -> Result<SyncPolicy, SpecErrors> {
    let mut problems = source::connector(&spec.source).validate();
    let target = target::connector(&spec.target);
    problems.extend(target.validate());
    problems.extend(notify::check(&spec.notifications));
    for (index, mapping) in spec.attribute_mapping.iter().enumerate() {
        if let Some(message) = target.check_mapped_attribute(&mapping.to) {
            problems.push(SpecError {
                field: format!("spec.attributeMapping[{index}].to"),
                message,
            });
        }
    }
    match SyncPolicy::compile(spec) {
        Ok(policy) if problems.is_empty() => Ok(policy),
        Ok(_) => Err(SpecErrors(problems)),
        Err(SpecErrors(mut errors)) => {
            errors.extend(problems);
            Err(SpecErrors(errors))
        }
    }
}

/// Every secret reference a spec makes: the sync Job mounts exactly these. The source's and
/// the target's come first ([`required_secret_refs`]), then the notifications'.
pub fn secret_refs(spec: &HrisConnectionSpec) -> Vec<&SecretKeyRef> {
    let mut refs = required_secret_refs(spec);
    refs.extend(notify::secret_refs(spec));
    refs
}

/// The secret references a run cannot do without: the source's and the target's. A Secret
/// that only notifications read is mounted as optional, so that a missing one fails its
/// deliveries (reported as `NotificationFailed`) and never the run.
pub fn required_secret_refs(spec: &HrisConnectionSpec) -> Vec<&SecretKeyRef> {
    let mut refs = source::connector(&spec.source).secret_refs();
    refs.extend(target::connector(&spec.target).secret_refs());
    refs
}

/// Every ConfigMap reference a spec makes: the sync Job mounts exactly these.
pub fn config_map_refs(spec: &HrisConnectionSpec) -> Vec<&ConfigMapKeyRef> {
    source::connector(&spec.source).config_map_refs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(yaml: &str) -> Vec<String> {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(yaml).unwrap();
        check_spec(&spec).map_or_else(
            |errors| errors.0.into_iter().map(|e| e.field).collect(),
            |_| Vec::new(),
        )
    }

    #[test]
    fn every_url_a_connector_sends_credentials_to_is_checked_naming_its_field() {
        let prefix = "externalIdPrefix: 'hr:'";
        let scim = |base: &str, extra: &str| {
            format!(
                "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{scim: {{baseUrl: '{base}', \
                 credentialsSecretRef: {{name: s, key: t}}{extra}}}}}"
            )
        };
        assert_eq!(
            fields(&scim("file:///etc/passwd", "")),
            ["spec.target.scim.baseUrl"]
        );
        assert_eq!(fields(&scim("not a url", "")), ["spec.target.scim.baseUrl"]);
        assert_eq!(
            fields(&scim("http://scim.svc/v2", "")),
            ["spec.target.scim.baseUrl"]
        );
        assert!(fields(&scim("http://scim.svc/v2", ", allowInsecureHttp: true")).is_empty());
        assert!(fields(&scim("http://127.0.0.1:1/v2", "")).is_empty());
        let oauth = format!(
            "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{scim: {{baseUrl: \
             'https://x.example', oauth2: {{tokenUrl: 'http://x.example/token', clientId: c, \
             clientSecretSecretRef: {{name: s, key: t}}}}}}}}"
        );
        assert_eq!(fields(&oauth), ["spec.target.scim.oauth2.tokenUrl"]);
        let merge = format!(
            "source: {{merge: {{baseUrl: 'http://merge.example', apiKeySecretRef: {{name: m, \
             key: k}}, accountTokenSecretRef: {{name: m, key: t}}}}}}\n{prefix}\ntarget: \
             {{file: {{path: d.json}}}}"
        );
        assert_eq!(fields(&merge), ["spec.source.merge.baseUrl"]);
        let graph = format!(
            "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{microsoftGraph: {{tenantId: t, \
             clientId: c, clientSecretSecretRef: {{name: s, key: t}}, graphUrl: 'graph', \
             authorityUrl: 'file:///x'}}}}"
        );
        assert_eq!(
            fields(&graph),
            [
                "spec.target.microsoftGraph.authorityUrl",
                "spec.target.microsoftGraph.graphUrl"
            ]
        );
        let graph_source = format!(
            "source: {{microsoftGraph: {{tenantId: t, clientId: c, clientSecretSecretRef: \
             {{name: s, key: t}}, scope: {{allUsers: true}}, graphUrl: 'http://graph.example/v1.0', \
             authorityUrl: 'https://login.example', requestsPerSecond: 0, \
             customFields: {{cc: 'employeeOrgData costCenter'}}}}}}\n{prefix}\ntarget: \
             {{file: {{path: d.json}}}}"
        );
        assert_eq!(
            fields(&graph_source),
            [
                "spec.source.microsoftGraph.requestsPerSecond",
                "spec.source.microsoftGraph.graphUrl",
                "spec.source.microsoftGraph.customFields.cc"
            ]
        );
        let google = format!(
            "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{googleWorkspace: \
             {{serviceAccountKeySecretRef: {{name: s, key: k}}, adminEmail: a@x.example, \
             tokenUrl: 'http://oauth.example/token'}}}}"
        );
        assert_eq!(fields(&google), ["spec.target.googleWorkspace.tokenUrl"]);
    }

    #[test]
    fn a_google_mapping_must_name_a_field_a_user_has() {
        let google = |to: &str| {
            format!(
                "source: {{csv: {{path: e.csv}}}}\nexternalIdPrefix: 'hr:'\ntarget: \
                 {{googleWorkspace: {{serviceAccountKeySecretRef: {{name: s, key: k}}, \
                 adminEmail: a@x.example}}}}\nattributeMapping: [{{from: title, to: '{to}'}}, \
                 {{from: department, to: organizations.department}}]"
            )
        };
        for good in ["organizations.title", "orgUnitPath", "name.displayName"] {
            assert!(fields(&google(good)).is_empty(), "{good}");
        }
        // A path form the API does not have would land as an unknown top-level field.
        for bad in [
            "organizations[primary].title",
            "organizations.titel",
            "jobTitle",
            "primaryEmail",
        ] {
            assert_eq!(
                fields(&google(bad)),
                ["spec.attributeMapping[0].to"],
                "{bad}"
            );
        }
    }

    #[test]
    fn a_scim_rate_of_zero_is_refused_naming_the_field_as_the_crd_schema_does() {
        let scim = |rate: &str| {
            let spec: HrisConnectionSpec = serde_saphyr::from_str(&format!(
                "source: {{csv: {{path: e.csv}}}}\nexternalIdPrefix: 'hr:'\ntarget: {{scim: \
                 {{baseUrl: 'https://scim.example/v2', credentialsSecretRef: {{name: s, key: t}}, \
                 requestsPerSecond: {rate}}}}}"
            ))
            .unwrap();
            check_spec(&spec).map_or_else(
                |errors| {
                    errors
                        .0
                        .into_iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect()
                },
                |_| Vec::new(),
            )
        };
        assert_eq!(
            scim("0"),
            [
                "spec.target.scim.requestsPerSecond: 0 is too low; use at least 0.001 (decimals allowed)"
            ]
        );
        assert_eq!(
            scim("-5"),
            [
                "spec.target.scim.requestsPerSecond: -5 is too low; use at least 0.001 (decimals allowed)"
            ]
        );
        assert_eq!(
            scim(".nan"),
            ["spec.target.scim.requestsPerSecond: NaN is not a number of requests a second"]
        );
        assert!(scim("0.001").is_empty(), "the schema's minimum is accepted");
        assert!(scim("100000").is_empty(), "the schema sets no maximum");
    }

    #[test]
    fn the_core_s_problems_come_first_then_the_source_s_then_the_target_s() {
        let yaml = "source: {csv: {path: e.csv, delimiter: ';;'}}\nexternalIdPrefix: ''\n\
                    target: {scim: {baseUrl: 'ftp://x', credentialsSecretRef: {name: s, key: t}}}";
        assert_eq!(
            fields(yaml),
            [
                "spec.externalIdPrefix",
                "spec.source.csv.delimiter",
                "spec.target.scim.baseUrl"
            ]
        );
    }
}
