//! SCIM `Error` answers and the `application/scim+json` body every answer carries.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::SCIM_CONTENT_TYPE;

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Clone, Debug)]
pub(super) struct ScimError {
    pub(super) status: u16,
    pub(super) scim_type: Option<&'static str>,
    pub(super) detail: String,
    retry_after: Option<u64>,
}

impl ScimError {
    pub(super) fn new(
        status: u16,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> ScimError {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub(super) fn retry_after(mut self, seconds: Option<u64>) -> ScimError {
        self.retry_after = seconds;
        self
    }

    pub(super) fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = scim_json(status, &self.body());
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

pub(super) fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        )],
        body.to_string(),
    )
        .into_response()
}

pub(super) fn not_found(what: &str) -> ScimError {
    ScimError::new(404, None, format!("{what} not found"))
}

pub(super) fn method_not_allowed(method: &Method, path: &str) -> ScimError {
    ScimError::new(405, None, format!("{method} is not supported on {path}"))
}

pub(super) fn invalid_syntax(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some("invalidSyntax"), detail)
}
