//! The target port: a user directory lists its users once per run and applies batches of
//! operations, reporting each operation's own outcome.

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use compact_str::CompactString;

use crate::sync::model::{AttrChange, DirectoryUser, NewUser};

/// What a target can do, honestly stated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetCapabilities {
    /// Holds manager links.
    pub managers: bool,
    /// Checks version tags (ETag / If-Match) on updates.
    pub versions: bool,
    /// Largest number of operations sent in one request (1: no batching).
    pub max_batch: usize,
    /// Can delete users (some providers only deactivate); without it, removals deactivate.
    pub deletes: bool,
}

/// One write.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetOp {
    /// Create a user; the manager, when set, is a target id.
    Create(NewUser),
    /// Change exactly these attributes; a manager value is a target id.
    Update {
        /// Target id.
        id: CompactString,
        /// Version tag read when listing, for optimistic concurrency.
        version: Option<CompactString>,
        /// The changes.
        changes: Vec<AttrChange>,
    },
    /// Deactivate (the changes include `active: false`).
    Deactivate {
        /// Target id.
        id: CompactString,
        /// Version tag read when listing.
        version: Option<CompactString>,
        /// The changes.
        changes: Vec<AttrChange>,
    },
    /// Delete a user.
    Delete {
        /// Target id.
        id: CompactString,
    },
}

/// The kind of a target failure; its name is the Event reason and metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetErrorKind {
    /// The user (or its email) already exists.
    Conflict,
    /// The user changed since it was read (version mismatch).
    VersionMismatch,
    /// No such user.
    NotFound,
    /// The target's license or seat limit is reached.
    LicenseLimitExceeded,
    /// The target rejected the request as invalid.
    Rejected,
    /// The target rejected the credentials.
    CredentialsInvalid,
    /// Throttled beyond the retry budget.
    Throttled,
    /// The target could not be reached or failed.
    Unavailable,
    /// The target's data could not be read.
    InvalidData,
}

impl TargetErrorKind {
    /// Category name for Events, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetErrorKind::Conflict => "UserConflict",
            TargetErrorKind::VersionMismatch => "VersionMismatch",
            TargetErrorKind::NotFound => "NotFound",
            TargetErrorKind::LicenseLimitExceeded => "LicenseLimitExceeded",
            TargetErrorKind::Rejected => "Rejected",
            TargetErrorKind::CredentialsInvalid => "CredentialsInvalid",
            TargetErrorKind::Throttled => "Throttled",
            TargetErrorKind::Unavailable => "TargetUnavailable",
            TargetErrorKind::InvalidData => "InvalidTargetData",
        }
    }
}

/// A failed target call, with what the target said.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TargetError {
    /// What kind of failure.
    pub kind: TargetErrorKind,
    /// HTTP status, when there was one.
    pub status: Option<u16>,
    /// SCIM `scimType` or the API's error code.
    pub code: Option<String>,
    /// The target's explanation.
    pub detail: String,
}

impl TargetError {
    /// A failure without HTTP details.
    pub fn new(kind: TargetErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            code: None,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.as_str())?;
        if let Some(status) = self.status {
            write!(f, " (status {status}")?;
            if let Some(code) = &self.code {
                write!(f, ", {code}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Outcome of one operation: the created user's id for a Create.
pub type OpResult = Result<Option<CompactString>, TargetError>;

/// A user directory.
#[async_trait]
pub trait Target: Send + Sync {
    /// What the target supports.
    fn capabilities(&self) -> TargetCapabilities;

    /// Verifies that the target is reachable and accepts the credentials.
    async fn check(&self) -> Result<(), TargetError>;

    /// Every user, with the mapped attributes named in `attributes`.
    async fn list_users(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError>;

    /// Performs the operations (batched and paced as the target allows) and returns one result
    /// per operation, in order. One failing operation never stops the others.
    async fn apply(&self, ops: Vec<TargetOp>) -> Vec<OpResult>;
}
