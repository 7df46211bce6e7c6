//! The request log every emulator keeps, so that a test can count and inspect what a client
//! sent: one entry per HTTP request, in arrival order, with the status it was answered (and,
//! for a batch, the status of each request inside it).

use std::{
    sync::{Mutex, MutexGuard},
    time::Instant,
};

/// One HTTP request an emulator received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// When it arrived, before any waiting (throttling, latency) happened.
    pub at: Instant,
    /// HTTP method, e.g. `"PATCH"`.
    pub method: String,
    /// Path without the query, e.g. `"/scim/v2/Users"`.
    pub path: String,
    /// Status answered; 0 while the request is still being handled.
    pub status: u16,
    /// The requests inside a batch (Microsoft Graph's `$batch`), in order; empty otherwise.
    pub items: Vec<LoggedItem>,
}

/// One request inside a batch, as the emulator answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedItem {
    /// HTTP method.
    pub method: String,
    /// Relative URL without the query, e.g. `/users`.
    pub path: String,
    /// Status answered.
    pub status: u16,
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

    /// Records a request that arrived `at`, not answered yet (status 0).
    pub fn arrived(&self, at: Instant, method: &str, path: &str) -> Entry {
        let mut log = self.lock();
        log.push(LoggedRequest {
            at,
            method: method.to_owned(),
            path: path.to_owned(),
            status: 0,
            items: Vec::new(),
        });
        Entry(log.len() - 1)
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

    /// Records a request that arrived `at` once it is answered.
    pub fn record(&self, at: Instant, method: &str, path: &str, status: u16) {
        self.lock().push(LoggedRequest {
            at,
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            items: Vec::new(),
        });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_logged_on_arrival_and_answered_later() {
        let log = RequestLog::default();
        let at = Instant::now();
        let first = log.arrived(at, "POST", "/v1.0/$batch");
        log.record(at, "GET", "/users", 200);
        assert_eq!(log.requests()[0].status, 0, "still being handled");
        let item = LoggedItem {
            method: "POST".into(),
            path: "/users".into(),
            status: 201,
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
    }
}
