//! A JSON file acting as a user directory, for demos and tests.
//!
//! Like a real directory it enforces unique externalIds and emails, assigns ids and checks
//! versions. Each batch is written atomically (temporary file, fsync, rename), so a crash never
//! leaves the file half-written: it holds the state before or after the batch.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use compact_str::{CompactString, format_compact};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::TargetConnector;
use crate::{
    connectors::ConnectorContext,
    crd::{FileTarget as FileSpec, SecretKeyRef},
    sync::{
        field::eq_ignore_case,
        model::{Attr, AttrChange, Attributes, DirectoryUser, NewUser},
        policy::SpecError,
        ports::target::{
            OpResult, Target, TargetCapabilities, TargetError, TargetErrorKind, TargetOp,
        },
    },
};

/// The file's content.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Directory {
    /// Every user.
    pub users: Vec<FileUser>,
}

/// A user as stored in the file.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileUser {
    /// Id assigned by the directory.
    pub id: String,
    /// externalId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// Whether the user may sign in.
    #[serde(default = "active_default")]
    pub active: bool,
    /// Id of the manager's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    /// Other attributes, by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Incremented on every change.
    #[serde(default)]
    pub version: u64,
}

fn active_default() -> bool {
    true
}

/// The `file` target.
#[derive(Debug)]
pub struct FileTarget {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileTarget {
    /// A directory stored at `path` (a missing file is an empty directory).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    async fn load(&self) -> Result<Directory, TargetError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || load(&path))
            .await
            .map_err(|e| TargetError::new(TargetErrorKind::Unavailable, e.to_string()))?
    }
}

