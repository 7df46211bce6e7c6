//! JSON `$batch`: at most 20 requests, each answered (and throttled) on its own, and the fault
//! that loses the answer to a whole batch after carrying it out.

use axum::http::{Method, Uri};
use serde_json::{Map, Value, json};

use super::users::{lost_answer, resource};
use super::{Answer, Shared};
use crate::log::{Entry, LoggedItem};

pub(super) fn batch(shared: &Shared, entry: Entry, body: Option<Value>) -> Answer {
    let Some(requests) = body.as_ref().and_then(|b| b["requests"].as_array()) else {
        return Answer::error(400, "BadRequest", "Invalid batch payload format.");
    };
    if requests.len() > 20 {
        return Answer::error(
            400,
            "BadRequest",
            "Number of requests in batch exceeds the maximum of 20.",
        );
    }
    let mut responses = Vec::new();
    let mut items = Vec::new();
    for request in requests {
        let id = request["id"].as_str().unwrap_or_default().to_owned();
        let method = request["method"]
            .as_str()
            .and_then(|m| m.parse::<Method>().ok())
            .unwrap_or(Method::GET);
        let url = request["url"].as_str().unwrap_or_default();
        let uri: Uri = url.parse().unwrap_or_default();
        let path = uri.path().to_owned();
        let body = request.get("body").filter(|b| !b.is_null()).cloned();
        let denied = super::permissions::denied(&shared.config.permissions, &method, &path);
        let answer = if id.is_empty() || !url.starts_with('/') {
            Answer::error(
                400,
                "BadRequest",
                "Each request needs an id and a relative url.",
            )
        } else if let Some(denied) = denied {
            denied
        } else {
            resource(shared, &method, &path, &uri, body.clone())
        };
        items.push(LoggedItem {
            method: method.to_string(),
            path,
            query: uri.query().unwrap_or_default().to_owned(),
            body,
            status: answer.status,
        });
        let headers: Map<String, Value> = answer
            .headers
            .iter()
            .map(|(k, v)| {
                let name = if *k == "retry-after" {
                    "Retry-After"
                } else {
                    k
                };
                (name.to_owned(), json!(v))
            })
            .chain(std::iter::once((
                "Content-Type".to_owned(),
                json!("application/json"),
            )))
            .collect();
        let mut response = json!({"id": id, "status": answer.status, "headers": headers});
        if let Some(body) = answer.body {
            response["body"] = body;
        }
        responses.push(response);
    }
    shared.log.items(entry, items);
    let mut state = shared.lock();
    if state.lost_batches > 0 {
        state.lost_batches -= 1;
        return lost_answer(state.lost_status);
    }
    Answer::json(200, json!({ "responses": responses }))
}
