//! What the Microsoft Graph target and the Microsoft Graph source share: the app registration's
//! client-credentials token from the Microsoft identity platform, asked for Graph's `/.default`
//! scope at `<authorityUrl>/<tenantId>/oauth2/v2.0/token`. The HTTP client caches it, renews
//! it a minute before it expires, and fetches a new one once when Graph answers 401.

use super::http::Auth;

/// The app registration a connector signs in as: the settings both Graph specs share.
#[derive(Clone, Copy, Debug)]
pub struct AppRegistration<'a> {
    /// `authorityUrl`: the identity platform's base URL.
    pub authority_url: &'a str,
    /// `tenantId`: the directory (tenant) id or a verified domain.
    pub tenant_id: &'a str,
    /// `clientId`: the application (client) id.
    pub client_id: &'a str,
    /// `graphUrl`: Graph's base URL with its version; the token is asked for its origin.
    pub graph_url: &'a str,
}

impl AppRegistration<'_> {
    /// The token endpoint: `<authorityUrl>/<tenantId>/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority_url.trim_end_matches('/'),
            self.tenant_id
        )
    }

    /// The scope of an application token for Graph: its origin and `/.default` (every
    /// application permission the app was granted).
    pub fn scope(&self) -> String {
        format!("{}/.default", origin(self.graph_url.trim_end_matches('/')))
    }

    /// The client-credentials authentication of requests to Graph, with `client_secret`.
    pub fn auth(&self, client_secret: String) -> Auth {
        Auth::ClientCredentials {
            token_url: self.token_url(),
            client_id: self.client_id.to_owned(),
            client_secret,
            scope: Some(self.scope()),
            cached: Default::default(),
        }
    }
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
        let app = AppRegistration {
            authority_url: "https://login.microsoftonline.com/",
            tenant_id: "contoso.onmicrosoft.com",
            client_id: "c",
            graph_url: "https://graph.microsoft.com/v1.0/",
        };
        assert_eq!(
            app.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(app.scope(), "https://graph.microsoft.com/.default");
        assert_eq!(
            origin("https://graph.microsoft.com/v1.0"),
            "https://graph.microsoft.com"
        );
        assert_eq!(origin("http://127.0.0.1:9/v1.0"), "http://127.0.0.1:9");
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
