//! Personio v1: `POST /v1/auth` (`client_id`, `client_secret`) → `{success, data: {token}}`;
//! `GET /v1/company/employees?limit=(required, at most 100)&offset=` and
//! `GET /v1/company/employees/{id}` with `Authorization: Bearer` and an issued token. Every
//! attribute is `{label, value, type, universal_id}`; errors are `{success: false, error:
//! {code, message}}`; throttling is 429 with `Retry-After`.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::hr::{self, Common, CommonConfig, HrEmulator};
use hris_operator::sync::model::{EmailType, Employee, EmploymentStatus};

/// Largest `limit`.
pub const MAX_LIMIT: usize = 100;
/// The attribute holding the private email in this emulated company.
pub const PERSONAL_EMAIL_ATTRIBUTE: &str = "dynamic_private_email";
/// The custom attributes this emulated company has, by canonical custom field: attribute key.
pub const CUSTOM_FIELDS: [(&str, &str); 2] = [
    ("costCenter", "dynamic_cost_center"),
    ("address.city", "dynamic_city"),
];

/// How the emulated Personio behaves.
#[derive(Clone, Debug)]
pub struct PersonioConfig {
    /// Accepted client id.
    pub client_id: String,
    /// Accepted client secret.
    pub client_secret: String,
    /// Employees, as Personio records (see [`records`]).
    pub records: Vec<Value>,
    /// Requests a token is good for before it expires (401); `None`: no expiry.
    pub token_uses: Option<usize>,
    /// Rate limit, throttling and faults.
    pub common: CommonConfig,
}

impl Default for PersonioConfig {
    fn default() -> Self {
        Self {
            client_id: "personio-id".into(),
            client_secret: "personio-secret".into(),
            records: Vec::new(),
            token_uses: None,
            common: CommonConfig::default(),
        }
    }
}

struct Shared {
    config: PersonioConfig,
    common: Arc<Common>,
    /// Issued tokens and the requests made with each.
    tokens: Mutex<Vec<(String, usize)>>,
}

/// Starts an emulator; it stops when the handle drops. The base URL is the host root.
pub async fn start(config: PersonioConfig) -> std::io::Result<HrEmulator> {
    start_on(config, crate::server::bind_local().await?).await
}

/// Serves on a listener bound by the caller (`hris-emulators`); stops when the handle
/// drops.
pub async fn start_on(
    config: PersonioConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<HrEmulator> {
    let common = Arc::new(Common::new(config.common.clone()));
    let shared = Arc::new(Shared {
        config,
        common: common.clone(),
        tokens: Mutex::new(Vec::new()),
    });
    let router = Router::new().fallback(handle).with_state(shared);
    HrEmulator::start(router, common, "", listener)
}

fn attribute(label: &str, value: Value, kind: &str, universal: Option<&str>) -> Value {
    json!({"label": label, "value": value, "type": kind, "universal_id": universal})
}

/// The Personio record of each employee. Personio has no employee number or preferred
/// language field; future hires are `onboarding`.
pub fn records(employees: &[Employee]) -> Vec<Value> {
    employees
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let mut a = Map::new();
            let mut put = |key: &str, label: &str, value: Option<Value>, kind: &str| {
                let value = match value {
                    Some(v) => Some(v),
                    // Left out of even records, null in odd ones.
                    None => (index % 2 == 1).then_some(Value::Null),
                };
                if let Some(value) = value {
                    let universal = (!key.starts_with("dynamic_")).then_some(key);
                    a.insert(key.to_owned(), attribute(label, value, kind, universal));
                }
            };
            put("id", "ID", Some(json!(e.id)), "integer");
            put(
                "first_name",
                "First name",
                Some(json!(e.first_name)),
                "standard",
            );
            put(
                "last_name",
                "Last name",
                Some(json!(e.last_name)),
                "standard",
            );
            put(
                "preferred_name",
                "Preferred name",
                hr::text(&e.preferred_name),
                "standard",
            );
            put("email", "Email", hr::email(e, EmailType::Work), "standard");
            put(
                PERSONAL_EMAIL_ATTRIBUTE,
                "Private email",
                hr::email(e, EmailType::Personal),
                "standard",
            );
            let status = match e.employment_status {
                EmploymentStatus::Active => "active",
                EmploymentStatus::Pending => "onboarding",
                EmploymentStatus::Leave => "leave",
                EmploymentStatus::Inactive => "inactive",
            };
            put("status", "Status", Some(json!(status)), "status");
            put(
                "hire_date",
                "Hire date",
                hr::date(e.start_date, "T00:00:00+01:00"),
                "date",
            );
            put(
                "termination_date",
                "Termination date",
                hr::date(e.end_date, "T00:00:00+01:00"),
                "date",
            );
            let supervisor = e.manager_id.as_ref().map(
                |m| json!({"type": "Employee", "attributes": {"id": {"label": "ID", "value": m}}}),
            );
            put("supervisor", "Supervisor", supervisor, "standard");
            let department = e
                .department
                .as_ref()
                .map(|d| json!({"type": "Department", "attributes": {"id": 1, "name": d}}));
            put("department", "Department", department, "standard");
            put("position", "Position", hr::text(&e.title), "standard");
            let office = e
                .location
                .as_ref()
                .map(|l| json!({"type": "Office", "attributes": {"id": 7, "name": l}}));
            put("office", "Office", office, "standard");
            put("gender", "Gender", Some(json!("diverse")), "standard");
            for (canonical, key) in CUSTOM_FIELDS {
                put(key, canonical, hr::custom(e, canonical), "standard");
            }
            json!({"type": "Employee", "attributes": a})
        })
        .collect()
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(json!({"success": false, "error": {"code": status, "message": message}})),
    )
        .into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let at = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let response = answer(&shared, &parts, &body).await;
    shared.common.log(
        at,
        parts.method.as_str(),
        &parts.uri,
        response.status().as_u16(),
    );
    response
}

