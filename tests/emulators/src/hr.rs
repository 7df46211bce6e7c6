//! What the HR API emulators share: a handle on the shared [`Server`] and [`RequestLog`], a
//! token-bucket rate limit answered with the API's throttling status and `Retry-After`, faults a
//! test can switch on (a failing or stalling page, a storm of throttled answers), and helpers
//! that turn seed employees into records. Each API's module adds its routes, auth, error shapes
//! and record format.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::{
    bucket::TokenBucket,
    log::{LoggedRequest, RequestLog},
    server::Server,
};
use hris_operator::sync::model::Employee;

/// Faults a test can switch on. Pages count from 0, in the order the API pages.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every request for this page answers this status (5xx: retried, then the fetch fails).
    pub fail_page: Option<(usize, u16)>,
    /// Every request for this page waits this long before answering (longer than the
    /// client's timeout: a timeout).
    pub stall_page: Option<(usize, Duration)>,
    /// This page hands out a cursor (or page number) that was handed out before.
    pub repeat_cursor_at: Option<usize>,
    /// The next this-many requests are throttled (the API's throttling status, `Retry-After`).
    pub throttle_storm: usize,
}

/// Settings every HR emulator has.
#[derive(Clone, Debug)]
pub struct CommonConfig {
    /// Requests a second before throttling (token bucket refill rate); `None`: unlimited.
    pub requests_per_second: Option<f64>,
    /// Token-bucket capacity.
    pub burst: u32,
    /// Status of a throttled answer (429, or 503 for BambooHR's older behaviour).
    pub throttle_status: u16,
    /// `Retry-After` seconds of a throttled answer (None: no header).
    pub retry_after: Option<u64>,
    /// Faults.
    pub faults: Faults,
}

impl Default for CommonConfig {
    fn default() -> Self {
        Self {
            requests_per_second: None,
            burst: 1,
            throttle_status: 429,
            retry_after: Some(1),
            faults: Faults::default(),
        }
    }
}

/// The state every emulator keeps besides its records.
pub struct Common {
    /// Settings.
    pub config: CommonConfig,
    log: RequestLog,
    state: Mutex<CommonState>,
}

struct CommonState {
    bucket: Option<TokenBucket>,
    storm_left: usize,
}

