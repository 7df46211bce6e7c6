//! HiBob (`/v1`): `POST /people/search` with `{fields, filters, showInactive}` returns
//! everyone at once (terminated people only with `showInactive: true`), each record nested by
//! category and holding only the fields asked for; `GET /company/people/fields` lists the
//! fields. HTTP Basic `serviceUserId:token`; throttling is 429 with `Retry-After`.

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

/// The path clients put after the address.
pub const BASE_PATH: &str = "/v1";
/// The custom fields this emulated company has, by canonical custom field: HiBob path.
pub const CUSTOM_FIELDS: [(&str, &str); 2] = [
    ("costCenter", "payroll.costCenter"),
    ("address.city", "home.city"),
];

/// How the emulated HiBob behaves.
#[derive(Clone, Debug)]
pub struct HiBobConfig {
    /// Accepted service user id.
    pub service_user_id: String,
    /// Accepted token.
    pub token: String,
    /// Employees, as HiBob records (see [`records`]).
    pub records: Vec<Value>,
    /// Rate limit, throttling and faults (the search is page 0).
    pub common: CommonConfig,
}

impl Default for HiBobConfig {
    fn default() -> Self {
        Self {
            service_user_id: "SERVICE-1".into(),
            token: "hibob-token".into(),
            records: Vec::new(),
            common: CommonConfig::default(),
        }
    }
}

struct Shared {
    config: HiBobConfig,
    common: Arc<Common>,
}

/// Starts an emulator; it stops when the handle drops.
pub async fn start(config: HiBobConfig) -> std::io::Result<HrEmulator> {
    start_on(config, crate::server::bind_local().await?).await
}

/// Serves on a listener bound by the caller (`hris-emulators`); stops when the handle
/// drops.
pub async fn start_on(
    config: HiBobConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<HrEmulator> {
    let common = Arc::new(Common::new(config.common.clone()));
    let shared = Arc::new(Shared {
        config,
        common: common.clone(),
    });
    let router = Router::new().fallback(handle).with_state(shared);
    HrEmulator::start(router, common, BASE_PATH, listener)
}

fn set_path(record: &mut Map<String, Value>, path: &str, value: Option<Value>, index: usize) {
    let Some(value) = value.or_else(|| hr::absent(index)) else {
        return;
    };
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("non-empty path");
    let mut map = record;
    for part in parts {
        map = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("categories are objects");
    }
    map.insert(last.to_owned(), value);
}

/// The HiBob record of each employee. HiBob has no preferred language field here.
pub fn records(employees: &[Employee]) -> Vec<Value> {
    employees
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let mut r = Map::new();
            set_path(&mut r, "root.id", Some(json!(e.id)), index);
            set_path(&mut r, "root.firstName", Some(json!(e.first_name)), index);
            set_path(&mut r, "root.surname", Some(json!(e.last_name)), index);
            set_path(
                &mut r,
                "root.displayName",
                Some(json!(format!("{} {}", e.first_name, e.last_name))),
                index,
            );
            set_path(&mut r, "root.email", hr::email(e, EmailType::Work), index);
            set_path(
                &mut r,
                "home.privateEmail",
                hr::email(e, EmailType::Personal),
                index,
            );
            set_path(
                &mut r,
                "personal.shortName",
                hr::text(&e.preferred_name),
                index,
            );
            set_path(
                &mut r,
                "work.employeeIdInCompany",
                hr::text(&e.employee_number),
                index,
            );
            set_path(&mut r, "work.title", hr::text(&e.title), index);
            set_path(&mut r, "work.department", hr::text(&e.department), index);
            set_path(&mut r, "work.site", hr::text(&e.location), index);
            set_path(&mut r, "work.startDate", hr::date(e.start_date, ""), index);
            let reports_to = e.manager_id.as_ref().map(
                |m| json!({"id": m, "email": format!("manager-of-{}@emulator.invalid", e.id)}),
            );
            set_path(&mut r, "work.reportsTo", reports_to, index);
            let lifecycle = match e.employment_status {
                EmploymentStatus::Active => "employed",
                EmploymentStatus::Pending => "hired",
                EmploymentStatus::Leave => "on leave",
                EmploymentStatus::Inactive => "terminated",
            };
            set_path(
                &mut r,
                "internal.lifecycleStatus",
                Some(json!(lifecycle)),
                index,
            );
            let status = if e.employment_status == EmploymentStatus::Inactive {
                "Inactive"
            } else {
                "Active"
            };
            set_path(&mut r, "internal.status", Some(json!(status)), index);
            set_path(
                &mut r,
                "internal.terminationDate",
                hr::date(e.end_date, ""),
                index,
            );
            for (canonical, path) in CUSTOM_FIELDS {
                set_path(&mut r, path, hr::custom(e, canonical), index);
            }
            Value::Object(r)
        })
        .collect()
}

fn known_paths(records: &[Value]) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) if prefix != "work.reportsTo" => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, out);
                }
            }
            _ => {
                if !out.iter().any(|p| p == prefix) {
                    out.push(prefix.to_owned());
                }
            }
        }
    }
    let mut out = Vec::new();
    for record in records {
        walk("", record, &mut out);
    }
    out.sort();
    out
}

fn select(record: &Value, paths: &[String]) -> Value {
    let mut out = Map::new();
    for path in paths {
        let dotted = path.trim_start_matches('/').replace('/', ".");
        let mut value = Some(record);
        for part in dotted.split('.') {
            value = value.and_then(|v| v.get(part));
        }
        if let Some(value) = value {
            set_path(&mut out, &dotted, Some(value.clone()), 0);
        }
    }
    Value::Object(out)
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(json!({"error": message}))).into_response()
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
    let expected = format!("{}:{}", shared.config.service_user_id, shared.config.token);
    if hr::credentials(&parts.headers, "Basic").as_deref() != Some(expected.as_str()) {
        return error(401, "Unauthorized");
    }
    let path = parts.uri.path();
    if parts.method == Method::GET && path == "/v1/company/people/fields" {
        let fields: Vec<Value> = known_paths(&shared.config.records)
            .into_iter()
            .map(|id| json!({"id": id, "name": id, "category": id.split('.').next()}))
            .collect();
        return axum::Json(Value::Array(fields)).into_response();
    }
    if parts.method != Method::POST || path != "/v1/people/search" {
        return error(404, "Not found");
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(400, "The body must be JSON");
    };
    let fields: Vec<String> = request["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let show_inactive = request["showInactive"] == json!(true);
    if let Some(status) = shared.common.page_fault(0).await {
        return error(status, "Internal error");
    }
    let employees: Vec<Value> = shared
        .config
        .records
        .iter()
        .filter(|r| show_inactive || r.pointer("/internal/status") != Some(&json!("Inactive")))
        .map(|r| {
            if fields.is_empty() {
                r.clone()
            } else {
                select(r, &fields)
            }
        })
        .collect();
    axum::Json(json!({"employees": employees})).into_response()
}
