//! A Slack incoming-webhook message: Block Kit `section` and `context` blocks, with the whole
//! message as plain `text`, which Slack shows in notifications and where blocks cannot be
//! shown.

use serde_json::{Value, json};

use super::message::{FOOTER, Message};

/// Most fields Slack takes in one section block.
const MAX_FIELDS: usize = 10;
/// Most characters of a section's text.
const MAX_TEXT: usize = 3000;
/// Longest fact shown in a field (a column half the message wide).
const SHORT_FACT: usize = 32;

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
    // Short facts side by side in fields (two columns on screen); long ones, such as the
    // counts, on lines of their own, where they do not wrap in a narrow column.
    let (short, long): (Vec<_>, Vec<_>) = message
        .facts
        .iter()
        .partition(|(_, value)| value.chars().count() <= SHORT_FACT);
    for facts in short.chunks(MAX_FIELDS) {
        let fields: Vec<Value> = facts
            .iter()
            .map(|(label, value)| mrkdwn(format!("*{label}*\n{}", escape(value))))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !long.is_empty() {
        let lines: Vec<String> = long
            .iter()
            .map(|(label, value)| format!("*{label}:* {}", escape(value)))
            .collect();
        blocks.push(json!({"type": "section", "text": mrkdwn(lines.join("\n"))}));
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
