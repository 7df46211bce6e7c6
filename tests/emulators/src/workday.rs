//! Workday RaaS: `GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json` →
//! `{"Report_Entry": [...]}` in one call (no paging), columns named by the report and left
//! out when empty. HTTP Basic (the integration user); errors are `{"error"}`; throttling is
//! 429 with `Retry-After`.

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

/// The tenant served.
pub const TENANT: &str = "acme";
/// The custom columns of this emulated report, by canonical custom field: column.
pub const CUSTOM_FIELDS: [(&str, &str); 2] =
    [("costCenter", "Cost_Center"), ("address.city", "Home_City")];
/// The phone and address columns of this emulated report, by canonical field.
pub const CONTACT_COLUMNS: [(&str, &str); 13] = [
    ("workPhone", "Phone_Work"),
    ("mobilePhone", "Phone_Mobile"),
    ("homePhone", "Phone_Home"),
    ("workAddress.street", "Work_Address_Line_1"),
    ("workAddress.locality", "Work_Address_City"),
    ("workAddress.region", "Work_Address_Region"),
    ("workAddress.postalCode", "Work_Address_Postal_Code"),
    ("workAddress.country", "Work_Address_Country"),
    ("homeAddress.street", "Home_Address_Line_1"),
    ("homeAddress.locality", "Home_Address_City"),
    ("homeAddress.region", "Home_Address_Region"),
    ("homeAddress.postalCode", "Home_Address_Postal_Code"),
    ("homeAddress.country", "Home_Address_Country"),
];
/// The employee number column (the default field map reads none).
pub const EMPLOYEE_NUMBER: &str = "Employee_Number";
/// The status column's values, by canonical status.
pub const STATUS_VALUES: [(&str, EmploymentStatus); 4] = [
    ("Active", EmploymentStatus::Active),
    ("Pre-Hire", EmploymentStatus::Pending),
    ("On Leave", EmploymentStatus::Leave),
    ("Terminated", EmploymentStatus::Inactive),
];

/// How the emulated Workday behaves.
#[derive(Clone, Debug)]
pub struct WorkdayConfig {
    /// Integration user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Report owner (path segment).
    pub owner: String,
    /// Report name.
    pub report: String,
    /// Report entries (see [`records`]).
    pub records: Vec<Value>,
    /// Rate limit, throttling and faults (the report is page 0).
    pub common: CommonConfig,
}

impl Default for WorkdayConfig {
    fn default() -> Self {
        Self {
            username: "ISU_HRIS".into(),
            password: "workday-password".into(),
            owner: "isu_owner".into(),
            report: "HRIS_Workers".into(),
            records: Vec::new(),
            common: CommonConfig::default(),
        }
    }
}

struct Shared {
    config: WorkdayConfig,
    common: Arc<Common>,
}

/// Starts an emulator; it stops when the handle drops. The base URL is the one before
/// `/{owner}/{report}`.
pub async fn start(config: WorkdayConfig) -> std::io::Result<HrEmulator> {
    start_on(config, crate::server::bind_local().await?).await
}

/// Serves on a listener bound by the caller (`hris-emulators`); stops when the handle
/// drops.
pub async fn start_on(
    config: WorkdayConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<HrEmulator> {
    let common = Arc::new(Common::new(config.common.clone()));
    let shared = Arc::new(Shared {
        config,
        common: common.clone(),
    });
    let router = Router::new().fallback(handle).with_state(shared);
    HrEmulator::start(
        router,
        common,
        &format!("/ccx/service/customreport2/{TENANT}"),
        listener,
    )
}

/// The report entry of each employee (empty columns left out, as RaaS does).
pub fn records(employees: &[Employee]) -> Vec<Value> {
    employees
        .iter()
        .map(|e| {
            let mut r = Map::new();
            let mut put = |key: &str, value: Option<Value>| {
                if let Some(value) = value {
                    r.insert(key.to_owned(), value);
                }
            };
            put("Employee_ID", Some(json!(e.id)));
            put(EMPLOYEE_NUMBER, hr::text(&e.employee_number));
            put("Legal_Name_First_Name", Some(json!(e.first_name)));
            put("Legal_Name_Last_Name", Some(json!(e.last_name)));
            put("Preferred_Name_First_Name", hr::text(&e.preferred_name));
            put("Email_Address_Work", hr::email(e, EmailType::Work));
            put("Email_Address_Home", hr::email(e, EmailType::Personal));
            let status = STATUS_VALUES
                .iter()
                .find(|(_, s)| *s == e.employment_status)
                .map(|(v, _)| *v);
            put("Worker_Status", status.map(|s| json!(s)));
            put("Hire_Date", hr::date(e.start_date, "-08:00"));
            put("Termination_Date", hr::date(e.end_date, "-08:00"));
            put("Manager_Employee_ID", hr::text(&e.manager_id));
            put("Supervisory_Organization", hr::text(&e.department));
            put("Business_Title", hr::text(&e.title));
            put("Location", hr::text(&e.location));
            put("Preferred_Language", hr::text(&e.preferred_language));
            put("Worker_Type", Some(json!("Employee")));
            for (canonical, value) in hr::contact_fields(e) {
                let column = CONTACT_COLUMNS
                    .iter()
                    .find(|(c, _)| *c == canonical)
                    .map(|(_, column)| *column)
                    .expect("every contact field has a column");
                put(column, value);
            }
            for (canonical, column) in CUSTOM_FIELDS {
                put(column, hr::custom(e, canonical));
            }
            Value::Object(r)
        })
        .collect()
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(json!({"error": message}))).into_response()
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
    let expected = format!("{}:{}", shared.config.username, shared.config.password);
    if hr::credentials(&parts.headers, "Basic").as_deref() != Some(expected.as_str()) {
        return error(401, "invalid username or password");
    }
    let wanted = format!(
        "/ccx/service/customreport2/{TENANT}/{}/{}",
        shared.config.owner, shared.config.report
    );
    if parts.method != Method::GET || parts.uri.path() != wanted {
        return error(404, "report not found");
    }
    let query = parts.uri.query().map(hr::url_pairs).unwrap_or_default();
    if !query.iter().any(|(k, v)| k == "format" && v == "json") {
        return error(400, "this emulator serves format=json only");
    }
    if let Some(status) = shared.common.page_fault(0).await {
        return error(status, "internal error");
    }
    axum::Json(json!({"Report_Entry": shared.config.records})).into_response()
}
