//! A Slack incoming-webhook message: Block Kit `section` and `context` blocks, with the whole
//! message as plain `text`, which Slack shows in notifications and where blocks cannot be
//! shown.

use serde_json::{Value, json};

use super::message::{FOOTER, Message};

/// Most fields Slack takes in one section block.
const MAX_FIELDS: usize = 10;
/// Most characters of a section's text.
const MAX_TEXT: usize = 3000;

/// Slack's escaping for text in `mrkdwn` and `plain_text`: `&`, `<` and `>` would otherwise
/// start an entity, a link or a mention.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT - 1) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": cut(text)})
}

/// The webhook's JSON body.
pub fn payload(message: &Message) -> Value {
    let mut blocks = vec![json!({
        "type": "section",
        "text": mrkdwn(format!(
            "*{}*\n{}",
            escape(&message.headline),
            escape(&message.details.join("\n"))
        )),
    })];
    for facts in message.facts.chunks(MAX_FIELDS) {
        let fields: Vec<Value> = facts
            .iter()
            .map(|(label, value)| mrkdwn(format!("*{label}*\n{}", escape(value))))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    for step in &message.steps {
        let text = match &step.command {
            Some(command) => format!("{}\n```{}```", escape(&step.text), escape(command)),
            None => escape(&step.text),
        };
        blocks.push(json!({"type": "section", "text": mrkdwn(text)}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [mrkdwn(escape(FOOTER))],
    }));
    json!({
        "text": escape(&message.text()),
        "blocks": blocks,
    })
}
