//! What the operator knows of a `googleWorkspace` source: the Secret its sync Job mounts, the
//! checks of its settings (the scope's entries, the custom fields' paths, the request settings
//! and the shared service-account settings), and its builder.

use async_trait::async_trait;

use super::{GoogleSource, SCOPE_RULE, SPEC, Scope};
use crate::{
    connectors::{
        ConnectorContext,
        checks::RequestSettings,
        google,
        source::{RetryDelays, SourceConnector},
    },
    crd::{GoogleWorkspaceSource as GoogleSourceSpec, SecretKeyRef},
    sync::{
        policy::SpecError,
        ports::source::{Source, SourceError},
    },
};

/// What the operator knows of a `googleWorkspace` source.
#[async_trait]
impl SourceConnector for GoogleSourceSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.account.service_account_key_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = RequestSettings {
            source: "googleWorkspace",
            base_url: None,
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems();
        problems.extend(google::problems(
            &self.account,
            self.allow_insecure_http,
            SPEC,
        ));
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("{SPEC}.{name}"),
                message,
            });
        };
        match Scope::of(&self.scope) {
            None => error("scope", SCOPE_RULE.into()),
            Some(Scope::OrgUnits(units)) if units.is_empty() => error(
                "scope.orgUnits",
                "list at least one organizational unit path, such as /Sales".into(),
            ),
            Some(Scope::Groups(groups)) if groups.is_empty() => error(
                "scope.groups",
                "list at least one group email address".into(),
            ),
            Some(Scope::OrgUnits(units)) => {
                for (index, unit) in units.iter().enumerate() {
                    if let Some(problem) = org_unit_problem(unit) {
                        error(&format!("scope.orgUnits[{index}]"), problem);
                    }
                }
            }
            Some(Scope::Groups(groups)) => {
                for (index, group) in groups.iter().enumerate() {
                    let valid = group.contains('@')
                        && !group.contains('/')
                        && !group.chars().any(char::is_whitespace);
                    if !valid {
                        error(
                            &format!("scope.groups[{index}]"),
                            format!(
                                "`{group}` is not a group email address; use the group's \
                                 address, such as all-staff@acme.example"
                            ),
                        );
                    }
                }
            }
            Some(Scope::AllUsers) => {}
        }
        for (name, path) in &self.custom_fields {
            let valid = !path.is_empty()
                && path
                    .split('.')
                    .all(|part| !part.is_empty() && !part.chars().any(char::is_whitespace));
            if !valid {
                error(
                    &format!("customFields.{name}"),
                    format!(
                        "`{path}` is not a path into a user; name one such as \
                         organizations.costCenter or customSchemas.Employment.badge"
                    ),
                );
            }
        }
        problems
    }

    async fn build(
        &self,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Box<dyn Source>, SourceError> {
        Ok(Box::new(
            GoogleSource::from_spec(self, context, delays).await?,
        ))
    }
}

/// What is wrong with an organizational unit path, if anything.
fn org_unit_problem(unit: &str) -> Option<String> {
    if !unit.starts_with('/') {
        return Some(format!(
            "`{unit}` must start with / (the root is /), such as /Sales"
        ));
    }
    if unit.len() > 1 && unit.ends_with('/') {
        return Some(format!(
            "`{unit}` ends with /; write the path without it, such as /Sales"
        ));
    }
    if unit.contains("//") {
        return Some(format!("`{unit}` has an empty unit name between two /"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_paths_are_checked() {
        assert!(org_unit_problem("Sales").is_some());
        assert!(org_unit_problem("/Sales/").is_some());
        assert_eq!(org_unit_problem("/"), None);
        assert_eq!(org_unit_problem("/Sales/EMEA"), None);
    }
}
