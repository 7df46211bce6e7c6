//! AFAS Profit (`/profitrestservices`): `GET /connectors/{GetConnector}?skip=&take=` (both
//! required here, `take` at most `max_take`, 400 above) with `orderbyfieldids` and the
//! `filterfieldids`/`filtervalues`/`operatortypes` equality filter → `{skip, take, rows}`.
//! `Authorization: AfasToken <base64 of the token XML>` (401 with an empty body otherwise);
//! errors are `{errorNumber, externalMessage, profitLogReference}`; 503 and 429 are retried.

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::hr::{self, Common, CommonConfig, HrEmulator};
use hris_operator::sync::model::{EmailType, Employee, EmploymentStatus};

/// The path clients put after the address.
pub const BASE_PATH: &str = "/profitrestservices";
/// The custom columns of this emulated GetConnector, by canonical custom field: column.
/// The phone and address columns of this emulated GetConnector, by canonical field.
pub const CONTACT_COLUMNS: [(&str, &str); 13] = [
    ("workPhone", "TelWerk"),
    ("mobilePhone", "MobielWerk"),
    ("homePhone", "TelPrive"),
    ("workAddress.street", "WerkStraat"),
    ("workAddress.locality", "WerkPlaats"),
    ("workAddress.region", "WerkProvincie"),
    ("workAddress.postalCode", "WerkPostcode"),
    ("workAddress.country", "WerkLand"),
    ("homeAddress.street", "Straat"),
    ("homeAddress.locality", "Woonplaats2"),
    ("homeAddress.region", "Provincie"),
    ("homeAddress.postalCode", "Postcode"),
    ("homeAddress.country", "Land"),
];
/// The custom columns of this emulated GetConnector, by canonical custom field: column.
pub const CUSTOM_FIELDS: [(&str, &str); 2] = [
    ("costCenter", "Kostenplaats"),
    ("address.city", "Woonplaats"),
];
/// The status column's values, by canonical status (Dutch, as a customer would have them).
pub const STATUS_VALUES: [(&str, EmploymentStatus); 4] = [
    ("In dienst", EmploymentStatus::Active),
    ("Nieuw", EmploymentStatus::Pending),
    ("Verlof", EmploymentStatus::Leave),
    ("Uit dienst", EmploymentStatus::Inactive),
];

/// How the emulated AFAS behaves.
#[derive(Clone, Debug)]
pub struct AfasConfig {
    /// The accepted token XML.
    pub token: String,
    /// The GetConnector id served.
    pub connector: String,
    /// Largest `take`.
    pub max_take: usize,
    /// Rows, in the GetConnector's columns (see [`records`]).
    pub records: Vec<Value>,
    /// Rate limit, throttling and faults.
    pub common: CommonConfig,
}

impl Default for AfasConfig {
    fn default() -> Self {
        Self {
            token: "<token><version>1</version><data>ABC123</data></token>".into(),
            connector: "HrisEmployees".into(),
            max_take: 1000,
            records: Vec::new(),
            common: CommonConfig::default(),
        }
    }
}

struct Shared {
    config: AfasConfig,
    common: Arc<Common>,
}

/// Starts an emulator; it stops when the handle drops.
pub async fn start(config: AfasConfig) -> std::io::Result<HrEmulator> {
    start_on(config, crate::server::bind_local().await?).await
}

