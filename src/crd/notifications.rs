//! Spec types of `spec.notifications`: where a run's outcome is announced to people, and on
//! which events.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{SecretKeyRef, bounds};

/// What happened in a run that a channel can be told about. The names are those of the
/// connection's Events.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum NotificationEvent {
    /// A simulation finished (without failing): the plan is ready to read.
    SimulationReady,
    /// A sync finished without failing.
    SyncSucceeded,
    /// A run failed (before planning, or with writes the target refused).
    SyncFailed,
    /// A safeguard withheld changes; the plan hash to approve is in the message.
    SafeguardTriggered,
    /// Employees could not be matched safely, or the target refused users because their
    /// email addresses already exist.
    UserConflicts,
    /// The target refused users for lack of licenses or seats.
    LicenseLimitExceeded,
    /// The source or the target refused the credentials.
    CredentialsInvalid,
}

impl NotificationEvent {
    /// Every event, in the order messages about one run are sent.
    pub const ALL: [NotificationEvent; 7] = [
        NotificationEvent::SyncFailed,
        NotificationEvent::CredentialsInvalid,
        NotificationEvent::SafeguardTriggered,
        NotificationEvent::LicenseLimitExceeded,
        NotificationEvent::UserConflicts,
        NotificationEvent::SimulationReady,
        NotificationEvent::SyncSucceeded,
    ];

    /// The name, as in the spec and the connection's Events.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::SimulationReady => "SimulationReady",
            NotificationEvent::SyncSucceeded => "SyncSucceeded",
            NotificationEvent::SyncFailed => "SyncFailed",
            NotificationEvent::SafeguardTriggered => "SafeguardTriggered",
            NotificationEvent::UserConflicts => "UserConflicts",
            NotificationEvent::LicenseLimitExceeded => "LicenseLimitExceeded",
            NotificationEvent::CredentialsInvalid => "CredentialsInvalid",
        }
    }

    /// The event of a name, as [`Self::as_str`] spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == name)
    }
}

/// The events a channel takes when its `events` is not set: all but `SyncSucceeded`, so that a
/// channel hears what needs a person and not every quiet success.
pub fn default_notification_events() -> Vec<NotificationEvent> {
    NotificationEvent::ALL
        .into_iter()
        .filter(|event| *event != NotificationEvent::SyncSucceeded)
        .collect()
}

/// One place a run's outcome is announced: exactly one of `slack`, `msTeams`, `webhook`,
/// `email`, with the events it takes. The sync Job sends one message per channel and event at
/// the end of a run, after the reports are stored. Messages hold counts, plan hashes and the
/// next step, never a person's name or address.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("[has(self.slack), has(self.msTeams), has(self.webhook), has(self.email)].filter(x, x).size() == 1").message("a notification channel takes exactly one of slack, msTeams, webhook, email")
)]
pub struct NotificationChannel {
    /// The events this channel is told about: any of `SimulationReady`, `SyncSucceeded`,
    /// `SyncFailed`, `SafeguardTriggered`, `UserConflicts`, `LicenseLimitExceeded`,
    /// `CredentialsInvalid`. Default: all but `SyncSucceeded`. (Not `on`: Kubernetes reads an
    /// unquoted `on:` key as `true`.)
    #[serde(default = "default_notification_events")]
    #[schemars(length(min = 1, max = bounds::NOTIFICATION_EVENTS))]
    pub events: Vec<NotificationEvent>,
    /// A Slack incoming webhook: a message with Block Kit sections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackChannel>,
    /// A Microsoft Teams Workflows webhook ("When a Teams webhook request is received"): a
    /// message carrying an Adaptive Card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_teams: Option<TeamsChannel>,
    /// Any HTTPS endpoint: a CloudEvents 1.0 event in structured JSON, signed with
    /// HMAC-SHA256 when a signing key is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookChannel>,
    /// An email through an SMTP server, with a plain-text and an HTML part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailChannel>,
}

