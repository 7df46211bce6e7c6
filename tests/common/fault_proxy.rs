//! A small fault-injecting HTTP proxy for SCIM servers: it forwards every request to an upstream
//! server unchanged, except that it can answer the first writes with throttling or server
//! errors, refuse every write of one `userName`, and hide the upstream's Bulk support (so a
//! client writes user by user and a per-user fault hits one user only), or redirect every write
//! elsewhere. It listens on
//! 127.0.0.1, a random port, logs every request with the status it answered, and stops when
//! its handle drops.

use std::{
    collections::VecDeque,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// Largest request body forwarded.
const MAX_BODY: usize = 16 << 20;
/// Request headers passed on to the upstream.
const FORWARDED_REQUEST_HEADERS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::IF_MATCH,
];
/// Response headers passed back to the client.
const FORWARDED_RESPONSE_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ETAG,
    header::LOCATION,
    header::RETRY_AFTER,
];

/// What the proxy does to requests.
#[derive(Clone, Debug, Default)]
pub struct ProxyFaults {
    /// Answers for the next writes, one each: `(status, Retry-After seconds)`. The upstream
    /// never sees those requests.
    pub next_writes: VecDeque<(u16, Option<u64>)>,
    /// Every write whose body names this `userName` (case-insensitive) answers this status
    /// with a SCIM error, without reaching the upstream.
    pub fail_user: Option<(String, u16)>,
    /// Every read (GET) whose path and query contain this text answers this status, without
    /// reaching the upstream (say `startIndex=6`: a list that fails on its second page).
    pub fail_reads: Option<(String, u16)>,
    /// The next this-many writes reach the upstream, which applies them, but the client gets
    /// 503 (`Retry-After: 0`) instead of the upstream's answer: a lost answer.
    pub lose_write_answers: usize,
    /// `/ServiceProviderConfig` says Bulk is not supported.
    pub hide_bulk: bool,
    /// Every write answers `307 Temporary Redirect` to this origin (such as
    /// `http://localhost:PORT`) followed by the request's path and query, without reaching
    /// the upstream: a 307 asks the client to send the same method and body there.
    pub redirect_writes: Option<String>,
}

/// One request the proxy answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Status answered to the client.
    pub status: u16,
    /// Whether the request reached the upstream (false: the proxy answered it alone).
    pub forwarded: bool,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    state: Mutex<ProxyState>,
}

struct ProxyState {
    faults: ProxyFaults,
    log: Vec<ProxiedRequest>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ProxyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<futures::channel::oneshot::Sender<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (scheme, host and port, such as `http://127.0.0.1:8000`;
    /// request paths are passed on as they are).
    pub async fn start(upstream: &str, faults: ProxyFaults) -> FaultProxy {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            state: Mutex::new(ProxyState {
                faults,
                log: Vec::new(),
            }),
        });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("a bound address");
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let router = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        FaultProxy {
            address,
            shared,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Replaces the faults (say, to clear them before a rerun).
    pub fn set_faults(&self, faults: ProxyFaults) {
        self.shared.lock().faults = faults;
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.shared.lock().log.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// POST (but not a search), PUT, PATCH and DELETE.
pub fn is_write(method: &str, path: &str) -> bool {
    match method {
        "POST" => !path.ends_with("/.search"),
        "PUT" | "PATCH" | "DELETE" => true,
        _ => false,
    }
}

fn scim_error(status: u16, detail: &str, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.to_string(),
        "detail": detail,
    });
    let mut response = (code, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&seconds.to_string()).expect("digits"),
        );
    }
    response
}

fn names_user(body: &[u8], user_name: &str) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["userName"].as_str().map(str::to_lowercase))
        .is_some_and(|name| name == user_name.to_lowercase())
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let write = is_write(method.as_str(), &path);

    let injected = {
        let mut state = shared.lock();
        let queued = if write {
            state.faults.next_writes.pop_front()
        } else {
            None
        };
        let failing_read = state
            .faults
            .fail_reads
            .as_ref()
            .filter(|(text, _)| method == Method::GET && path_and_query.contains(text.as_str()))
            .map(|(_, status)| *status);
        let redirect = state
            .faults
            .redirect_writes
            .as_ref()
            .filter(|_| write)
            .map(|origin| format!("{}{path_and_query}", origin.trim_end_matches('/')));
        match (queued, failing_read, &state.faults.fail_user) {
            _ if redirect.is_some() => {
                let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
                if let Some(location) = redirect.and_then(|r| HeaderValue::from_str(&r).ok()) {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                Some(response)
            }
            (Some((status, retry_after)), _, _) => {
                Some(scim_error(status, "injected by the proxy", retry_after))
            }
            (None, Some(status), _) => Some(scim_error(
                status,
                "read failure injected by the proxy",
                None,
            )),
            (None, None, Some((user_name, status))) if write && names_user(&body, user_name) => {
                Some(scim_error(
                    *status,
                    "injected for this user by the proxy",
                    None,
                ))
            }
            _ => None,
        }
    };
    let lose_answer = injected.is_none() && write && {
        let mut state = shared.lock();
        let lose = state.faults.lose_write_answers > 0;
        state.faults.lose_write_answers = state.faults.lose_write_answers.saturating_sub(1);
        lose
    };
    let (response, forwarded) = match injected {
        Some(response) => (response, false),
        None if lose_answer => {
            let applied = forward(
                &shared,
                method.clone(),
                &path_and_query,
                &parts.headers,
                body,
            )
            .await;
            let status = applied.status().as_u16();
            let lost = scim_error(
                503,
                &format!("the upstream answered {status}; answer lost"),
                Some(0),
            );
            (lost, true)
        }
        None => (
            forward(
                &shared,
                method.clone(),
                &path_and_query,
                &parts.headers,
                body,
            )
            .await,
            true,
        ),
    };
    shared.lock().log.push(ProxiedRequest {
        method: method.to_string(),
        path,
        status: response.status().as_u16(),
        forwarded,
    });
    response
}

async fn forward(
    shared: &Shared,
    method: Method,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let url = format!("{}{path_and_query}", shared.upstream);
    let mut request = shared.client.request(method, &url);
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    if !body.is_empty() {
        request = request.body(body);
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(error) => return scim_error(502, &format!("upstream unreachable: {error}"), None),
    };
    let status = answer.status();
    let mut kept = Vec::new();
    for name in FORWARDED_RESPONSE_HEADERS {
        if let Some(value) = answer.headers().get(&name) {
            kept.push((name, value.clone()));
        }
    }
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    let hide_bulk = shared.lock().faults.hide_bulk;
    if hide_bulk
        && path_and_query.ends_with("/ServiceProviderConfig")
        && let Ok(mut config) = serde_json::from_slice::<Value>(&bytes)
    {
        config["bulk"] = json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0});
        bytes = config.to_string().into_bytes();
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(status.as_u16()).expect("a status");
    for (name, value) in kept {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