async fn answer(shared: &Shared, parts: &axum::http::request::Parts, body: &[u8]) -> Response {
    if let Some(throttled) = shared.common.throttle() {
        return throttled;
    }
    let path = parts.uri.path();
    if parts.method == Method::POST && path == "/v1/auth" {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if request["client_id"].as_str() != Some(shared.config.client_id.as_str())
            || request["client_secret"].as_str() != Some(shared.config.client_secret.as_str())
        {
            return error(401, "Wrong credentials");
        }
        let mut tokens = shared.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let token = format!("token-{}-{}", tokens.len() + 1, fastrand::u64(..));
        tokens.push((token.clone(), 0));
        return axum::Json(json!({"success": true, "data": {"token": token}})).into_response();
    }
    let issued = hr::credentials(&parts.headers, "Bearer").is_some_and(|t| {
        let mut tokens = shared.tokens.lock().unwrap_or_else(|p| p.into_inner());
        match tokens.iter_mut().find(|(issued, _)| *issued == t) {
            Some((_, uses)) if shared.config.token_uses.is_none_or(|max| *uses < max) => {
                *uses += 1;
                true
            }
            _ => false,
        }
    });
    if !issued {
        return error(401, "The access token is invalid or expired");
    }
    if parts.method != Method::GET {
        return error(405, "Method not allowed");
    }
    let records = &shared.config.records;
    if let Some(id) = path.strip_prefix("/v1/company/employees/") {
        return match records
            .iter()
            .find(|r| r.pointer("/attributes/id/value").and_then(Value::as_str) == Some(id))
        {
            Some(record) => axum::Json(json!({"success": true, "data": record})).into_response(),
            None => error(404, "Employee not found"),
        };
    }
    if path != "/v1/company/employees" {
        return error(404, "Not found");
    }
    let query = parts.uri.query().map(hr::url_pairs).unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.parse::<usize>())
    };
    let limit = match param("limit") {
        Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => limit,
        _ => return error(400, "limit is required and must be between 1 and 100"),
    };
    let offset = match param("offset") {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => return error(400, "offset must be a number"),
    };
    let page = offset / limit;
    if let Some(status) = shared.common.page_fault(page).await {
        return error(status, "Internal server error");
    }
    let end = (offset + limit).min(records.len());
    let data = &records[offset.min(end)..end];
    axum::Json(json!({
        "success": true,
        "metadata": {
            "total_elements": records.len(),
            "current_page": page,
            "total_pages": records.len().div_ceil(limit),
        },
        "offset": offset,
        "limit": limit,
        "data": data,
    }))
    .into_response()
}
