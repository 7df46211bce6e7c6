//! What the Microsoft Graph target and the Microsoft Graph source share: the app registration
//! they sign in as ([`GraphAppRegistration`]), its client-credentials token from the Microsoft
//! identity platform, asked for Graph's `/.default` scope at
//! `<authorityUrl>/<tenantId>/oauth2/v2.0/token` (the HTTP client caches it, renews it a minute
//! before it expires, and fetches a new one once when Graph answers 401), and the checks of
//! its URLs.

use super::{checks::check_url, http::Auth};
use crate::{crd::GraphAppRegistration, sync::policy::SpecError};

/// Graph's base URL with its version, without a trailing slash.
pub fn graph_base(app: &GraphAppRegistration) -> String {
    app.graph_url.trim_end_matches('/').to_owned()
}

/// The token endpoint: `<authorityUrl>/<tenantId>/oauth2/v2.0/token`.
pub fn token_url(app: &GraphAppRegistration) -> String {
    format!(
        "{}/{}/oauth2/v2.0/token",
        app.authority_url.trim_end_matches('/'),
        app.tenant_id
    )
}

/// The scope of an application token for Graph: its origin and `/.default` (every application
/// permission the app was granted).
pub fn scope(app: &GraphAppRegistration) -> String {
    format!("{}/.default", origin(&graph_base(app)))
}

/// The client-credentials authentication of requests to Graph, with the app's secret.
pub fn auth(app: &GraphAppRegistration, client_secret: String) -> Auth {
    Auth::ClientCredentials {
        token_url: token_url(app),
        client_id: app.client_id.clone(),
        client_secret,
        scope: Some(scope(app)),
        cached: Default::default(),
    }
}

/// Problems of the app's URLs (`authorityUrl`, `graphUrl`), each named under `spec_path`
/// (`spec.target.microsoftGraph`).
pub fn url_problems(
    app: &GraphAppRegistration,
    allow_insecure_http: bool,
    spec_path: &str,
) -> Vec<SpecError> {
    [
        ("authorityUrl", &app.authority_url),
        ("graphUrl", &app.graph_url),
    ]
    .into_iter()
    .filter_map(|(name, url)| {
        check_url(url, allow_insecure_http)
            .err()
            .map(|message| SpecError {
                field: format!("{spec_path}.{name}"),
                message,
            })
    })
    .collect()
}

/// `https://graph.microsoft.com/v1.0` → `https://graph.microsoft.com`.
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(index) => &url[..after_scheme + index],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_asked_of_the_tenant_for_the_graph_origin() {
        let app: GraphAppRegistration = serde_json::from_value(serde_json::json!({
            "tenantId": "contoso.onmicrosoft.com",
            "clientId": "c",
            "clientSecretSecretRef": {"name": "s", "key": "k"},
            "authorityUrl": "https://login.microsoftonline.com/",
            "graphUrl": "https://graph.microsoft.com/v1.0/",
        }))
        .unwrap();
        assert_eq!(
            token_url(&app),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(scope(&app), "https://graph.microsoft.com/.default");
        assert_eq!(graph_base(&app), "https://graph.microsoft.com/v1.0");
        assert_eq!(url_problems(&app, false, "spec.x"), vec![]);
        assert_eq!(
            origin("https://graph.microsoft.com/v1.0"),
            "https://graph.microsoft.com"
        );
        assert_eq!(origin("http://127.0.0.1:9/v1.0"), "http://127.0.0.1:9");
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn urls_are_checked_naming_their_field() {
        let app: GraphAppRegistration = serde_json::from_value(serde_json::json!({
            "tenantId": "t", "clientId": "c",
            "clientSecretSecretRef": {"name": "s", "key": "k"},
            "authorityUrl": "http://login.example", "graphUrl": "file:///v1.0",
        }))
        .unwrap();
        let fields: Vec<String> = url_problems(&app, false, "spec.source.microsoftGraph")
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.source.microsoftGraph.authorityUrl",
                "spec.source.microsoftGraph.graphUrl"
            ]
        );
    }
}