impl Common {
    /// State for a config.
    pub fn new(config: CommonConfig) -> Self {
        let storm_left = config.faults.throttle_storm;
        let bucket = config
            .requests_per_second
            .map(|rate| TokenBucket::new(rate, config.burst));
        Self {
            config,
            log: RequestLog::default(),
            state: Mutex::new(CommonState { bucket, storm_left }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CommonState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a request that arrived `at`, once answered.
    pub fn log(&self, at: Instant, method: &str, uri: &Uri, status: u16) {
        self.log.record(at, method, uri, status);
    }

    /// The throttled answer when the storm or the rate limit says so, before anything else.
    pub fn throttle(&self) -> Option<Response> {
        let mut state = self.lock();
        let throttled = if state.storm_left > 0 {
            state.storm_left -= 1;
            true
        } else {
            let now = Instant::now();
            state
                .bucket
                .as_mut()
                .is_some_and(|bucket| bucket.take(now).is_err())
        };
        drop(state);
        throttled.then(|| {
            let status = StatusCode::from_u16(self.config.throttle_status)
                .unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            let mut response = (status, "throttled").into_response();
            if let Some(seconds) = self.config.retry_after {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&seconds.to_string()).expect("digits"),
                );
            }
            response
        })
    }

    /// Applies the page faults: the failing page's status, or a stall before answering.
    pub async fn page_fault(&self, page: usize) -> Option<u16> {
        if let Some((stalled, delay)) = self.config.faults.stall_page
            && stalled == page
        {
            tokio::time::sleep(delay).await;
        }
        match self.config.faults.fail_page {
            Some((failing, status)) if failing == page => Some(status),
            _ => None,
        }
    }
}

/// Query pairs, percent-decoded.
pub fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::Url::parse(&format!("http://x/?{query}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// The `Authorization` header's credentials for `scheme` (`Basic` decoded to `user:password`).
pub fn credentials(headers: &HeaderMap, scheme: &str) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (given, rest) = value.split_once(' ')?;
    if !given.eq_ignore_ascii_case(scheme) {
        return None;
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        String::from_utf8(bytes).ok()
    } else {
        Some(rest.trim().to_owned())
    }
}

/// A running HR emulator; it stops when dropped or on [`HrEmulator::stop`].
pub struct HrEmulator {
    base_url: String,
    common: Arc<Common>,
    server: Server,
}

impl HrEmulator {
    /// Serves `router` on `listener`; `base_path` is what a client puts after the address
    /// (such as `/api/hris/v1`).
    pub fn start(
        router: Router,
        common: Arc<Common>,
        base_path: &str,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<HrEmulator> {
        let server = Server::start(listener, router)?;
        Ok(HrEmulator {
            base_url: format!("{}{base_path}", server.origin()),
            common,
            server,
        })
    }

    /// The base URL to configure a source with.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Every request received, in order (throttled and refused ones included).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.common.log.requests()
    }

    /// The request log in the vendor checkers' format ([`RequestLog::to_json`]).
    pub fn request_log(&self) -> Value {
        self.common.log.to_json()
    }

    /// Stops serving and waits until the server has.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// A missing optional value: left out of even records and `null` in odd ones, so a client
/// must handle both.
pub fn absent(index: usize) -> Option<Value> {
    (index % 2 == 1).then_some(Value::Null)
}

/// Sets `key` to `value`, or to [`absent`] when there is none.
pub fn put(
    object: &mut serde_json::Map<String, Value>,
    key: &str,
    value: Option<Value>,
    index: usize,
) {
    match value.or_else(|| absent(index)) {
        Some(value) => {
            object.insert(key.to_owned(), value);
        }
        None => {
            object.remove(key);
        }
    }
}

/// The employee's address of a kind, as JSON.
pub fn email(employee: &Employee, kind: hris_operator::sync::model::EmailType) -> Option<Value> {
    employee
        .emails
        .iter()
        .find(|e| e.kind == kind)
        .map(|e| Value::String(e.address.to_string()))
}

/// A text field, as JSON.
pub fn text(value: &Option<impl AsRef<str>>) -> Option<Value> {
    value.as_ref().map(|v| Value::String(v.as_ref().to_owned()))
}

/// A date, as JSON (`YYYY-MM-DD` followed by `suffix`).
pub fn date(value: Option<jiff::civil::Date>, suffix: &str) -> Option<Value> {
    value.map(|d| Value::String(format!("{d}{suffix}")))
}

/// A custom field (a dotted path into nested custom fields), as JSON.
pub fn custom(employee: &Employee, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let first = employee.custom_fields.get(parts.next()?)?;
    parts
        .try_fold(first, |value, part| value.get(part))
        .cloned()
}

/// The employee's phone numbers and address parts by canonical field name (`workPhone`,
/// `homeAddress.postalCode`), each with its value if the employee has one.
pub fn contact_fields(employee: &Employee) -> Vec<(String, Option<Value>)> {
    use hris_operator::sync::model::{AddressPart, AddressType, PhoneType};
    let mut fields: Vec<(String, Option<Value>)> = PhoneType::ALL
        .into_iter()
        .map(|kind| {
            let number = employee.phone(kind).map(|n| Value::String(n.to_owned()));
            (kind.field_name().to_owned(), number)
        })
        .collect();
    for kind in AddressType::ALL {
        for part in AddressPart::ALL {
            let value = employee
                .address(kind)
                .and_then(|address| address.part(part))
                .map(|v| Value::String(v.to_string()));
            fields.push((kind.part_field_name(part).to_owned(), value));
        }
    }
    fields
}

/// Synthetic employees for `hris-emulators`: every status, managers, both email types,
/// a custom cost centre. Names and addresses are made up.
pub fn demo_employees(count: usize) -> Vec<Employee> {
    use hris_operator::sync::model::{Email, EmailType, EmploymentStatus};
    const FIRST: [&str; 5] = ["Ada", "Grace", "Alan", "Edsger", "Barbara"];
    const LAST: [&str; 5] = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov"];
    const STATUSES: [EmploymentStatus; 4] = [
        EmploymentStatus::Active,
        EmploymentStatus::Pending,
        EmploymentStatus::Leave,
        EmploymentStatus::Inactive,
    ];
    (0..count)
        .map(|i| {
            let mut e = Employee::new(
                format!("{}", 1001 + i),
                FIRST[i % 5],
                LAST[(i / 5) % 5],
                if i % 10 == 9 {
                    STATUSES[1 + i % 3]
                } else {
                    STATUSES[0]
                },
            );
            e.employee_number = Some(format!("{}", 1001 + i).into());
            e.emails.push(Email {
                address: format!("user{}@example.com", 1001 + i).into(),
                kind: EmailType::Work,
            });
            if i % 3 == 0 {
                e.emails.push(Email {
                    address: format!("user{}@home.example", 1001 + i).into(),
                    kind: EmailType::Personal,
                });
            }
            e.start_date = Some(jiff::civil::date(2020, 1 + (i % 12) as i8, 1));
            e.manager_id = (i > 0).then(|| format!("{}", 1001 + i / 5).into());
            e.department = Some(["Engineering", "Sales", "People"][i % 3].into());
            e.title = Some(["Engineer", "Manager"][i % 2].into());
            e.location = Some("Stockholm".into());
            e.preferred_language = Some("en".into());
            e.custom_fields
                .insert("costCenter", Value::String(format!("CC-{}", 100 + i % 4)));
            e
        })
        .collect()
}
