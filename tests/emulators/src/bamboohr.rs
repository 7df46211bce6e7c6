//! BambooHR: `POST /api/v2/datasets/employee/data` (`page` from 1, `pageSize` at most 1,000,
//! 400 above; only the `fields` asked for come back), `GET /api/v1/meta/fields`,
//! `GET /api/v1/employees/{id}?fields=`. HTTP Basic with the API key as user name (any
//! password); refusals carry `X-BambooHR-Error-Message` and RFC 7807 problem JSON. Throttling
//! answers 503 (the older behaviour) or 429 with `Retry-After`, as configured.

use std::sync::Arc;

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

/// Largest `pageSize`.
pub const MAX_PAGE_SIZE: usize = 1000;
/// BambooHR's phone and home address fields, by canonical field (`address2`, the second
/// street line, is left empty).
pub const CONTACT_FIELDS: [(&str, &str); 8] = [
    ("workPhone", "workPhone"),
    ("mobilePhone", "mobilePhone"),
    ("homePhone", "homePhone"),
    ("homeAddress.street", "address1"),
    ("homeAddress.locality", "city"),
    ("homeAddress.region", "state"),
    ("homeAddress.postalCode", "zipcode"),
    ("homeAddress.country", "country"),
];
/// The custom fields this emulated company has, by canonical custom field: BambooHR name.
pub const CUSTOM_FIELDS: [(&str, &str); 2] = [
    ("costCenter", "customCostCenter"),
    ("address.city", "customCity"),
];

/// How the emulated BambooHR behaves.
#[derive(Clone, Debug)]
pub struct BambooConfig {
    /// The API key (the Basic user name).
    pub api_key: String,
    /// Employees, as dataset records (see [`records`]).
    pub records: Vec<Value>,
    /// Rate limit, throttling and faults.
    pub common: CommonConfig,
}

impl Default for BambooConfig {
    fn default() -> Self {
        Self {
            api_key: "bamboo-key".into(),
            records: Vec::new(),
            common: CommonConfig::default(),
        }
    }
}

struct Shared {
    config: BambooConfig,
    common: Arc<Common>,
}

/// Starts an emulator; it stops when the handle drops. The base URL is the host root.
pub async fn start(config: BambooConfig) -> std::io::Result<HrEmulator> {
    start_on(config, crate::server::bind_local().await?).await
}

/// Serves on a listener bound by the caller (`hris-emulators`); stops when the handle
/// drops.
pub async fn start_on(
    config: BambooConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<HrEmulator> {
    let common = Arc::new(Common::new(config.common.clone()));
    let shared = Arc::new(Shared {
        config,
        common: common.clone(),
    });
    let router = Router::new().fallback(handle).with_state(shared);
    HrEmulator::start(router, common, "", listener)
}

/// The dataset record of each employee. BambooHR knows Active and Inactive only (future
/// hires and people on leave are Active); empty dates are `0000-00-00`, as BambooHR sends them.
pub fn records(employees: &[Employee]) -> Vec<Value> {
    employees
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let mut r = Map::new();
            r.insert("id".into(), json!(e.id));
            hr::put(
                &mut r,
                "employeeNumber",
                hr::text(&e.employee_number),
                index,
            );
            r.insert("firstName".into(), json!(e.first_name));
            r.insert("lastName".into(), json!(e.last_name));
            hr::put(&mut r, "preferredName", hr::text(&e.preferred_name), index);
            hr::put(&mut r, "workEmail", hr::email(e, EmailType::Work), index);
            hr::put(
                &mut r,
                "homeEmail",
                hr::email(e, EmailType::Personal),
                index,
            );
            let status = if e.employment_status == EmploymentStatus::Inactive {
                "Inactive"
            } else {
                "Active"
            };
            r.insert("status".into(), json!(status));
            let no_date = || Some(json!("0000-00-00"));
            r.insert(
                "hireDate".into(),
                hr::date(e.start_date, "").or_else(no_date).unwrap(),
            );
            r.insert(
                "terminationDate".into(),
                hr::date(e.end_date, "").or_else(no_date).unwrap(),
            );
            hr::put(&mut r, "supervisorEId", hr::text(&e.manager_id), index);
            hr::put(&mut r, "department", hr::text(&e.department), index);
            hr::put(&mut r, "jobTitle", hr::text(&e.title), index);
            hr::put(&mut r, "location", hr::text(&e.location), index);
            r.insert("division".into(), json!("North"));
            // BambooHR holds the three numbers and the home address.
            for (canonical, value) in hr::contact_fields(e) {
                if let Some((_, field)) = CONTACT_FIELDS.iter().find(|(c, _)| *c == canonical) {
                    hr::put(&mut r, field, value, index);
                }
            }
            for (canonical, field) in CUSTOM_FIELDS {
                hr::put(&mut r, field, hr::custom(e, canonical), index);
            }
            Value::Object(r)
        })
        .collect()
}

