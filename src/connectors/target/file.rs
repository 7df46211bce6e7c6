//! A JSON file acting as a user directory, for demos and tests.
//!
//! Like a real directory it enforces unique externalIds and emails, assigns ids and checks
//! versions. Each batch is written atomically (temporary file, fsync, rename), so a crash never
//! leaves the file half-written: it holds the state before or after the batch.

use std::{
    collections::{BTreeMap, HashMap},
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
        field::eq_ignore_case_key,
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
        let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
        serde_json::to_writer_pretty(&mut file, directory)?;
        file.write_all(b"\n")?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
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
        let path = self.path.clone();
        let count = ops.len();
        tokio::task::spawn_blocking(move || apply_batch(&path, ops))
            .await
            .unwrap_or_else(|e| {
                let error = TargetError::new(TargetErrorKind::Unavailable, e.to_string());
                vec![Err(error); count]
            })
    }
}

/// Loads the directory, applies `ops` in order and, when any succeeded, stores the result.
fn apply_batch(path: &Path, ops: Vec<TargetOp>) -> Vec<OpResult> {
    let mut batch = match load(path) {
        Ok(directory) => Batch::new(directory),
        Err(error) => return ops.iter().map(|_| Err(error.clone())).collect(),
    };
    let results: Vec<OpResult> = ops.into_iter().map(|op| batch.apply(op)).collect();
    if results.iter().any(Result::is_ok)
        && let Err(e) = store(path, &batch.into_directory())
    {
        let error = TargetError::new(
            TargetErrorKind::Unavailable,
            format!("cannot write {}: {e}", path.display()),
        );
        return results.into_iter().map(|_| Err(error.clone())).collect();
    }
    results
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

/// Positions of the users holding a key, in file order.
type Holders = Vec<usize>;

/// A directory loaded for one batch, with indexes that make each write independent of the
/// directory's size: users by id, the holders of each externalId, and of each sign-in name
/// (emails and userNames share one namespace), compared case-insensitively like
/// [`eq_ignore_case`](crate::sync::field::eq_ignore_case). A deleted user leaves a hole until the batch is stored, so positions stay
/// valid and the file keeps its order.
///
/// A file edited by hand may hold duplicates; every holder is kept, so a value stays taken
/// while anyone else holds it, and an id names its first user, as a scan in file order would.
struct Batch {
    users: Vec<Option<FileUser>>,
    ids: HashMap<String, Holders>,
    external_ids: HashMap<String, Holders>,
    sign_in_names: HashMap<String, Holders>,
    /// How many users hold each numeric id (`u000042` is 42): a new id is one past the largest.
    numbers: BTreeMap<u64, usize>,
}

fn id_number(id: &str) -> Option<u64> {
    id.strip_prefix('u')?.parse().ok()
}

fn hold(index: &mut HashMap<String, Holders>, key: &str, at: usize) {
    match index.get_mut(key) {
        Some(holders) => holders.push(at),
        None => {
            index.insert(key.to_owned(), vec![at]);
        }
    }
}

fn release(index: &mut HashMap<String, Holders>, key: &str, at: usize) {
    if let Some(holders) = index.get_mut(key) {
        holders.retain(|&held| held != at);
        if holders.is_empty() {
            index.remove(key);
        }
    }
}

impl Batch {
    fn new(directory: Directory) -> Self {
        let mut batch = Batch {
            users: Vec::with_capacity(directory.users.len()),
            ids: HashMap::with_capacity(directory.users.len()),
            external_ids: HashMap::with_capacity(directory.users.len()),
            sign_in_names: HashMap::with_capacity(directory.users.len()),
            numbers: BTreeMap::new(),
        };
        for user in directory.users {
            batch.push(user);
        }
        batch
    }

    fn into_directory(self) -> Directory {
        Directory {
            users: self.users.into_iter().flatten().collect(),
        }
    }

    fn push(&mut self, user: FileUser) {
        let at = self.users.len();
        hold(&mut self.ids, &user.id, at);
        if let Some(number) = id_number(&user.id) {
            *self.numbers.entry(number).or_default() += 1;
        }
        self.users.push(Some(user));
        self.hold_values(at);
    }

    fn user(&self, at: usize) -> &FileUser {
        self.users[at]
            .as_ref()
            .expect("indexes hold present users only")
    }

    /// The case-insensitive keys of the user's externalId and of its sign-in names.
    fn keys(&self, at: usize) -> (Option<String>, Vec<String>) {
        let user = self.user(at);
        let key = |value: &str| eq_ignore_case_key(value).into_owned();
        let external_id = user.external_id.as_deref().map(key);
        let mut names: Vec<String> = [user.email.as_deref(), user.user_name.as_deref()]
            .into_iter()
            .flatten()
            .map(key)
            .collect();
        names.dedup();
        (external_id, names)
    }

    fn hold_values(&mut self, at: usize) {
        let (external_id, names) = self.keys(at);
        if let Some(key) = external_id {
            hold(&mut self.external_ids, &key, at);
        }
        for key in names {
            hold(&mut self.sign_in_names, &key, at);
        }
    }

    fn release_values(&mut self, at: usize) {
        let (external_id, names) = self.keys(at);
        if let Some(key) = external_id {
            release(&mut self.external_ids, &key, at);
        }
        for key in names {
            release(&mut self.sign_in_names, &key, at);
        }
    }

    /// Whether someone other than the user `except` holds `value` in `index`.
    fn taken(&self, index: &HashMap<String, Holders>, except: Option<&str>, value: &str) -> bool {
        index
            .get(eq_ignore_case_key(value).as_ref())
            .is_some_and(|holders| {
                holders
                    .iter()
                    .any(|&at| Some(self.user(at).id.as_str()) != except)
            })
    }

    fn position(&self, id: &str) -> Result<usize, TargetError> {
        self.ids
            .get(id)
            .and_then(|holders| holders.first().copied())
            .ok_or_else(|| {
                TargetError::new(TargetErrorKind::NotFound, format!("no user with id {id}"))
            })
    }

    fn apply(&mut self, op: TargetOp) -> OpResult {
        match op {
            TargetOp::Create(user) => self.create(user).map(Some),
            TargetOp::Update {
                id,
                version,
                changes,
            }
            | TargetOp::Deactivate {
                id,
                version,
                changes,
            } => self
                .update(&id, version.as_deref(), &changes)
                .map(|()| None),
            TargetOp::Delete { id } => {
                let at = self.position(&id)?;
                self.release_values(at);
                release(&mut self.ids, &id, at);
                if let Some(number) = id_number(&id)
                    && let Some(count) = self.numbers.get_mut(&number)
                {
                    *count -= 1;
                    if *count == 0 {
                        self.numbers.remove(&number);
                    }
                }
                self.users[at] = None;
                Ok(None)
            }
        }
    }

    fn create(&mut self, user: NewUser) -> Result<CompactString, TargetError> {
        if self.taken(&self.external_ids, None, &user.external_id) {
            return Err(conflict(format!(
                "externalId {} is already in use",
                user.external_id
            )));
        }
        if self.taken(&self.sign_in_names, None, &user.email) {
            return Err(conflict("the email is already in use".into()));
        }
        let next = self.numbers.last_key_value().map_or(0, |(&n, _)| n) + 1;
        let id = format!("u{next:06}");
        self.push(FileUser {
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
        &mut self,
        id: &str,
        version: Option<&str>,
        changes: &[AttrChange],
    ) -> Result<(), TargetError> {
        let at = self.position(id)?;
        if let Some(version) = version
            && version != self.user(at).version.to_string()
        {
            return Err(TargetError {
                kind: TargetErrorKind::VersionMismatch,
                status: Some(412),
                code: None,
                detail: format!("user {id} changed since it was read"),
            });
        }
        let mut renames = false;
        for change in changes {
            let after = change.after.as_ref().and_then(Value::as_str);
            match (&change.attr, after) {
                (Attr::ExternalId, Some(value))
                    if self.taken(&self.external_ids, Some(id), value) =>
                {
                    return Err(conflict(format!("externalId {value} is already in use")));
                }
                (Attr::Email, Some(value)) if self.taken(&self.sign_in_names, Some(id), value) => {
                    return Err(conflict("the email is already in use".into()));
                }
                _ => {}
            }
            renames |= matches!(change.attr, Attr::ExternalId | Attr::Email);
        }
        if renames {
            self.release_values(at);
        }
        let user = self.users[at]
            .as_mut()
            .expect("indexes hold present users only");
        for change in changes {
            change_user(user, change);
        }
        user.version += 1;
        if renames {
            self.hold_values(at);
        }
        Ok(())
    }
}

fn change_user(user: &mut FileUser, change: &AttrChange) {
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

    fn change(attr: Attr, after: Option<&str>) -> AttrChange {
        AttrChange {
            attr,
            before: None,
            after: after.map(|a| Value::String(a.into())),
        }
    }

    fn update(id: &str, changes: Vec<AttrChange>) -> TargetOp {
        TargetOp::Update {
            id: id.into(),
            version: None,
            changes,
        }
    }

    fn kinds(results: &[OpResult]) -> Vec<Result<Option<String>, TargetErrorKind>> {
        results
            .iter()
            .map(|r| {
                r.as_ref()
                    .map(|id| id.as_ref().map(ToString::to_string))
                    .map_err(|e| e.kind)
            })
            .collect()
    }

    #[tokio::test]
    async fn names_stay_unique_across_creates_renames_deletes_and_re_creates() {
        let dir = tempfile::tempdir().unwrap();
        let target = FileTarget::new(dir.path().join("users.json"));
        let created = |id: &str| Ok(Some(id.to_owned()));
        let conflict = Err(TargetErrorKind::Conflict);

        let results = target
            .apply(vec![
                TargetOp::Create(new_user("p:1", "ada@x.example")),
                TargetOp::Create(new_user("p:2", "bob@x.example")),
                // The old name of a renamed user is free at once; the new one is taken.
                update(
                    "u000001",
                    vec![change(Attr::Email, Some("ada.l@x.example"))],
                ),
                TargetOp::Create(new_user("p:3", "ADA@x.example")),
                TargetOp::Create(new_user("p:4", "Ada.L@X.example")),
                // A rename onto someone else's name fails and changes nothing.
                update(
                    "u000002",
                    vec![change(Attr::Email, Some("ada.l@x.example"))],
                ),
                // Renaming to one's own name (in other letters) is no conflict.
                update("u000002", vec![change(Attr::Email, Some("BOB@x.example"))]),
                // externalIds, too, are unique whatever the case, and freed by a rename.
                TargetOp::Create(new_user("P:2", "carl@x.example")),
                update("u000002", vec![change(Attr::ExternalId, Some("p:22"))]),
                TargetOp::Create(new_user("P:2", "carl@x.example")),
            ])
            .await;
        assert_eq!(
            kinds(&results),
            vec![
                created("u000001"),
                created("u000002"),
                Ok(None),
                created("u000003"),
                conflict.clone(),
                conflict.clone(),
                Ok(None),
                conflict.clone(),
                Ok(None),
                created("u000004"),
            ]
        );

        // In a later batch (indexes rebuilt from the file): delete, then create the same name.
        let results = target
            .apply(vec![
                TargetOp::Create(new_user("p:9", "bob@x.example")),
                TargetOp::Delete {
                    id: "u000002".into(),
                },
                TargetOp::Create(new_user("p:9", "bob@x.example")),
                TargetOp::Create(new_user("p:10", "BOB@x.example")),
                // The deleted user's id is gone for updates, and its externalId is free.
                update("u000002", vec![]),
                TargetOp::Create(new_user("p:22", "dan@x.example")),
            ])
            .await;
        assert_eq!(
            kinds(&results),
            vec![
                conflict.clone(),
                Ok(None),
                created("u000005"),
                conflict,
                Err(TargetErrorKind::NotFound),
                created("u000006"),
            ]
        );
        let users = target.list_users(&[]).await.unwrap();
        let names: Vec<(&str, &str, &str)> = users
            .iter()
            .map(|u| {
                (
                    u.id.as_str(),
                    u.external_id.as_deref().unwrap(),
                    u.user_name.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("u000001", "p:1", "ada.l@x.example"),
                ("u000003", "p:3", "ADA@x.example"),
                ("u000004", "P:2", "carl@x.example"),
                ("u000005", "p:9", "bob@x.example"),
                ("u000006", "p:22", "dan@x.example"),
            ]
        );
    }

    /// The directory as the target kept it before it had indexes: every check a scan in file
    /// order. The indexed batch must give the same answers and leave the same file.
    mod scan {
        use super::super::*;
        use crate::sync::field::eq_ignore_case;

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

        fn position(directory: &Directory, id: &str) -> Result<usize, TargetError> {
            directory
                .users
                .iter()
                .position(|u| u.id == id)
                .ok_or_else(|| {
                    TargetError::new(TargetErrorKind::NotFound, format!("no user with id {id}"))
                })
        }

        pub fn apply(directory: &mut Directory, op: TargetOp) -> OpResult {
            match op {
                TargetOp::Create(user) => {
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
                    // How a new user's fields are filled is not what this compares.
                    let mut batch = Batch::new(Directory::default());
                    batch.create(user).unwrap();
                    let mut created = batch.into_directory().users.remove(0);
                    created.id = id.clone();
                    directory.users.push(created);
                    Ok(Some(id.into()))
                }
                TargetOp::Update {
                    id,
                    version,
                    changes,
                }
                | TargetOp::Deactivate {
                    id,
                    version,
                    changes,
                } => {
                    let index = position(directory, &id)?;
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
                    for change in &changes {
                        let value = change.after.as_ref().and_then(Value::as_str);
                        match (&change.attr, value) {
                            (Attr::ExternalId, Some(value))
                                if taken(directory, Some(&id), "externalId", value) =>
                            {
                                return Err(conflict(format!(
                                    "externalId {value} is already in use"
                                )));
                            }
                            (Attr::Email, Some(value))
                                if taken(directory, Some(&id), "email", value) =>
                            {
                                return Err(conflict("the email is already in use".into()));
                            }
                            _ => {}
                        }
                    }
                    let user = &mut directory.users[index];
                    for change in &changes {
                        change_user(user, change);
                    }
                    user.version += 1;
                    Ok(None)
                }
                TargetOp::Delete { id } => {
                    let index = position(directory, &id)?;
                    directory.users.remove(index);
                    Ok(None)
                }
            }
        }
    }

    #[test]
    fn indexed_batches_answer_and_store_exactly_as_a_scan_would() {
        let names = [
            "ada@x.example",
            "ADA@x.example",
            "åsa@x.example",
            "ÅSA@X.example",
            "bob@x.example",
            "ΟΔΥΣ@x.example",
            "οδυς@x.example",
            "οδυσ@x.example",
        ];
        let external_ids = ["p:1", "P:1", "p:2", "p:3", "p:Å", "p:å"];
        let ids = ["u000001", "u000002", "u000003", "u000004", "u000009", "x1"];
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..300 {
            // A start that may hold what only a hand edit makes: shared names, repeated ids.
            let mut start = Directory::default();
            for _ in 0..rng.usize(0..6) {
                let name = names[rng.usize(..names.len())];
                start.users.push(FileUser {
                    id: ids[rng.usize(..ids.len())].into(),
                    external_id: rng
                        .bool()
                        .then(|| external_ids[rng.usize(..external_ids.len())].into()),
                    user_name: rng.bool().then(|| name.into()),
                    email: rng.bool().then(|| names[rng.usize(..names.len())].into()),
                    version: rng.u64(1..3),
                    ..FileUser::default()
                });
            }
            let mut ops = Vec::new();
            for _ in 0..rng.usize(1..12) {
                let id: CompactString = ids[rng.usize(..ids.len())].into();
                let text = |rng: &mut fastrand::Rng, pool: &[&str]| {
                    (rng.usize(..5) > 0)
                        .then(|| Value::String(pool[rng.usize(..pool.len())].into()))
                };
                ops.push(match rng.usize(..4) {
                    0 => TargetOp::Create(new_user(
                        external_ids[rng.usize(..external_ids.len())],
                        names[rng.usize(..names.len())],
                    )),
                    1 => TargetOp::Delete { id },
                    _ => {
                        let mut changes = Vec::new();
                        for _ in 0..rng.usize(0..3) {
                            let (attr, after) = match rng.usize(..3) {
                                0 => (Attr::ExternalId, text(&mut rng, &external_ids)),
                                1 => (Attr::Email, text(&mut rng, &names)),
                                _ => (Attr::FirstName, text(&mut rng, &["Ada", "Bo"])),
                            };
                            changes.push(AttrChange {
                                attr,
                                before: None,
                                after,
                            });
                        }
                        TargetOp::Update {
                            id,
                            version: rng.bool().then(|| format_compact!("{}", rng.u64(1..4))),
                            changes,
                        }
                    }
                });
            }
            let mut expected_directory = start.clone();
            let expected: Vec<OpResult> = ops
                .iter()
                .map(|op| scan::apply(&mut expected_directory, op.clone()))
                .collect();
            let mut batch = Batch::new(start);
            let results: Vec<OpResult> = ops.into_iter().map(|op| batch.apply(op)).collect();
            assert_eq!(results, expected, "round {round}");
            assert_eq!(batch.into_directory(), expected_directory, "round {round}");
        }
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
