//! Connectors: one `Source` per HR system, one `Target` per directory. The spec's one-of enum
//! picks the connector with an exhaustive `match`; there is no registry.

pub mod http;
pub mod secrets;
pub mod source;
pub mod target;

use std::path::{Path, PathBuf};

pub use secrets::{ConfigMapResolver, SecretResolver};

use crate::{
    crd::HrisConnectionSpec,
    sync::{
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
