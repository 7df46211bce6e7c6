//! Secret references resolved from mounted files (`DIR/NAME/KEY`), the layout both
//! `--secrets-dir` and a sync Job's Secret volumes use.

use std::path::PathBuf;

use crate::crd::SecretKeyRef;

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

/// Reads secret values for connectors.
#[derive(Clone, Debug, Default)]
pub struct SecretResolver {
    dir: Option<PathBuf>,
}

impl SecretResolver {
    /// Reads secrets from `dir/NAME/KEY`.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// A resolver with no secrets; every lookup fails with a clear message.
    pub fn none() -> Self {
        Self { dir: None }
    }

    /// The value of a secret key, with one trailing newline removed.
    pub async fn get(&self, reference: &SecretKeyRef) -> Result<String, SecretError> {
        let error = |reason: String| SecretError {
            name: reference.name.clone(),
            key: reference.key.clone(),
            reason,
        };
        let Some(dir) = &self.dir else {
            return Err(error(
                "no secrets directory given; pass --secrets-dir DIR holding DIR/NAME/KEY".into(),
            ));
        };
        let valid = |part: &str| !part.is_empty() && !part.contains(['/', '\\']) && part != "..";
        if !valid(&reference.name) || !valid(&reference.key) {
            return Err(error("name and key must be plain names".into()));
        }
        let path = dir.join(&reference.name).join(&reference.key);
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
}