/// Serves on a listener bound by the caller (`hris-emulators`); stops when the handle
/// drops.
pub async fn start_on(
    config: AfasConfig,
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

/// The GetConnector row of each employee, in the default field map's columns.
pub fn records(employees: &[Employee]) -> Vec<Value> {
    employees
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let mut r = Map::new();
            r.insert("Medewerker".into(), json!(e.id));
            hr::put(
                &mut r,
                "Personeelsnummer",
                hr::text(&e.employee_number),
                index,
            );
            r.insert("Voornaam".into(), json!(e.first_name));
            r.insert("Achternaam".into(), json!(e.last_name));
            hr::put(&mut r, "Roepnaam", hr::text(&e.preferred_name), index);
            hr::put(&mut r, "EmailWerk", hr::email(e, EmailType::Work), index);
            hr::put(
                &mut r,
                "EmailPrive",
                hr::email(e, EmailType::Personal),
                index,
            );
            let status = STATUS_VALUES
                .iter()
                .find(|(_, s)| *s == e.employment_status)
                .map(|(v, _)| *v)
                .expect("every status has a value");
            r.insert("Status".into(), json!(status));
            hr::put(
                &mut r,
                "DatumInDienst",
                hr::date(e.start_date, "T00:00:00Z"),
                index,
            );
            hr::put(
                &mut r,
                "DatumUitDienst",
                hr::date(e.end_date, "T00:00:00Z"),
                index,
            );
            hr::put(&mut r, "Leidinggevende", hr::text(&e.manager_id), index);
            hr::put(&mut r, "Afdeling", hr::text(&e.department), index);
            hr::put(&mut r, "Functie", hr::text(&e.title), index);
            hr::put(&mut r, "Standplaats", hr::text(&e.location), index);
            hr::put(&mut r, "Taal", hr::text(&e.preferred_language), index);
            r.insert("Werkgever".into(), json!("Acme BV"));
            for (canonical, value) in hr::contact_fields(e) {
                let column = CONTACT_COLUMNS
                    .iter()
                    .find(|(c, _)| *c == canonical)
                    .map(|(_, column)| *column)
                    .expect("every contact field has a column");
                hr::put(&mut r, column, value, index);
            }
            for (canonical, column) in CUSTOM_FIELDS {
                hr::put(&mut r, column, hr::custom(e, canonical), index);
            }
            Value::Object(r)
        })
        .collect()
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == 401 {
        return code.into_response();
    }
    (
        code,
        axum::Json(json!({
            "errorNumber": -1,
            "externalMessage": message,
            "profitLogReference": "ABC-0001",
        })),
    )
        .into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let at = std::time::Instant::now();
    let (parts, _body) = request.into_parts();
    let response = answer(&shared, &parts).await;
    shared.common.log(
        at,
        parts.method.as_str(),
        &parts.uri,
        response.status().as_u16(),
    );
    response
}

async fn answer(shared: &Shared, parts: &axum::http::request::Parts) -> Response {
    if let Some(throttled) = shared.common.throttle() {
        return throttled;
    }
    let token = hr::credentials(&parts.headers, "AfasToken").and_then(|encoded| {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    });
    if token.as_deref() != Some(shared.config.token.as_str()) {
        return error(401, "");
    }
    let wanted = format!("{BASE_PATH}/connectors/{}", shared.config.connector);
    if parts.method != Method::GET || parts.uri.path() != wanted {
        return error(404, "Unknown GetConnector");
    }
    let query = parts.uri.query().map(hr::url_pairs).unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let number = |name: &str| param(name).and_then(|v| v.parse::<usize>().ok());
    let (Some(skip), Some(take)) = (number("skip"), number("take")) else {
        return error(400, "skip and take are required");
    };
    if take == 0 || take > shared.config.max_take {
        return error(400, "take is too large");
    }
    let mut rows: Vec<&Value> = shared.config.records.iter().collect();
    if let (Some(field), Some(value), Some(operator)) = (
        param("filterfieldids"),
        param("filtervalues"),
        param("operatortypes"),
    ) {
        if operator != "1" {
            return error(400, "only operator 1 (equals) is emulated");
        }
        rows.retain(|r| r.get(&field).and_then(Value::as_str) == Some(value.as_str()));
    }
    if let Some(order) = param("orderbyfieldids") {
        rows.sort_by(|a, b| {
            a.get(&order)
                .map(Value::to_string)
                .cmp(&b.get(&order).map(Value::to_string))
        });
    }
    if let Some(status) = shared.common.page_fault(skip / take).await {
        return error(status, "Internal error");
    }
    let end = (skip + take).min(rows.len());
    let page: Vec<&Value> = rows[skip.min(end)..end].to_vec();
    axum::Json(json!({"skip": skip, "take": take, "rows": page})).into_response()
}
