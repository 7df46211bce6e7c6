//! A Microsoft Teams Workflows webhook message: an Adaptive Card (schema version 1.4, which
//! Teams renders on every client) in the `attachments` of a `message`.

use serde_json::{Value, json};

use super::message::{FOOTER, Message};

/// The Adaptive Card schema version of the card.
pub const CARD_VERSION: &str = "1.4";

/// The webhook's JSON body.
pub fn payload(message: &Message) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": message.headline, "size": "Medium",
               "weight": "Bolder", "wrap": true}),
        json!({"type": "TextBlock", "text": message.details.join("\n\n"), "wrap": true}),
        json!({"type": "FactSet", "facts": message.facts.iter()
            .map(|(title, value)| json!({"title": title, "value": value}))
            .collect::<Vec<_>>()}),
    ];
    if !message.steps.is_empty() {
        body.push(
            json!({"type": "TextBlock", "text": "Next steps", "weight": "Bolder",
                         "spacing": "Medium", "wrap": true}),
        );
    }
    for step in &message.steps {
        body.push(json!({"type": "TextBlock", "text": step.text, "wrap": true}));
        if let Some(command) = &step.command {
            body.push(
                json!({"type": "TextBlock", "text": command, "fontType": "Monospace",
                             "wrap": true}),
            );
        }
    }
    body.push(
        json!({"type": "TextBlock", "text": FOOTER, "isSubtle": true, "size": "Small",
                     "wrap": true}),
    );
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "body": body,
            },
        }],
    })
}
