//! Target directories: one connector per directory, each implementing the core's
//! [`Target`](crate::sync::ports::target::Target) port.

pub mod file;
pub mod google;
pub mod graph;
pub mod scim;

use super::{
    ConnectorContext,
    http::{HttpError, HttpErrorKind},
};
use crate::{
    crd::TargetSpec,
    sync::ports::target::{Target, TargetError, TargetErrorKind},
};

/// A request that failed for how the server answered rather than for what it said: a
/// redirect (not followed), or an answer too large or cut off. `None` for other failures,
/// which each target reads in its own API's terms.
pub(crate) fn unusable_answer(error: &HttpError) -> Option<TargetError> {
    let kind = match error.kind {
        HttpErrorKind::Redirect | HttpErrorKind::CutOff => TargetErrorKind::Unavailable,
        HttpErrorKind::TooLarge => TargetErrorKind::InvalidData,
        HttpErrorKind::Status | HttpErrorKind::Transport => return None,
    };
    Some(TargetError {
        kind,
        status: error.status,
        code: None,
        detail: error.message.clone(),
    })
}

/// Builds the target a spec names, reading its credentials.
pub async fn build(
    spec: &TargetSpec,
    context: &ConnectorContext,
) -> Result<Box<dyn Target>, TargetError> {
    Ok(match spec {
        TargetSpec::Scim(scim) => Box::new(scim::ScimTarget::from_spec(scim, context).await?),
        TargetSpec::File(file) => Box::new(file::FileTarget::new(context.resolve_path(&file.path))),
        TargetSpec::MicrosoftGraph(graph) => {
            Box::new(graph::GraphTarget::from_spec(graph, context).await?)
        }
        TargetSpec::GoogleWorkspace(google) => {
            Box::new(google::GoogleTarget::from_spec(google, context).await?)
        }
    })
}