impl NotificationChannel {
    /// The kinds of channel, as the spec names their keys.
    pub const KINDS: [&'static str; 4] = ["slack", "msTeams", "webhook", "email"];

    /// The channel's key, as in the spec (`slack`, `msTeams`, `webhook`, `email`); `none` for
    /// a channel without one, which the checks refuse.
    pub fn kind(&self) -> &'static str {
        if self.slack.is_some() {
            "slack"
        } else if self.ms_teams.is_some() {
            "msTeams"
        } else if self.webhook.is_some() {
            "webhook"
        } else if self.email.is_some() {
            "email"
        } else {
            "none"
        }
    }

    /// Every Secret key the channel reads: the sync Job mounts exactly these.
    pub fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        let mut refs = Vec::new();
        if let Some(slack) = &self.slack {
            refs.push(&slack.webhook_url_secret_ref);
        }
        if let Some(teams) = &self.ms_teams {
            refs.push(&teams.webhook_url_secret_ref);
        }
        if let Some(webhook) = &self.webhook {
            refs.push(&webhook.url_secret_ref);
            refs.extend(&webhook.signing_key_secret_ref);
        }
        if let Some(email) = &self.email {
            refs.extend(&email.smtp.username_secret_ref);
            refs.extend(&email.smtp.password_secret_ref);
        }
        refs
    }
}

/// A Slack incoming webhook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlackChannel {
    /// Secret key holding the webhook URL (`https://hooks.slack.com/services/…`). The URL is
    /// itself the credential, so it is kept in a Secret and never logged.
    pub webhook_url_secret_ref: SecretKeyRef,
}

/// A Microsoft Teams Workflows webhook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamsChannel {
    /// Secret key holding the workflow's HTTP POST URL. The URL carries its signature, so it
    /// is kept in a Secret and never logged.
    pub webhook_url_secret_ref: SecretKeyRef,
}

/// A CloudEvents 1.0 receiver.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookChannel {
    /// Secret key holding the URL events are POSTed to: `https://`, or `http://` to this
    /// machine (or with `allowInsecureHttp`).
    pub url_secret_ref: SecretKeyRef,
    /// Secret key holding the key the body is signed with: the header
    /// `X-Hris-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. Without it the events
    /// are not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_secret_ref: Option<SecretKeyRef>,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`), for a receiver on a trusted network only.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// An email to a list of addresses.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailChannel {
    /// The SMTP server the message is handed to.
    pub smtp: SmtpSettings,
    /// The sender address, such as `hris-operator@acme.example` or
    /// `HR provisioning <hris-operator@acme.example>`.
    #[schemars(length(min = 3, max = bounds::EMAIL))]
    pub from: String,
    /// The recipients: the addresses of the people or the team mailbox to tell.
    /// An address may carry a display name, as in `HR team <hr@acme.example>`.
    #[schemars(
        length(min = 1, max = bounds::EMAIL_RECIPIENTS),
        inner(length(min = 3, max = bounds::EMAIL))
    )]
    pub to: Vec<String>,
}

/// How the SMTP server is reached.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("has(self.usernameSecretRef) == has(self.passwordSecretRef)").message("smtp takes usernameSecretRef and passwordSecretRef together, or neither")
)]
pub struct SmtpSettings {
    /// Host name of the SMTP server, such as `smtp.acme.example`.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub host: String,
    /// Port. Default: 587 with `StartTls`, 465 with `Tls`, 25 with `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// `StartTls` (upgrade a plain connection; the default), `Tls` (TLS from the first byte,
    /// often port 465) or `None` (no encryption: only for a relay on this machine, and never
    /// with credentials to another host).
    #[serde(default)]
    pub tls: SmtpTls,
    /// Secret key holding the SMTP user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_secret_ref: Option<SecretKeyRef>,
    /// Secret key holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,
}

impl SmtpSettings {
    /// The port: the one set, or the usual one for the TLS mode.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        })
    }
}

/// How the connection to the SMTP server is encrypted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SmtpTls {
    /// Connect in plain text, then upgrade with STARTTLS (required: a server that does not
    /// offer it is refused).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption.
    None,
}
