//! Loading an `HrisConnection` manifest from a file, with one clear message per problem.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{
    crd::{GROUP, HrisConnectionSpec},
    sync::policy::{SpecError, SpecErrors, SyncPolicy},
};

/// A manifest read from a file.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`default` when absent).
    pub namespace: String,
    /// The spec.
    pub spec: HrisConnectionSpec,
    /// The directory relative paths in the spec resolve against.
    pub dir: PathBuf,
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error(
        "{path} is not UTF-8 text (line {line} holds a byte that is not UTF-8): save it as UTF-8"
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line of the first byte that is not UTF-8, from 1.
        line: usize,
    },
    /// The file holds no YAML document, or more than one.
    #[error("{path}: {}", documents_message(.count))]
    Documents {
        /// The file.
        path: PathBuf,
        /// How many documents it holds.
        count: usize,
    },
    /// The file is not YAML.
    #[error("{path} is not valid YAML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the location.
        message: String,
    },
    /// The manifest is not a valid HrisConnection.
    #[error("{path} is not a valid HrisConnection:\n{errors}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        errors: SpecErrors,
    },
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<(Manifest, SyncPolicy), ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            ManifestError::NotUtf8 {
                path: path.to_path_buf(),
                line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
            }
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Self::parse(&text, dir).map_err(|e| match e {
            ParseError::Syntax(message) => ManifestError::Syntax {
                path: path.to_path_buf(),
                message,
            },
            ParseError::Documents(count) => ManifestError::Documents {
                path: path.to_path_buf(),
                count,
            },
            ParseError::Invalid(errors) => ManifestError::Invalid {
                path: path.to_path_buf(),
                errors,
            },
        })
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str, dir: PathBuf) -> Result<(Manifest, SyncPolicy), ParseError> {
        // Read every document, so that a second one is named as such rather than as a syntax
        // error; empty documents (a trailing `---`) are skipped, as kubectl skips them.
        let mut documents: Vec<Value> =
            serde_saphyr::from_str_multiple(text).map_err(|e| ParseError::Syntax(e.to_string()))?;
        if documents.len() != 1 {
            return Err(ParseError::Documents(documents.len()));
        }
        let document = documents.remove(0);
        let invalid = |field: &str, message: String| {
            ParseError::Invalid(SpecErrors(vec![SpecError {
                field: field.into(),
                message,
            }]))
        };
        let expected_api = format!("{GROUP}/v1alpha1");
        for (field, expected) in [
            ("apiVersion", expected_api.as_str()),
            ("kind", "HrisConnection"),
        ] {
            let found = document.get(field);
            if found.and_then(Value::as_str) != Some(expected) {
                let found = match found {
                    None | Some(Value::Null) => "is missing".to_owned(),
                    Some(Value::String(text)) => format!("is `{text}`"),
                    Some(other) => format!("is `{other}`, not text"),
                };
                return Err(invalid(field, format!("{found}; set it to `{expected}`")));
            }
        }
        let metadata = document.get("metadata");
        let text_of = |key: &str| {
            metadata
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let name = text_of("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid("metadata.name", "is required".into()))?;
        let namespace = text_of("namespace").unwrap_or_else(|| "default".into());
        let Some(spec) = document.get("spec").cloned() else {
            return Err(invalid("spec", "is required".into()));
        };
        for key in ["source", "target"] {
            if let Some(Value::Object(map)) = spec.get(key)
                && map.len() != 1
            {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                return Err(invalid(
                    &format!("spec.{key}"),
                    format!(
                        "has {} keys ({}); set exactly one",
                        keys.len(),
                        keys.join(", ")
                    ),
                ));
            }
        }
        let oversized = crate::crd::bounds::oversized(&spec);
        if !oversized.is_empty() {
            return Err(ParseError::Invalid(SpecErrors(
                oversized
                    .into_iter()
                    .map(|(field, message)| SpecError { field, message })
                    .collect(),
            )));
        }
        let mut unknown = Vec::new();
        let mut record_unknown = |path: serde_ignored::Path<'_>| {
            unknown.push(format!("spec.{path}"));
        };
        let deserializer = serde_ignored::Deserializer::new(spec, &mut record_unknown);
        let spec: HrisConnectionSpec =
            serde_path_to_error::deserialize(deserializer).map_err(|e| {
                let field = match e.path().to_string() {
                    path if path == "." => "spec".to_owned(),
                    path => format!("spec.{path}"),
                };
                let message = e
                    .inner()
                    .to_string()
                    .replace("expected u32", "expected a whole number, 0 or more")
                    .replace("expected i32", "expected a whole number")
                    .replace("expected i64", "expected a whole number");
                invalid(&field, message)
            })?;
        if !unknown.is_empty() {
            return Err(ParseError::Invalid(SpecErrors(
                unknown
                    .into_iter()
                    .map(|field| {
                        let message = if is_notification_on(&field) {
                            "is not a field of HrisConnection: list the events under `events:`. \
                             (Kubernetes reads YAML 1.1, where an unquoted `on:` key is `true`, \
                             so the cluster would refuse or drop it.)"
                        } else {
                            "is not a field of HrisConnection (misspelt?); see `kubectl explain \
                             hrisconnection.spec` or the README"
                        };
                        SpecError {
                            field,
                            message: message.into(),
                        }
                    })
                    .collect(),
            )));
        }
        let policy = crate::connectors::check_spec(&spec).map_err(ParseError::Invalid)?;
        Ok((
            Manifest {
                name,
                namespace,
                spec,
                dir,
            },
            policy,
        ))
    }
}

/// `spec.notifications[N].on`, or the `true` Kubernetes' YAML 1.1 makes of it: the `on` of
/// other tools' notification settings, which this resource spells `events`.
fn is_notification_on(field: &str) -> bool {
    let parts: Vec<&str> = field.split('.').collect();
    matches!(
        parts.as_slice(),
        ["spec", "notifications", index, "on" | "true"] if index.parse::<usize>().is_ok()
    )
}

/// Why manifest text could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not YAML.
    #[error("not valid YAML: {0}")]
    Syntax(String),
    /// No YAML document, or more than one.
    #[error("{}", documents_message(.0))]
    Documents(usize),
    /// Not a valid HrisConnection.
    #[error("{0}")]
    Invalid(SpecErrors),
}

/// What to do about a file of `count` documents (anything but one).
fn documents_message(count: &usize) -> String {
    match *count {
        0 => "this file holds no YAML document; write one HrisConnection in it".to_owned(),
        _ => format!("this file holds {count} documents; put one HrisConnection per file"),
    }
}