fn problem(status: u16, title: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        code,
        [("content-type", "application/problem+json")],
        axum::Json(json!({"type": "about:blank", "title": title, "status": status})),
    )
        .into_response();
    response.headers_mut().insert(
        "X-BambooHR-Error-Message",
        title.parse().expect("ASCII title"),
    );
    response
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
    let user = hr::credentials(&parts.headers, "Basic")
        .and_then(|c| c.split_once(':').map(|(u, _)| u.to_owned()));
    if user.as_deref() != Some(shared.config.api_key.as_str()) {
        return problem(401, "Invalid API key");
    }
    let query = parts.uri.query().map(hr::url_pairs).unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let path = parts.uri.path();
    let records = &shared.config.records;
    if parts.method == Method::GET && path == "/api/v1/meta/fields" {
        let mut names: Vec<&str> = vec![
            "id",
            "employeeNumber",
            "firstName",
            "lastName",
            "preferredName",
            "workEmail",
            "homeEmail",
            "status",
            "hireDate",
            "terminationDate",
            "supervisorEId",
            "department",
            "jobTitle",
            "location",
            "division",
        ];
        names.extend(CONTACT_FIELDS.iter().map(|(_, f)| *f));
        names.push("address2");
        names.extend(CUSTOM_FIELDS.iter().map(|(_, f)| *f));
        let fields: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": 4000 + i, "name": n, "type": "text", "alias": n}))
            .collect();
        return axum::Json(Value::Array(fields)).into_response();
    }
    if parts.method == Method::GET
        && let Some(id) = path.strip_prefix("/api/v1/employees/")
    {
        let Some(record) = records.iter().find(|r| r["id"].as_str() == Some(id)) else {
            return problem(404, "Employee not found");
        };
        let wanted = param("fields").unwrap_or_default();
        let mut out = Map::new();
        out.insert("id".into(), record["id"].clone());
        for field in wanted.split(',') {
            out.insert(
                field.to_owned(),
                record.get(field).cloned().unwrap_or(Value::Null),
            );
        }
        return axum::Json(Value::Object(out)).into_response();
    }
    if parts.method != Method::POST || path != "/api/v2/datasets/employee/data" {
        return problem(404, "Not found");
    }
    let page: usize = match param("page").map(|p| p.parse()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => return problem(400, "page must be 1 or more"),
    };
    let page_size: usize = match param("pageSize").map(|p| p.parse()) {
        None => 500,
        Some(Ok(s)) if (1..=MAX_PAGE_SIZE).contains(&s) => s,
        Some(_) => return problem(400, "pageSize must be between 1 and 1000"),
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return problem(400, "The body must be JSON with fields");
    };
    let Some(fields) = request.get("fields").and_then(Value::as_array) else {
        return problem(400, "fields is required");
    };
    let fields: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
    if let Some(status) = shared.common.page_fault(page - 1).await {
        return problem(status, "Server error");
    }
    let served_page = if shared.config.common.faults.repeat_cursor_at == Some(page - 1) && page > 1
    {
        page - 1
    } else {
        page
    };
    let start = (served_page - 1) * page_size;
    let end = (start + page_size).min(records.len());
    let data: Vec<Value> = records[start.min(end)..end]
        .iter()
        .map(|record| {
            let selected: Map<String, Value> = fields
                .iter()
                .filter_map(|f| record.get(*f).map(|v| ((*f).to_owned(), v.clone())))
                .collect();
            Value::Object(selected)
        })
        .collect();
    let total_pages = records.len().div_ceil(page_size);
    let link = |p: usize| format!("/api/v2/datasets/employee/data?page={p}&pageSize={page_size}");
    axum::Json(json!({
        "data": data,
        "links": {
            "next": (served_page < total_pages).then(|| link(served_page + 1)),
            "prev": (served_page > 1).then(|| link(served_page - 1)),
        },
        "meta": {"page": served_page, "pageSize": page_size, "totalPages": total_pages, "totalItems": records.len()},
    }))
    .into_response()
}
