//! Secret references resolved from mounted files (`DIR/NAME/KEY`), the layout both
//! `--secrets-dir` and a sync Job's Secret volumes use.

use std::path::PathBuf;

use crate::{
    crd::{ConfigMapKeyRef, SecretKeyRef},
    sync::ports::source::SourceError,
};

/// A secret could not be read. The message names the reference, never the value.
#[derive(Debug, thiserror::Error)]
#[error("secret {name}/{key}: {reason}")]
pub struct SecretError {
    /// Secret name.
    pub name: String,
    /// Key in the Secret.
    pub key: String,
    /// Why it could not be read.
    pub reason: String,
}

impl From<SecretError> for SourceError {
    fn from(error: SecretError) -> Self {
        SourceError::Secret(error.to_string())
    }
}

/// Reads secret values for connectors.
#[derive(Clone, Debug, Default)]
pub struct SecretResolver {
    dir: Option<PathBuf>,
    /// The namespace of the Secrets mounted in `dir`, in a sync Job; none on a workstation.
    namespace: Option<String>,
}

impl SecretResolver {
    /// Reads secrets from `dir/NAME/KEY`.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
            namespace: None,
        }
    }

    /// A resolver with no secrets; every lookup fails with a clear message.
    pub fn none() -> Self {
        Self {
            dir: None,
            namespace: None,
        }
    }

    /// The resolver of a sync Job, whose `dir` holds the Secrets of `namespace` (messages then
    /// name the Secret in the cluster rather than the mounted file).
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// How a message names a secret key for a person to check: in a sync Job the Secret with
    /// its namespace and the key, on a workstation the reference and the file it is read from.
    /// Never the value.
    pub fn describe(&self, reference: &SecretKeyRef) -> String {
        let (name, key) = (&reference.name, &reference.key);
        match (&self.namespace, self.path(reference)) {
            (Some(namespace), _) => format!("Secret {namespace}/{name}, key {key}"),
            (None, Ok(path)) => format!("secret {name}/{key} (the file {})", path.display()),
            (None, Err(_)) => format!("secret {name}/{key}"),
        }
    }

    /// The file holding a secret key (`DIR/NAME/KEY`), for values read whole (a CSV document).
    pub fn path(&self, reference: &SecretKeyRef) -> Result<PathBuf, SecretError> {
        mounted_path(
            self.dir.as_deref(),
            &reference.name,
            &reference.key,
            "no secrets directory given; pass --secrets-dir DIR holding DIR/NAME/KEY",
        )
        .map_err(|reason| SecretError {
            name: reference.name.clone(),
            key: reference.key.clone(),
            reason,
        })
    }

    /// The value of a secret key, with one trailing newline removed.
    pub async fn get(&self, reference: &SecretKeyRef) -> Result<String, SecretError> {
        let error = |reason: String| SecretError {
            name: reference.name.clone(),
            key: reference.key.clone(),
            reason,
        };
        let path = self.path(reference)?;
        let mut value = tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
        Ok(value)
    }
}

/// `dir/name/key`, refusing names that would leave the directory.
fn mounted_path(
    dir: Option<&std::path::Path>,
    name: &str,
    key: &str,
    no_dir: &str,
) -> Result<PathBuf, String> {
    let Some(dir) = dir else {
        return Err(no_dir.to_owned());
    };
    let valid = |part: &str| !part.is_empty() && !part.contains(['/', '\\']) && part != "..";
    if !valid(name) || !valid(key) {
        return Err("name and key must be plain names".into());
    }
    Ok(dir.join(name).join(key))
}

/// A ConfigMap key could not be found.
#[derive(Debug, thiserror::Error)]
#[error("configMap {name}/{key}: {reason}")]
pub struct ConfigMapError {
    /// ConfigMap name.
    pub name: String,
    /// Key in the ConfigMap.
    pub key: String,
    /// Why it could not be found.
    pub reason: String,
}

/// Finds ConfigMap keys mounted as files (`DIR/NAME/KEY`): `--config-maps-dir` locally, the
/// sync Job's ConfigMap volumes in the cluster.
#[derive(Clone, Debug, Default)]
pub struct ConfigMapResolver {
    dir: Option<PathBuf>,
}