/// Reads a directory file; a missing file is an empty directory.
pub fn load(path: &Path) -> Result<Directory, TargetError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            TargetError::new(
                TargetErrorKind::InvalidData,
                format!("{} is not a user directory file: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Directory::default()),
        Err(e) => Err(TargetError::new(
            TargetErrorKind::Unavailable,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Writes a directory file atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the old one.
pub fn store(path: &Path, directory: &Directory) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("directory");
    let temporary = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        serde_json::to_writer_pretty(&mut file, directory)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// What the operator knows of a `file` target: a path, no secret.
#[async_trait]
impl TargetConnector for FileSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        Vec::new()
    }

    fn validate(&self) -> Vec<SpecError> {
        Vec::new()
    }

    async fn build(&self, context: &ConnectorContext) -> Result<Box<dyn Target>, TargetError> {
        Ok(Box::new(FileTarget::new(context.resolve_path(&self.path))))
    }
}

#[async_trait]
impl Target for FileTarget {
    fn capabilities(&self) -> TargetCapabilities {
        TargetCapabilities {
            managers: true,
            versions: true,
            max_batch: usize::MAX,
            deletes: true,
        }
    }

    async fn check(&self) -> Result<(), TargetError> {
        self.load().await.map(|_| ())
    }

    async fn list_users(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        let directory = self.load().await?;
        Ok(directory
            .users
            .into_iter()
            .map(|user| to_directory_user(user, attributes))
            .collect())
    }

    async fn apply(&self, ops: Vec<TargetOp>) -> Vec<OpResult> {
        let _guard = self.lock.lock().await;
        let mut directory = match self.load().await {
            Ok(directory) => directory,
            Err(error) => return ops.iter().map(|_| Err(error.clone())).collect(),
        };
        let results: Vec<OpResult> = ops
            .into_iter()
            .map(|op| apply_one(&mut directory, op))
            .collect();
        if results.iter().any(Result::is_ok) {
            let path = self.path.clone();
            let written = tokio::task::spawn_blocking(move || store(&path, &directory)).await;
            if let Err(message) = match written {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            } {
                let error = TargetError::new(
                    TargetErrorKind::Unavailable,
                    format!("cannot write {}: {message}", self.path.display()),
                );
                return results.into_iter().map(|_| Err(error.clone())).collect();
            }
        }
        results
    }
}

fn to_directory_user(user: FileUser, attributes: &[Arc<str>]) -> DirectoryUser {
    let mut mapped = Attributes::default();
    for name in attributes {
        if let Some(value) = user.attributes.get(name.as_ref()) {
            mapped.set(name.clone(), value.clone());
        }
    }
    let text = |value: Option<String>| value.map(CompactString::from);
    DirectoryUser {
        id: user.id.into(),
        external_id: text(user.external_id),
        user_name: text(user.user_name),
        email: text(user.email),
        first_name: text(user.first_name),
        last_name: text(user.last_name),
        preferred_language: text(user.preferred_language),
        active: user.active,
        manager_id: text(user.manager_id),
        attributes: mapped,
        version: Some(format_compact!("{}", user.version)),
    }
}

fn conflict(detail: String) -> TargetError {
    TargetError {
        kind: TargetErrorKind::Conflict,
        status: Some(409),
        code: Some("uniqueness".into()),
        detail,
    }
}

fn taken(directory: &Directory, except: Option<&str>, attr: &str, value: &str) -> bool {
    directory.users.iter().any(|u| {
        Some(u.id.as_str()) != except
            && match attr {
                "externalId" => u.external_id.as_deref(),
                _ => u.email.as_deref(),
            }
            .into_iter()
            .chain(
                (attr == "email")
                    .then_some(u.user_name.as_deref())
                    .flatten(),
            )
            .any(|held| eq_ignore_case(held, value))
    })
}

fn apply_one(directory: &mut Directory, op: TargetOp) -> OpResult {
    match op {
        TargetOp::Create(user) => create(directory, user).map(Some),
        TargetOp::Update {
            id,
            version,
            changes,
        }
        | TargetOp::Deactivate {
            id,
            version,
            changes,
        } => update(directory, &id, version.as_deref(), &changes).map(|()| None),
        TargetOp::Delete { id } => {
            let index = position(directory, &id)?;
            directory.users.remove(index);
            Ok(None)
        }
    }
}

fn position(directory: &Directory, id: &str) -> Result<usize, TargetError> {
    directory
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| TargetError::new(TargetErrorKind::NotFound, format!("no user with id {id}")))
}

fn create(directory: &mut Directory, user: NewUser) -> Result<CompactString, TargetError> {
    if taken(directory, None, "externalId", &user.external_id) {
        return Err(conflict(format!(
            "externalId {} is already in use",
            user.external_id
        )));
    }
    if taken(directory, None, "email", &user.email) {
        return Err(conflict("the email is already in use".into()));
    }
    let next = directory
        .users
        .iter()
        .filter_map(|u| u.id.strip_prefix('u')?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let id = format!("u{next:06}");
    directory.users.push(FileUser {
        id: id.clone(),
        external_id: Some(user.external_id.into()),
        user_name: Some(user.email.to_string()),
        email: Some(user.email.into()),
        first_name: Some(user.first_name.into()),
        last_name: Some(user.last_name.into()),
        preferred_language: user.preferred_language.map(Into::into),
        active: user.active,
        manager_id: user.manager.map(Into::into),
        attributes: user
            .attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        version: 1,
    });
    Ok(id.into())
}

fn update(
    directory: &mut Directory,
    id: &str,
    version: Option<&str>,
    changes: &[AttrChange],
) -> Result<(), TargetError> {
    let index = position(directory, id)?;
    if let Some(version) = version
        && version != directory.users[index].version.to_string()
    {
        return Err(TargetError {
            kind: TargetErrorKind::VersionMismatch,
            status: Some(412),
            code: None,
            detail: format!("user {id} changed since it was read"),
        });
    }
    for change in changes {
        let text = || {
            change
                .after
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match &change.attr {
            Attr::ExternalId => {
                if let Some(value) = text()
                    && taken(directory, Some(id), "externalId", &value)
                {
                    return Err(conflict(format!("externalId {value} is already in use")));
                }
            }
            Attr::Email => {
                if let Some(value) = text()
                    && taken(directory, Some(id), "email", &value)
                {
                    return Err(conflict("the email is already in use".into()));
                }
            }
            _ => {}
        }
    }
    let user = &mut directory.users[index];
    for change in changes {
        let text = || {
            change
                .after
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match &change.attr {
            Attr::ExternalId => user.external_id = text(),
            Attr::Email => {
                user.email = text();
                user.user_name = text();
            }
            Attr::FirstName => user.first_name = text(),
            Attr::LastName => user.last_name = text(),
            Attr::PreferredLanguage => user.preferred_language = text(),
            Attr::Active => {
                user.active = change
                    .after
                    .as_ref()
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
            }
            Attr::Manager => user.manager_id = text(),
            Attr::Mapped(name) => match &change.after {
                Some(value) => {
                    user.attributes.insert(name.to_string(), value.clone());
                }
                None => {
                    user.attributes.remove(name.as_ref());
                }
            },
        }
    }
    user.version += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_user(external_id: &str, email: &str) -> NewUser {
        NewUser {
            external_id: external_id.into(),
            email: email.into(),
            first_name: "A".into(),
            last_name: "B".into(),
            active: true,
            ..NewUser::default()
        }
    }

    #[tokio::test]
    async fn creates_updates_and_deletes_with_unique_emails_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let target = FileTarget::new(path.clone());
        assert_eq!(target.list_users(&[]).await.unwrap(), vec![]);

        let results = target
            .apply(vec![
                TargetOp::Create(new_user("p:1", "a@x.example")),
                TargetOp::Create(new_user("p:2", "A@X.example")),
                TargetOp::Create(new_user("p:3", "c@x.example")),
            ])
            .await;
        assert_eq!(results[0], Ok(Some("u000001".into())));
        assert_eq!(
            results[1].as_ref().unwrap_err().kind,
            TargetErrorKind::Conflict
        );
        assert_eq!(results[2], Ok(Some("u000002".into())));

        let stale = TargetOp::Update {
            id: "u000001".into(),
            version: Some("7".into()),
            changes: vec![],
        };
        let rename = TargetOp::Update {
            id: "u000001".into(),
            version: Some("1".into()),
            changes: vec![AttrChange {
                attr: Attr::Mapped("dept".into()),
                before: None,
                after: Some(Value::String("Eng".into())),
            }],
        };
        let results = target
            .apply(vec![
                stale,
                rename,
                TargetOp::Delete {
                    id: "u000002".into(),
                },
            ])
            .await;
        assert_eq!(
            results[0].as_ref().unwrap_err().kind,
            TargetErrorKind::VersionMismatch
        );
        assert_eq!(results[1], Ok(None));
        assert_eq!(results[2], Ok(None));

        let users = target.list_users(&["dept".into()]).await.unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(
            users[0].attributes.get("dept"),
            Some(&Value::String("Eng".into()))
        );
        assert_eq!(users[0].version.as_deref(), Some("2"));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("users.json")]);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_not_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(&path, "{\"users\": [").unwrap();
        let target = FileTarget::new(path);
        let error = target.list_users(&[]).await.unwrap_err();
        assert_eq!(error.kind, TargetErrorKind::InvalidData);
    }
}
