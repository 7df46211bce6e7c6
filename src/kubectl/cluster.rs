//! The cluster the kubectl side talks to, configured as kubectl would be, and the messages
//! that name it: a failed request names the API server URL and the kubeconfig context, and
//! when the server could not be reached at all, what to check.

use std::path::Path;

use kube::{
    Client,
    config::{KubeConfigOptions, Kubeconfig},
};

use super::report::ReportError;
use crate::connectors::http::shown_url;

/// The client configuration kubectl would use: `kubeconfig` (else `$KUBECONFIG`, then
/// `~/.kube/config`, then the Pod's ServiceAccount) and `context` (else the current one).
pub async fn client_config(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Config, String> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let named = |error: &dyn std::fmt::Display| match context {
        Some(context) => format!("cannot use context `{context}`: {error}"),
        None => error.to_string(),
    };
    match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read --kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| named(&e))
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| named(&e)),
        None => kube::Config::infer().await.map_err(|e| e.to_string()),
    }
}

/// The cluster a command talks to, as its messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterName {
    /// The API server's URL, without credentials.
    pub server: String,
    /// The kubeconfig context; `None` for the in-cluster configuration (a Pod's own).
    pub context: Option<String>,
}

impl ClusterName {
    /// The cluster `config` points at. Its context is `context`, else the current context of
    /// the kubeconfig (`kubeconfig`, else `$KUBECONFIG`, then `~/.kube/config`); none when no
    /// kubeconfig can be read, which is when the configuration is the in-cluster one.
    pub fn of(config: &kube::Config, kubeconfig: Option<&Path>, context: Option<&str>) -> Self {
        let context = context.map(str::to_owned).or_else(|| {
            let file = match kubeconfig {
                Some(path) => Kubeconfig::read_from(path).ok(),
                None => Kubeconfig::read().ok(),
            };
            file.and_then(|file| file.current_context)
        });
        let server = shown_url(&config.cluster_url.to_string());
        ClusterName {
            server: server.trim_end_matches('/').to_owned(),
            context,
        }
    }

    /// A failed request to this cluster as a message: what a server that answered said, with
    /// the server and context; for one that could not be reached, the reason at the root of
    /// the failure and what to check.
    pub fn explain(&self, error: &kube::Error) -> String {
        match error {
            kube::Error::Api(status) => format!(
                "the Kubernetes API server {self} answered {} {}: {}",
                status.code, status.reason, status.message
            ),
            other => {
                let check = match self.context {
                    Some(_) => {
                        "check that the cluster is up, and that the kubeconfig (KUBECONFIG) and \
                         its context point at it"
                    }
                    None => "check that the cluster's API server is up and reachable from here",
                };
                format!(
                    "cannot reach the Kubernetes API server {self}: {}; {check}",
                    root_cause(other)
                )
            }
        }
    }

    /// [`ClusterName::explain`] for the errors of fetching a report.
    pub fn explain_report(&self, error: &ReportError) -> String {
        match error {
            ReportError::Api(error) => self.explain(error),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for ClusterName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.context {
            Some(context) => write!(f, "{} (context {context})", self.server),
            None => write!(f, "{} (in-cluster configuration)", self.server),
        }
    }
}

/// The innermost error of a chain: for a connection that failed, the operating system's
/// reason ("Connection refused"), the name that did not resolve or the certificate refused.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A client for `kubeconfig` and `context` (see [`client_config`]) and the name of its cluster
/// for messages.
pub async fn cluster_client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<(Client, ClusterName), String> {
    let config = client_config(kubeconfig, context).await?;
    let name = ClusterName::of(&config, kubeconfig, context);
    let client =
        Client::try_from(config).map_err(|e| format!("cannot build a client for {name}: {e}"))?;
    Ok((client, name))
}
