//! Connectors: one `Source` per HR system, one `Target` per directory. The spec's one-of enum
//! picks the connector with an exhaustive `match`; there is no registry.

pub mod http;
pub mod secrets;
pub mod source;
pub mod target;

use std::path::{Path, PathBuf};

pub use secrets::{ConfigMapResolver, SecretResolver};

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
