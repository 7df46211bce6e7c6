//! A CloudEvents 1.0 event in structured mode (`application/cloudevents+json`), optionally
//! signed: `X-Hris-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes with
//! the channel's signing key, so a receiver can check who sent it and that it is whole.

use serde_json::{Value, json};

use super::message::{Message, RunFacts};

/// The content type of a structured-mode CloudEvent in JSON.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Hris-Signature-256";
/// The prefix of every event `type`.
pub const TYPE_PREFIX: &str = "io.hris-operator.";

/// The event's `id`: the run id and the event, unique for each distinct event of a
/// connection (a CloudEvents receiver takes two events with the same `source` and `id` for
/// one), and the same when a retried sync Job sends it again.
pub fn event_id(run_id: &str, message: &Message) -> String {
    super::idempotency_key(run_id, message.event)
}

/// The event as JSON. `time` is when it is sent (RFC 3339).
pub fn event(message: &Message, run: &RunFacts, time: jiff::Timestamp) -> Value {
    let summary = run.summary;
    let steps: Vec<Value> = message
        .steps
        .iter()
        .map(|step| json!({"text": step.text, "command": step.command}))
        .collect();
    let mut data = json!({
        "connection": run.connection(),
        "event": message.event.as_str(),
        "mode": summary.mode,
        "result": summary.result,
        "asOf": summary.as_of,
        "counts": summary.counts,
        "planHash": summary.plan_hash,
        "headline": message.headline,
        "details": message.details,
        "nextSteps": steps,
    });
    if let Some(category) = &summary.error_category {
        data["errorCategory"] = json!(category);
    }
    if !summary.failures.is_empty() {
        data["failures"] = json!(summary.failures);
    }
    if let Some(trip) = &summary.safeguard {
        data["safeguard"] = json!(trip);
    }
    json!({
        "specversion": "1.0",
        "id": event_id(run.run_id, message),
        "source": format!(
            "/apis/hris-operator.io/v1alpha1/namespaces/{}/hrisconnections/{}",
            run.namespace, run.name
        ),
        "type": format!("{TYPE_PREFIX}{}", message.event.as_str()),
        "subject": run.connection(),
        "time": time.to_string(),
        "datacontenttype": "application/json",
        "runid": run.run_id,
        "data": data,
    })
}

/// The signature header's value for `body`: `sha256=` and the hex HMAC-SHA256.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
