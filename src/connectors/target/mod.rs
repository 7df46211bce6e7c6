//! Target directories: one connector per directory, each implementing the core's
//! [`crate::sync::ports::target::Target`] port.

pub mod file;
pub mod google;
pub mod graph;
pub mod scim;
pub mod scim_path;

use async_trait::async_trait;

use super::{
    ConnectorContext,
    http::{HttpError, HttpErrorKind},
};
use crate::{
    crd::{SecretKeyRef, TargetSpec},
    sync::{
        policy::SpecError,
        ports::target::{Target, TargetError, TargetErrorKind},
    },
};

/// A request that failed for how the server answered rather than for what it said: a
/// redirect (not followed), or an answer too large or cut off. `None` for other failures,
/// which each target reads in its own API's terms.
pub(crate) fn unusable_answer(error: &HttpError) -> Option<TargetError> {
    let kind = match error.kind {
        HttpErrorKind::Redirect | HttpErrorKind::CutOff => TargetErrorKind::Unavailable,
        HttpErrorKind::TooLarge => TargetErrorKind::InvalidData,
        HttpErrorKind::Status | HttpErrorKind::Transport | HttpErrorKind::TokenRefused => {
            return None;
        }
    };
    Some(TargetError {
        kind,
        status: error.status,
        code: None,
        detail: error.message.clone(),
    })
}

/// What the operator knows of one kind of target, kept with its connector: the secrets its
/// sync Job mounts, the checks of its settings, and how to build its client. Each kind's spec
/// implements it in the connector's own file; [`connector`] picks the one a spec names.
#[async_trait]
pub trait TargetConnector: Sync {
    /// Every secret the target reads: the sync Job mounts exactly these.
    fn secret_refs(&self) -> Vec<&SecretKeyRef>;

    /// Problems of the settings that the CRD schema cannot see (or that a local manifest
    /// never met), each naming its field under `spec.target`.
    fn validate(&self) -> Vec<SpecError>;

    /// Why `attributeMapping[].to` cannot name `to` in this target (a field it does not have,
    /// or one the connector writes itself), with the names it takes; `None` when it can.
    fn check_mapped_attribute(&self, to: &str) -> Option<String> {
        let _ = to;
        None
    }

    /// Builds the target, reading its credentials.
    async fn build(&self, context: &ConnectorContext) -> Result<Box<dyn Target>, TargetError>;
}

/// The connector of the target a spec names: the one place that goes over every kind.
pub fn connector(spec: &TargetSpec) -> &dyn TargetConnector {
    match spec {
        TargetSpec::Scim(spec) => &**spec,
        TargetSpec::File(spec) => spec,
        TargetSpec::MicrosoftGraph(spec) => &**spec,
        TargetSpec::GoogleWorkspace(spec) => &**spec,
    }
}

/// Builds the target a spec names, reading its credentials.
pub async fn build(
    spec: &TargetSpec,
    context: &ConnectorContext,
) -> Result<Box<dyn Target>, TargetError> {
    connector(spec).build(context).await
}