impl ConfigMapResolver {
    /// Reads ConfigMaps from `dir/NAME/KEY`.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// A resolver with no ConfigMaps; every lookup fails with a clear message.
    pub fn none() -> Self {
        Self { dir: None }
    }

    /// The file holding a ConfigMap key.
    pub fn path(&self, reference: &ConfigMapKeyRef) -> Result<PathBuf, ConfigMapError> {
        mounted_path(
            self.dir.as_deref(),
            &reference.name,
            &reference.key,
            "no ConfigMaps directory given; pass --config-maps-dir DIR holding DIR/NAME/KEY",
        )
        .map_err(|reason| ConfigMapError {
            name: reference.name.clone(),
            key: reference.key.clone(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_dir_name_key_and_trims_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scim")).unwrap();
        std::fs::write(dir.path().join("scim/token"), "s3cret\n").unwrap();
        let secrets = SecretResolver::from_dir(dir.path());
        let reference = |name: &str, key: &str| SecretKeyRef {
            name: name.into(),
            key: key.into(),
        };
        assert_eq!(
            secrets.get(&reference("scim", "token")).await.unwrap(),
            "s3cret"
        );
        let missing = secrets.get(&reference("scim", "other")).await.unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("secret scim/other: cannot read")
        );
        assert!(secrets.get(&reference("..", "token")).await.is_err());
        let none = SecretResolver::none()
            .get(&reference("scim", "token"))
            .await;
        assert!(none.unwrap_err().to_string().contains("--secrets-dir"));
    }

    #[test]
    fn a_secret_is_described_by_its_file_locally_and_by_its_namespace_in_a_job() {
        let reference = SecretKeyRef {
            name: "scim".into(),
            key: "token".into(),
        };
        assert_eq!(
            SecretResolver::from_dir("/work/secrets").describe(&reference),
            "secret scim/token (the file /work/secrets/scim/token)"
        );
        assert_eq!(
            SecretResolver::from_dir("/var/run/secrets/hris")
                .in_namespace("people-sync")
                .describe(&reference),
            "Secret people-sync/scim, key token"
        );
        assert_eq!(
            SecretResolver::none().describe(&reference),
            "secret scim/token"
        );
    }

    #[tokio::test]
    async fn exactly_one_trailing_line_break_is_trimmed_lf_or_crlf() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("s")).unwrap();
        let secrets = SecretResolver::from_dir(dir.path());
        for (written, read) in [
            // `kubectl create secret --from-file` keeps the editor's final newline.
            ("s3cret\n", "s3cret"),
            // A file saved on Windows.
            ("s3cret\r\n", "s3cret"),
            // Only one: a value may itself end in a line break.
            ("s3cret\n\n", "s3cret\n"),
            ("s3cret\r\n\r\n", "s3cret\r\n"),
            // A lone CR is no line break; spaces are part of the value.
            ("s3cret\r", "s3cret\r"),
            ("s3cret ", "s3cret "),
            ("\n", ""),
        ] {
            std::fs::write(dir.path().join("s/key"), written).unwrap();
            let reference = SecretKeyRef {
                name: "s".into(),
                key: "key".into(),
            };
            assert_eq!(secrets.get(&reference).await.unwrap(), read, "{written:?}");
        }
    }

    #[test]
    fn config_map_keys_resolve_to_dir_name_key() {
        let reference = |name: &str, key: &str| ConfigMapKeyRef {
            name: name.into(),
            key: key.into(),
        };
        let maps = ConfigMapResolver::from_dir("/maps");
        assert_eq!(
            maps.path(&reference("people", "employees.csv")).unwrap(),
            PathBuf::from("/maps/people/employees.csv")
        );
        assert!(maps.path(&reference("..", "x")).is_err());
        let none = ConfigMapResolver::none().path(&reference("people", "e.csv"));
        let message = none.unwrap_err().to_string();
        assert!(message.starts_with("configMap people/e.csv:"), "{message}");
        assert!(message.contains("--config-maps-dir"), "{message}");
    }
}
