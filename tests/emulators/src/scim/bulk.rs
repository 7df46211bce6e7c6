//! `POST /Bulk`: the advertised limits (`maxOperations`, `maxPayloadSize`), `failOnErrors`,
//! and `bulkId` references between the operations of one request.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::attrs::get_ci;
use super::error::{ScimError, invalid_syntax, not_found, scim_json};
use super::server::Incoming;
use super::{ServerState, Shared};

const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// Replaces `bulkId:<id>` references (whole strings or path segments) with the ids created
/// earlier in the same request.
fn resolve_bulk_ids(value: &Value, bulk_ids: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(s) if s.contains("bulkId:") => {
            let mut parts = Vec::new();
            for part in s.split('/') {
                if let Some(reference) = part.strip_prefix("bulkId:") {
                    let id = bulk_ids.get(reference).ok_or_else(|| {
                        ScimError::new(
                            409,
                            Some("invalidValue"),
                            format!("bulkId {reference} is not (yet) defined"),
                        )
                    })?;
                    parts.push(id.as_str());
                } else {
                    parts.push(part);
                }
            }
            Value::String(parts.join("/"))
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_bulk_ids(v, bulk_ids))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_bulk_ids(v, bulk_ids)?)))
                .collect::<Result<_, ScimError>>()?,
        ),
        other => other.clone(),
    })
}

impl Shared {
    pub(super) fn bulk(&self, request: &Incoming) -> Result<Response, ScimError> {
        let Some((max_operations, max_payload)) = self.config.bulk else {
            return Err(ScimError::new(501, None, "Bulk is not supported"));
        };
        if request.body.len() > max_payload {
            return Err(ScimError::new(
                413,
                Some("tooLarge"),
                format!(
                    "the request is {} bytes; maxPayloadSize is {max_payload}",
                    request.body.len()
                ),
            ));
        }
        let body = request.json()?;
        let body = body
            .as_object()
            .ok_or_else(|| invalid_syntax("a BulkRequest must be an object"))?;
        let operations = get_ci(body, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid_syntax("a BulkRequest needs Operations"))?;
        if operations.len() > max_operations {
            return Err(ScimError::new(
                413,
                Some("tooMany"),
                format!(
                    "{} operations; maxOperations is {max_operations}",
                    operations.len()
                ),
            ));
        }
        let fail_on_errors = get_ci(body, "failOnErrors").and_then(Value::as_u64);
        let mut state = self.lock();
        let mut bulk_ids: HashMap<String, String> = HashMap::new();
        let mut results = Vec::new();
        let mut errors = 0u64;
        for operation in operations {
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break;
            }
            let result = self.bulk_operation(&mut state, operation, &mut bulk_ids);
            if result["status"]
                .as_str()
                .and_then(|s| s.parse::<u16>().ok())
                .is_none_or(|s| s >= 400)
            {
                errors += 1;
            }
            results.push(result);
        }
        Ok(scim_json(
            StatusCode::OK,
            &json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results}),
        ))
    }

    fn bulk_operation(
        &self,
        state: &mut ServerState,
        operation: &Value,
        bulk_ids: &mut HashMap<String, String>,
    ) -> Value {
        let empty = Map::new();
        let operation = operation.as_object().unwrap_or(&empty);
        let method = get_ci(operation, "method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let bulk_id = get_ci(operation, "bulkId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut result = Map::new();
        result.insert("method".into(), json!(method));
        if let Some(bulk_id) = &bulk_id {
            result.insert("bulkId".into(), json!(bulk_id));
        }
        match self.run_bulk_operation(state, &method, operation, bulk_ids) {
            Ok((status, seq, id)) => {
                result.insert(
                    "location".into(),
                    json!(format!("{}/Users/{id}", self.base_url)),
                );
                if let Some(user) = seq.and_then(|seq| state.store.users.get(&seq)) {
                    if let Some(tag) = self.version_tag(user.version) {
                        result.insert("version".into(), json!(tag));
                    }
                    if let Some(bulk_id) = &bulk_id {
                        bulk_ids.insert(bulk_id.clone(), user.id.clone());
                    }
                }
                result.insert("status".into(), json!(status.to_string()));
            }
            Err(error) => {
                result.insert("status".into(), json!(error.status.to_string()));
                result.insert("response".into(), error.body());
            }
        }
        Value::Object(result)
    }

    /// Runs one Bulk operation; returns (status, stored user if any, id).
    fn run_bulk_operation(
        &self,
        state: &mut ServerState,
        method: &str,
        operation: &Map<String, Value>,
        bulk_ids: &HashMap<String, String>,
    ) -> Result<(u16, Option<u64>, String), ScimError> {
        let path = get_ci(operation, "path")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_syntax("a bulk operation needs a path"))?;
        let path = resolve_bulk_ids(&Value::String(path.to_string()), bulk_ids)?;
        let path = path.as_str().unwrap_or_default();
        let data = get_ci(operation, "data")
            .map(|d| resolve_bulk_ids(d, bulk_ids))
            .transpose()?;
        let version = get_ci(operation, "version").and_then(Value::as_str);
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let need_data = || {
            data.clone()
                .ok_or_else(|| invalid_syntax("data is required"))
        };
        match (method, segments.as_slice()) {
            ("POST", ["Users"]) => {
                let seq = self.create_user(state, need_data()?)?;
                Ok((201, Some(seq), state.store.users[&seq].id.clone()))
            }
            ("PUT", ["Users", id]) => {
                let seq = self.replace_user(state, id, need_data()?, version)?;
                Ok((200, Some(seq), id.to_string()))
            }
            ("PATCH", ["Users", id]) => {
                if !self.config.patch {
                    return Err(ScimError::new(501, None, "PATCH is not supported"));
                }
                let seq = self.patch_user(state, id, &need_data()?, version)?;
                Ok((200, Some(seq), id.to_string()))
            }
            ("DELETE", ["Users", id]) => {
                self.delete_user(state, id, version)?;
                Ok((204, None, id.to_string()))
            }
            ("POST" | "PUT" | "PATCH" | "DELETE", ["Users", ..]) => Err(ScimError::new(
                405,
                None,
                format!("{method} is not supported on {path}"),
            )),
            ("POST" | "PUT" | "PATCH" | "DELETE", _) => Err(not_found(path)),
            _ => Err(invalid_syntax(format!(
                "unsupported bulk method {method:?}"
            ))),
        }
    }
}
