//! `status`: the connections and how their last runs went, as a table.

use kube::{Api, Client, ResourceExt, api::ListParams};

use crate::crd::HrisConnection;

/// The connections of `namespace`, or of every namespace.
pub async fn list_connections(
    client: Client,
    namespace: Option<&str>,
) -> Result<Vec<HrisConnection>, kube::Error> {
    let api: Api<HrisConnection> = match namespace {
        Some(namespace) => Api::namespaced(client, namespace),
        None => Api::all(client),
    };
    Ok(api.list(&ListParams::default()).await?.items)
}

/// The `status` table.
pub fn status_table(connections: &[HrisConnection]) -> String {
    let mut rows = vec![[
        "NAMESPACE".to_owned(),
        "NAME".to_owned(),
        "MODE".to_owned(),
        "READY".to_owned(),
        "LAST RUN".to_owned(),
        "RESULT".to_owned(),
        "CHANGES".to_owned(),
        "PLAN HASH".to_owned(),
    ]];
    for connection in connections {
        let status = connection.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map_or("Unknown".to_owned(), |c| c.status.clone());
        let latest = [status.last_sync.as_ref(), status.last_simulation.as_ref()]
            .into_iter()
            .flatten()
            .max_by_key(|run| run.finished_at.as_ref().map(|t| t.0));
        let (when, result, changes, hash) = match latest {
            Some(run) => (
                run.finished_at
                    .as_ref()
                    .map_or(String::new(), |t| t.0.to_string()),
                run.result.map_or(String::new(), |r| r.as_str().to_owned()),
                format!(
                    "+{} ~{} -{} x{}",
                    run.counts.created,
                    run.counts.updated,
                    run.counts.deactivated,
                    run.counts.deleted
                ),
                run.plan_hash.clone().unwrap_or_default(),
            ),
            None => Default::default(),
        };
        rows.push([
            connection.namespace().unwrap_or_default(),
            connection.name_any(),
            format!("{:?}", connection.spec.mode),
            ready,
            when,
            result,
            changes,
            hash,
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned() + "\n"
        })
        .collect()
}
