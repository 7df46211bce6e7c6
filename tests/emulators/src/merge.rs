//! Merge HRIS (`/api/hris/v1`): `GET /employees` with cursor paging (`page_size` at most 100,
//! 400 above), every other parameter bound to the cursor (a changed parameter on a later page
//! answers 400), `expand`, `GET /employees/{id}`; `Authorization: Bearer` plus
//! `X-Account-Token` (401 `{"detail"}` otherwise); throttling 429 with `Retry-After`; records
//! deleted in the HR system listed only with `include_deleted_data=true`.

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::hr::{self, Common, CommonConfig, HrEmulator};
use hris_operator::sync::model::{EmailType, Employee, EmploymentStatus};

/// The path clients put after the address.
pub const BASE_PATH: &str = "/api/hris/v1";
/// Largest `page_size`.
pub const MAX_PAGE_SIZE: usize = 100;

/// How the emulated Merge behaves.
#[derive(Clone, Debug)]
pub struct MergeConfig {
    /// The API key (`Authorization: Bearer`).
    pub api_key: String,
    /// The linked account token (`X-Account-Token`).
    pub account_token: String,
    /// Employees, as Merge records (see [`records`]).
    pub records: Vec<Value>,
    /// Rate limit, throttling and faults.
    pub common: CommonConfig,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            api_key: "merge-key".into(),
            account_token: "account-token".into(),
            records: Vec::new(),
            common: CommonConfig::default(),
        }
    }
}

struct Shared {
    config: MergeConfig,
    common: Arc<Common>,
}

/// Starts an emulator; it stops when the handle drops.
pub async fn start(config: MergeConfig) -> std::io::Result<HrEmulator> {
    start_on(config, crate::server::bind_local().await?).await
}

/// Serves on a listener bound by the caller (`hris-emulators`); stops when the handle
/// drops.
pub async fn start_on(
    config: MergeConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<HrEmulator> {
    let common = Arc::new(Common::new(config.common.clone()));
    let shared = Arc::new(Shared {
        config,
        common: common.clone(),
    });
    HrEmulator::start(router(shared), common, BASE_PATH, listener)
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn error(status: u16, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(json!({"detail": detail}))).into_response()
}

/// The Merge record of each employee, with a deleted one at the end (listed only with
/// `include_deleted_data=true`; a client that asks for it must skip it).
/// Merge has no Leave status (on leave is `ACTIVE`) and no preferred language.
pub fn records(employees: &[Employee]) -> Vec<Value> {
    let mut records: Vec<Value> = employees
        .iter()
        .enumerate()
        .map(|(index, e)| record(e, index))
        .collect();
    records.push(json!({
        "id": "deleted-in-hr", "first_name": "Gone", "last_name": "Away",
        "employment_status": "INACTIVE", "remote_was_deleted": true
    }));
    records
}

fn record(e: &Employee, index: usize) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), json!(e.id));
    r.insert("remote_id".into(), json!(format!("remote-{}", e.id)));
    hr::put(
        &mut r,
        "employee_number",
        hr::text(&e.employee_number),
        index,
    );
    r.insert("first_name".into(), json!(e.first_name));
    r.insert("last_name".into(), json!(e.last_name));
    hr::put(&mut r, "preferred_name", hr::text(&e.preferred_name), index);
    r.insert(
        "display_full_name".into(),
        json!(format!("{} {}", e.first_name, e.last_name)),
    );
    hr::put(&mut r, "work_email", hr::email(e, EmailType::Work), index);
    hr::put(
        &mut r,
        "personal_email",
        hr::email(e, EmailType::Personal),
        index,
    );
    let status = match e.employment_status {
        EmploymentStatus::Active | EmploymentStatus::Leave => "ACTIVE",
        EmploymentStatus::Pending => "PENDING",
        EmploymentStatus::Inactive => "INACTIVE",
    };
    r.insert("employment_status".into(), json!(status));
    hr::put(
        &mut r,
        "hire_date",
        hr::date(e.start_date, "T00:00:00Z"),
        index,
    );
    // Every third record has only the hire date: clients fall back to it.
    let start = if index.is_multiple_of(3) {
        None
    } else {
        e.start_date
    };
    hr::put(&mut r, "start_date", hr::date(start, "T00:00:00Z"), index);
    hr::put(
        &mut r,
        "termination_date",
        hr::date(e.end_date, "T00:00:00Z"),
        index,
    );
    hr::put(&mut r, "manager", hr::text(&e.manager_id), index);
    let team = e
        .department
        .as_ref()
        .map(|d| json!({"id": format!("team-{d}"), "name": d}));
    hr::put(&mut r, "team", team, index);
    let employments = match &e.title {
        Some(title) => {
            json!([{"id": format!("employment-{}", e.id), "job_title": title, "pay_rate": 1}])
        }
        None => json!([]),
    };
    r.insert("employments".into(), employments);
    let contact: Vec<(String, Option<Value>)> = hr::contact_fields(e);
    let part = |canonical: &str| {
        contact
            .iter()
            .find(|(c, _)| c == canonical)
            .and_then(|(_, value)| value.clone())
            .unwrap_or(Value::Null)
    };
    // A location: its name (work only), the address and, for the home, the home number.
    let location = |kind: &str, name: Option<&str>| {
        let address = |p: &str| part(&format!("{kind}Address.{p}"));
        let fields = [
            ("street_1", address("street")),
            ("city", address("locality")),
            ("state", address("region")),
            ("zip_code", address("postalCode")),
            ("country", address("country")),
            (
                "phone_number",
                if kind == "home" {
                    part("homePhone")
                } else {
                    Value::Null
                },
            ),
        ];
        if name.is_none() && fields.iter().all(|(_, v)| v.is_null()) {
            return None;
        }
        let mut object = json!({
            "id": format!("location-{kind}-{}", e.id),
            "name": name,
            "street_2": null,
            "location_type": if kind == "home" { "HOME" } else { "WORK" },
        });
        for (key, value) in fields {
            object[key] = value;
        }
        Some(object)
    };
    hr::put(
        &mut r,
        "work_location",
        location("work", e.location.as_deref()),
        index,
    );
    hr::put(&mut r, "home_location", location("home", None), index);
    hr::put(
        &mut r,
        "mobile_phone_number",
        part("mobilePhone").as_str().map(|s| json!(s)),
        index,
    );
    let mut custom: Map<String, Value> = e
        .custom_fields
        .iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
    if index % 2 == 1 {
        custom.insert("unset".into(), Value::Null);
    }
    r.insert("custom_fields".into(), Value::Object(custom));
    r.insert("groups".into(), json!([]));
    r.insert("remote_was_deleted".into(), json!(false));
    r.insert("modified_at".into(), json!("2026-11-01T00:00:00Z"));
    Value::Object(r)
}

