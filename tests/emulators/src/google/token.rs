//! The OAuth token endpoint: the JWT bearer grant of a service account with domain-wide
//! delegation. An assertion must be signed RS256 by the service account's key, issued by its
//! `client_email` for the administrator (`sub`), addressed to Google's token endpoint (`aud`),
//! short-lived, and ask only for scopes the delegation grants: Google refuses the whole request
//! (401 `unauthorized_client`) when one of them is not granted.

use std::time::Instant;

use axum::{extract::Query, http::Uri, response::Response};
use base64::Engine;
use serde_json::{Value, json};

use super::{Issued, Shared, json_response};

/// The audience every assertion must name, wherever it is sent: Google's token endpoint.
const AUDIENCE: &str = "https://oauth2.googleapis.com/token";

pub(super) fn token(shared: &Shared, body: &[u8]) -> Response {
    let uri: Uri = format!("/?{}", String::from_utf8_lossy(body))
        .parse()
        .unwrap_or_default();
    let form: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let oauth_error = |status: u16, error: &str, description: &str| {
        json_response(
            status,
            json!({"error": error, "error_description": description}),
        )
    };
    if field("grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return oauth_error(400, "unsupported_grant_type", "Invalid grant_type.");
    }
    let Some(assertion) = field("assertion") else {
        return oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()
    };
    let (Some(header), Some(claims), Some(signature)) = (
        parts.first().and_then(|p| decode(p)),
        parts.get(1).and_then(|p| decode(p)),
        parts.get(2).and_then(|p| decode(p)),
    ) else {
        return oauth_error(400, "invalid_grant", "Invalid JWT: malformed.");
    };
    if parts.len() != 3 {
        return oauth_error(400, "invalid_grant", "Invalid JWT: malformed.");
    }
    let header: Value = serde_json::from_slice(&header).unwrap_or(Value::Null);
    if header["alg"] != "RS256" {
        return oauth_error(400, "invalid_grant", "Invalid JWT: alg must be RS256.");
    }
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &shared.public_key,
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    if key.verify(signed.as_bytes(), &signature).is_err() {
        return oauth_error(400, "invalid_grant", "Invalid JWT Signature.");
    }
    let claims: Value = serde_json::from_slice(&claims).unwrap_or(Value::Null);
    let now = jiff::Timestamp::now().as_second();
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return oauth_error(
            400,
            "invalid_grant",
            "Invalid JWT: iat and exp are required.",
        );
    };
    if exp <= now || iat > now + 60 || exp - iat > 3600 {
        return oauth_error(
            400,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    if claims["aud"] != AUDIENCE {
        return oauth_error(400, "invalid_grant", "Invalid JWT: audience.");
    }
    if claims["iss"] != shared.config.client_email.as_str() {
        return oauth_error(400, "invalid_grant", "Invalid JWT: issuer.");
    }
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect();
    let delegated = !scopes.is_empty()
        && scopes
            .iter()
            .all(|scope| shared.config.delegated_scopes.contains(scope));
    if claims["sub"] != shared.config.admin_email.as_str() || !delegated {
        return oauth_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    }
    let token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(64)
        .collect();
    let lifetime = shared.config.token_lifetime;
    shared.lock().tokens.push(Issued {
        token: format!("ya29.{token}"),
        until: Instant::now() + lifetime,
        scopes,
    });
    json_response(
        200,
        json!({"access_token": format!("ya29.{token}"), "expires_in": lifetime.as_secs(),
               "token_type": "Bearer"}),
    )
}
