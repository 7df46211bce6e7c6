//! The request log every emulator keeps, so that a test can count and inspect what a client
//! sent: one entry per HTTP request, in arrival order, with the status it was answered (and,
//! for a batch, the status of each request inside it).

use std::{
    sync::{Mutex, MutexGuard},
    time::Instant,
};

use axum::http::Uri;
use serde_json::{Value, json};

/// One HTTP request an emulator received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// When it arrived, before any waiting (throttling, latency) happened.
    pub at: Instant,
    /// HTTP method, e.g. `"PATCH"`.
    pub method: String,
    /// Path without the query, e.g. `"/scim/v2/Users"`.
    pub path: String,
    /// The query as sent (still percent-encoded), `""` when there is none.
    pub query: String,
    /// The body: JSON when it parses as JSON, otherwise its text; `None` when empty.
    pub body: Option<Value>,
    /// Status answered; 0 while the request is still being handled.
    pub status: u16,
    /// The requests inside a batch (Microsoft Graph's `$batch`), in order; empty otherwise.
    pub items: Vec<LoggedItem>,
}

/// One request inside a batch, as the emulator answered it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggedItem {
    /// HTTP method.
    pub method: String,
    /// Relative URL without the query, e.g. `/users`.
    pub path: String,
    /// The relative URL's query as sent, `""` when there is none.
    pub query: String,
    /// The item's JSON body, `None` when it has none.
    pub body: Option<Value>,
    /// Status answered.
    pub status: u16,
}

impl LoggedItem {
    fn to_json(&self) -> Value {
        json!({"method": self.method, "path": self.path, "query": self.query,
               "body": self.body, "status": self.status})
    }
}

impl LoggedRequest {
    /// The request as the vendor checkers under `tests/vendor/` read it: `method`, `path`,
    /// `query`, `body`, `status` and the batch's `items` (each with the same fields but `items`).
    pub fn to_json(&self) -> Value {
        json!({"method": self.method, "path": self.path, "query": self.query,
               "body": self.body, "status": self.status,
               "items": self.items.iter().map(LoggedItem::to_json).collect::<Vec<_>>()})
    }
}

/// A body as logged: `None` when empty, JSON when it parses, otherwise its text.
pub fn logged_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

/// Where a request stands in a [`RequestLog`], to record its answer later.
#[derive(Clone, Copy, Debug)]
pub struct Entry(usize);

/// The requests an emulator received, in the order they arrived (or, for those recorded with
/// [`RequestLog::record`], were answered).
#[derive(Debug, Default)]
pub struct RequestLog(Mutex<Vec<LoggedRequest>>);

impl RequestLog {
    fn lock(&self) -> MutexGuard<'_, Vec<LoggedRequest>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a request for `uri` that arrived `at`, not answered yet (status 0).
    pub fn arrived(&self, at: Instant, method: &str, uri: &Uri) -> Entry {
        let mut log = self.lock();
        log.push(LoggedRequest {
            at,
            method: method.to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            body: None,
            status: 0,
            items: Vec::new(),
        });
        Entry(log.len() - 1)
    }

    /// Records the body of a request (see [`logged_body`]).
    pub fn body(&self, entry: Entry, bytes: &[u8]) {
        let body = logged_body(bytes);
        if let Some(request) = self.lock().get_mut(entry.0) {
            request.body = body;
        }
    }

    /// Records the status a request was answered.
    pub fn answered(&self, entry: Entry, status: u16) {
        if let Some(request) = self.lock().get_mut(entry.0) {
            request.status = status;
        }
    }

    /// Records the requests inside a batch.
    pub fn items(&self, entry: Entry, items: Vec<LoggedItem>) {
        if let Some(request) = self.lock().get_mut(entry.0) {
            request.items = items;
        }
    }

    /// Records a bodiless request for `uri` that arrived `at` once it is answered.
    pub fn record(&self, at: Instant, method: &str, uri: &Uri, status: u16) {
        self.lock().push(LoggedRequest {
            at,
            method: method.to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            body: None,
            status,
            items: Vec::new(),
        });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().clone()
    }

    /// Every request so far in the format of the vendor checkers: `{"requests": [...]}`.
    pub fn to_json(&self) -> Value {
        json!({"requests": self.lock().iter().map(LoggedRequest::to_json).collect::<Vec<_>>()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_logged_on_arrival_and_answered_later() {
        let log = RequestLog::default();
        let at = Instant::now();
        let first = log.arrived(at, "POST", &Uri::from_static("/v1.0/$batch"));
        log.body(first, br#"{"requests": []}"#);
        log.record(at, "GET", &Uri::from_static("/users?$top=2"), 200);
        assert_eq!(log.requests()[0].status, 0, "still being handled");
        let item = LoggedItem {
            method: "POST".into(),
            path: "/users".into(),
            status: 201,
            ..LoggedItem::default()
        };
        log.items(first, vec![item.clone()]);
        log.answered(first, 200);
        let requests = log.requests();
        assert_eq!(
            requests
                .iter()
                .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
                .collect::<Vec<_>>(),
            [("POST", "/v1.0/$batch", 200), ("GET", "/users", 200)]
        );
        assert_eq!(requests[0].items, [item]);
        assert!(requests[1].items.is_empty());
        assert_eq!(
            log.to_json()["requests"],
            json!([
                {"method": "POST", "path": "/v1.0/$batch", "query": "", "status": 200,
                 "body": {"requests": []},
                 "items": [{"method": "POST", "path": "/users", "query": "", "body": null,
                            "status": 201}]},
                {"method": "GET", "path": "/users", "query": "$top=2", "body": null,
                 "status": 200, "items": []},
            ])
        );
    }

    #[test]
    fn a_body_is_json_text_or_nothing() {
        assert_eq!(logged_body(b""), None);
        assert_eq!(logged_body(br#"{"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(
            logged_body(b"grant_type=x&scope=y"),
            Some(json!("grant_type=x&scope=y"))
        );
    }
}