/// Replaces expanded objects with ids unless `expand` names them.
fn shape(record: &Value, expand: &[&str]) -> Value {
    let mut record = record.clone();
    let Some(object) = record.as_object_mut() else {
        return record;
    };
    for key in ["team", "work_location", "home_location", "manager"] {
        if !expand.contains(&key)
            && let Some(Value::Object(inner)) = object.get(key).cloned()
        {
            object.insert(key.into(), inner.get("id").cloned().unwrap_or(Value::Null));
        }
    }
    if !expand.contains(&"employments")
        && let Some(Value::Array(all)) = object.get("employments").cloned()
    {
        let ids: Vec<Value> = all.iter().filter_map(|e| e.get("id").cloned()).collect();
        object.insert("employments".into(), Value::Array(ids));
    }
    record
}

fn encode_cursor(offset: usize, binding: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}|{binding}"))
}

fn decode_cursor(cursor: &str) -> Option<(usize, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (offset, binding) = text.split_once('|')?;
    Some((offset.parse().ok()?, binding.to_owned()))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let at = std::time::Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query: Vec<(String, String)> = request.uri().query().map(hr::url_pairs).unwrap_or_default();
    let (parts, _body) = request.into_parts();
    let response = answer(&shared, &parts, &path, &query).await;
    shared
        .common
        .log(at, &method, &parts.uri, response.status().as_u16());
    response
}

async fn answer(
    shared: &Shared,
    request: &axum::http::request::Parts,
    path: &str,
    query: &[(String, String)],
) -> Response {
    if let Some(throttled) = shared.common.throttle() {
        return throttled;
    }
    let headers = &request.headers;
    let key_ok = hr::credentials(headers, "Bearer").as_deref() == Some(&shared.config.api_key);
    let account_ok = headers.get("X-Account-Token").and_then(|v| v.to_str().ok())
        == Some(shared.config.account_token.as_str());
    if !key_ok || !account_ok {
        return error(401, "Invalid token.");
    }
    let Some(rest) = path.strip_prefix(BASE_PATH) else {
        return error(404, "Not found.");
    };
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let expand: Vec<&str> = param("expand")
        .map(|e| e.split(',').collect())
        .unwrap_or_default();
    if request.method != axum::http::Method::GET {
        return error(405, "Method not allowed.");
    }
    if let Some(id) = rest.strip_prefix("/employees/") {
        return match shared
            .config
            .records
            .iter()
            .find(|r| r["id"].as_str() == Some(id))
        {
            Some(record) => axum::Json(shape(record, &expand)).into_response(),
            None => error(404, "Not found."),
        };
    }
    if rest != "/employees" {
        return error(404, "Not found.");
    }
    let page_size = match param("page_size").map(str::parse::<usize>) {
        None => MAX_PAGE_SIZE,
        Some(Ok(size)) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
        Some(_) => return error(400, "page_size must be between 1 and 100."),
    };
    let mut bound: Vec<String> = query
        .iter()
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    bound.sort();
    let binding = bound.join("&");
    let offset = match param("cursor") {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some((offset, was)) if was == binding => offset,
            Some(_) => {
                return error(
                    400,
                    "The cursor was issued for other parameters; keep every parameter but the cursor the same.",
                );
            }
            None => return error(400, "Invalid cursor."),
        },
    };
    let page = offset / page_size;
    if let Some(status) = shared.common.page_fault(page).await {
        return error(status, "Server error.");
    }
    // Records deleted in the HR system are listed only when asked for.
    let with_deleted = param("include_deleted_data") == Some("true");
    let records: Vec<&Value> = shared
        .config
        .records
        .iter()
        .filter(|r| with_deleted || r["remote_was_deleted"] != true)
        .collect();
    let end = (offset + page_size).min(records.len());
    let results: Vec<Value> = records[offset.min(end)..end]
        .iter()
        .map(|r| shape(r, &expand))
        .collect();
    let next = if shared.config.common.faults.repeat_cursor_at == Some(page) && page > 0 {
        Some(encode_cursor(offset, &binding))
    } else {
        (end < records.len()).then(|| encode_cursor(end, &binding))
    };
    let previous = (offset > 0).then(|| encode_cursor(offset.saturating_sub(page_size), &binding));
    axum::Json(json!({"next": next, "previous": previous, "results": results})).into_response()
}
