//! An email with a plain-text and an HTML part (`multipart/alternative`), handed to an SMTP
//! server with `lettre`: STARTTLS (required), TLS from the first byte, or none.

use std::{fmt::Write as _, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};

use super::message::{FOOTER, Message};
use crate::crd::{SmtpSettings, SmtpTls};

/// How long the SMTP conversation of one message may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The subject line.
pub fn subject(message: &Message) -> String {
    format!(
        "[hris-operator] {}: {}",
        message.connection, message.headline
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML part: the headline, the details, the facts as a table, the steps with their
/// commands in `<pre>`, and the footer.
pub fn html(message: &Message) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n");
    let _ = writeln!(out, "<h2>{}</h2>", escape(&message.headline));
    for detail in &message.details {
        let _ = writeln!(out, "<p>{}</p>", escape(detail));
    }
    out.push_str("<table>\n");
    for (label, value) in &message.facts {
        let _ = writeln!(
            out,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        );
    }
    out.push_str("</table>\n");
    if !message.steps.is_empty() {
        out.push_str("<h3>Next steps</h3>\n<ul>\n");
        for step in &message.steps {
            let _ = write!(out, "<li>{}", escape(&step.text));
            if let Some(command) = &step.command {
                let _ = write!(out, "<pre>{}</pre>", escape(command));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(out, "<p><small>{}</small></p>", escape(FOOTER));
    out.push_str("</body></html>\n");
    out
}

/// An address of the spec (`from` or an entry of `to`), parsed; an error says why not.
pub fn mailbox(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>().map_err(|error| error.to_string())
}

/// The email of a message. `message_id` goes in `Message-ID` (without the angle brackets):
/// the same for a message sent again by a retried sync Job, so a mail system can drop the
/// repeat.
pub fn build(
    message: &Message,
    from: Mailbox,
    to: &[Mailbox],
    message_id: &str,
) -> Result<lettre::Message, String> {
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(subject(message))
        .message_id(Some(format!("<{message_id}>")));
    for recipient in to {
        builder = builder.to(recipient.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            message.text(),
            html(message),
        ))
        .map_err(|error| error.to_string())
}

/// A transport to the channel's SMTP server.
pub fn transport(
    smtp: &SmtpSettings,
    credentials: Option<(String, String)>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = || TlsParameters::new(smtp.host.clone()).map_err(|error| error.to_string());
    let tls = match smtp.tls {
        SmtpTls::StartTls => Tls::Required(tls()?),
        SmtpTls::Tls => Tls::Wrapper(tls()?),
        SmtpTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port_or_default())
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some((username, password)) = credentials {
        builder = builder.credentials(Credentials::new(username, password));
    }
    Ok(builder.build())
}

/// How sending one email failed.
#[derive(Debug)]
pub struct SmtpFailure {
    /// Worth trying again: the server could not be reached or answered a transient (4xx)
    /// reply.
    pub transient: bool,
    /// The server's reply code, when it answered one (none: it could not be reached).
    pub code: Option<String>,
}

/// Sends one email. The failure carries the reply code only: the server's text may repeat
/// the addresses.
pub async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    email: lettre::Message,
) -> Result<(), SmtpFailure> {
    match transport.send(email).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let code = error.status().map(|code| code.to_string());
            Err(SmtpFailure {
                transient: !error.is_permanent(),
                code,
            })
        }
    }
}
