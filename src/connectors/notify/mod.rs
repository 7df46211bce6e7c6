//! Notifications: the messages a run sends to people through `spec.notifications` (Slack,
//! Microsoft Teams, a CloudEvents webhook, email), once per channel and event, after the
//! reports are stored. They say what happened in counts, plan hashes and categories, never a
//! name or an address, and the exact next step.
//!
//! A delivery is retried with back-off (429, 5xx, timeouts and unreachable servers for HTTP;
//! transient replies and unreachable servers for SMTP); one that still fails is counted in the
//! run's [`NotificationReport`] and never changes the run's result. Logs name the channel by
//! its index and kind: never a URL (a webhook URL is a credential), an address or a body.

pub mod email;
mod message;
pub mod slack;
pub mod teams;
pub mod webhook;

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;

pub use message::{
    Message, Origin, RunFacts, Step, credentials_refused, events_of, license_limited,
    refused_as_taken,
};

use super::{
    checks::check_url,
    http::{RetryPolicy, client_builder, retry_after},
    secrets::SecretResolver,
};
use crate::{
    contract::termination::NOTIFICATION_FAILURE_REASONS,
    crd::{
        EmailChannel, HrisConnectionSpec, NotificationChannel, NotificationEvent, SecretKeyRef,
        SmtpTls,
    },
    sync::{
        policy::{SpecError, quoted},
        report::{NOTIFICATION_FAILURES_LISTED, NotificationFailure, NotificationReport, Summary},
        run::RunError,
    },
};

/// The header carrying the idempotency key (the run id and the event) on HTTP deliveries.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// How long one HTTP delivery may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long all of a run's notifications may take, retries included: a receiver that never
/// answers must not keep the sync Job running into its deadline, which would fail the run.
pub const NOTIFY_BUDGET: Duration = Duration::from_secs(120);

/// Retries of a delivery: four tries in all, 1 s, 2 s and 4 s apart (with jitter), so a
/// receiver that is down costs a run about seven seconds per message.
pub fn default_retry() -> RetryPolicy {
    RetryPolicy {
        max_tries: 4,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
    }
}

/// The key a receiver can drop a repeated message by: the run id and the event. A sync Job
/// that is retried runs with the same run id.
pub fn idempotency_key(run_id: &str, event: NotificationEvent) -> String {
    format!("{run_id}:{}", event.as_str())
}

/// A finished run, as the sync Job or a local command hands it over for its notifications.
#[derive(Clone, Copy, Debug)]
pub struct FinishedRun<'a> {
    /// The connection's namespace.
    pub namespace: &'a str,
    /// The connection's name.
    pub name: &'a str,
    /// The run id.
    pub run_id: &'a str,
    /// The run's summary.
    pub summary: &'a Summary,
    /// Where the run happened.
    pub origin: Origin<'a>,
    /// The side that refused the credentials when the run stopped for it: `source` or
    /// `target` ([`refused_side`]).
    pub refused_by: Option<&'static str>,
}

/// The side whose credentials made a run fail before planning, if they did.
pub fn refused_side(error: &RunError) -> Option<&'static str> {
    (error.category() == "CredentialsInvalid").then_some(match error {
        RunError::Source(_) | RunError::MissingSourceField(_) => "source",
        RunError::Target(_) => "target",
    })
}

/// Sends the notifications of a finished run to the channels of `spec`; `None` when it has
/// none. A delivery that fails is counted in the report, never returned as an error: the
/// run's result does not depend on it.
pub async fn notify(
    spec: &HrisConnectionSpec,
    run: FinishedRun<'_>,
    secrets: &SecretResolver,
) -> Option<NotificationReport> {
    if spec.notifications.is_empty() {
        return None;
    }
    let summary = run.summary;
    // Writes the target refused for the credentials are the target's; a run stopped before
    // planning says which side it was.
    let refused_by = run.refused_by.or_else(|| {
        summary
            .failures
            .contains_key("CredentialsInvalid")
            .then_some("target")
    });
    let refs = match refused_by {
        Some("source") => super::source::connector(&spec.source).secret_refs(),
        Some("target") => super::target::connector(&spec.target).secret_refs(),
        _ => Vec::new(),
    };
    let facts = RunFacts {
        namespace: run.namespace,
        name: run.name,
        run_id: run.run_id,
        summary,
        origin: run.origin,
        approval_required: spec.safeguards.require_simulation_approval,
        refused_by,
        secrets_to_check: refs.into_iter().map(|r| secrets.describe(r)).collect(),
    };
    let report = match Notifier::new(&spec.notifications, secrets) {
        Ok(notifier) => notifier.send(&facts).await,
        Err(error) => {
            tracing::warn!(%error, "notifications not sent");
            let failed = spec
                .notifications
                .iter()
                .map(|c| {
                    events_of(summary)
                        .iter()
                        .filter(|e| c.events.contains(e))
                        .count() as u64
                })
                .sum();
            NotificationReport {
                sent: 0,
                failed,
                failures: Vec::new(),
            }
        }
    };
    Some(report)
}

/// Every secret the notifications read.
pub fn secret_refs(spec: &HrisConnectionSpec) -> Vec<&SecretKeyRef> {
    spec.notifications
        .iter()
        .flat_map(NotificationChannel::secret_refs)
        .collect()
}

/// Why a delivery failed: one of [`NOTIFICATION_FAILURE_REASONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    /// A Secret the channel reads could not be read.
    SecretUnreadable,
    /// The URL in the Secret is not one messages may be sent to.
    InvalidUrl,
    /// An email address or the SMTP host cannot be used.
    InvalidAddress,
    /// No answer: the server could not be reached or timed out, after the retries.
    Unreachable,
    /// The receiver answered with an error, for good or after the retries.
    Refused,
}

impl Reason {
    fn as_str(self) -> &'static str {
        let name = match self {
            Reason::SecretUnreadable => "SecretUnreadable",
            Reason::InvalidUrl => "InvalidUrl",
            Reason::InvalidAddress => "InvalidAddress",
            Reason::Unreachable => "Unreachable",
            Reason::Refused => "Refused",
        };
        debug_assert!(NOTIFICATION_FAILURE_REASONS.contains(&name));
        name
    }
}

/// A delivery that failed: the reason, and a note for the log (names of Secrets and status
/// codes only).
#[derive(Debug)]
struct Failed {
    reason: Reason,
    note: String,
}

impl Failed {
    fn new(reason: Reason, note: impl Into<String>) -> Self {
        Failed {
            reason,
            note: note.into(),
        }
    }
}

/// Sends a run's notifications.
pub struct Notifier<'a> {
    channels: &'a [NotificationChannel],
    secrets: &'a SecretResolver,
    retry: RetryPolicy,
    budget: Duration,
    client: reqwest::Client,
}

impl<'a> Notifier<'a> {
    /// A notifier of `channels` reading their Secrets from `secrets`, retrying as
    /// [`default_retry`] says.
    pub fn new(
        channels: &'a [NotificationChannel],
        secrets: &'a SecretResolver,
    ) -> Result<Self, String> {
        let client = client_builder(HTTP_TIMEOUT)
            .build()
            .map_err(|error| format!("cannot build an HTTP client: {error}"))?;
        Ok(Self {
            channels,
            secrets,
            retry: default_retry(),
            budget: NOTIFY_BUDGET,
            client,
        })
    }

    /// The notifier with another retry policy, and another time all deliveries may take.
    pub fn with_retry(mut self, retry: RetryPolicy, budget: Duration) -> Self {
        self.retry = retry;
        self.budget = budget;
        self
    }

    /// Sends one message per channel and event the run calls for; the channels in parallel,
    /// each channel's messages in order. Returns what was delivered and what was not.
    pub async fn send(&self, run: &RunFacts<'_>) -> NotificationReport {
        let messages: Vec<Message> = events_of(run.summary)
            .into_iter()
            .map(|event| Message::new(event, run))
            .collect();
        let deadline = tokio::time::Instant::now() + self.budget;
        let per_channel = self.channels.iter().enumerate().map(|(index, channel)| {
            let messages = &messages;
            async move {
                let mut outcomes = Vec::new();
                for message in messages
                    .iter()
                    .filter(|m| channel.events.contains(&m.event))
                {
                    let delivery = self.deliver(index, channel, message, run);
                    let outcome = tokio::time::timeout_at(deadline, delivery)
                        .await
                        .unwrap_or_else(|_| {
                            Err(Failed::new(
                                Reason::Unreachable,
                                format!(
                                    "not delivered within the {} s all of a run's \
                                     notifications may take",
                                    self.budget.as_secs()
                                ),
                            ))
                        });
                    outcomes.push((index, channel.kind(), message.event, outcome));
                }
                outcomes
            }
        });
        let mut report = NotificationReport::default();
        for (index, kind, event, outcome) in join_all(per_channel).await.into_iter().flatten() {
            match outcome {
                Ok(tries) => {
                    tracing::info!(
                        channel = index,
                        kind,
                        event = event.as_str(),
                        tries,
                        "notification sent"
                    );
                    report.sent += 1;
                }
                Err(failed) => {
                    tracing::warn!(
                        channel = index,
                        kind,
                        event = event.as_str(),
                        reason = failed.reason.as_str(),
                        note = %failed.note,
                        "notification not delivered; the run's result is unchanged"
                    );
                    report.failed += 1;
                    if report.failures.len() < NOTIFICATION_FAILURES_LISTED {
                        report.failures.push(NotificationFailure {
                            channel: index,
                            kind: kind.to_owned(),
                            event: event.as_str().to_owned(),
                            reason: failed.reason.as_str().to_owned(),
                        });
                    }
                }
            }
        }
        report
    }

    /// Delivers one message to one channel; the tries it took.
    async fn deliver(
        &self,
        index: usize,
        channel: &NotificationChannel,
        message: &Message,
        run: &RunFacts<'_>,
    ) -> Result<u32, Failed> {
        let key = idempotency_key(run.run_id, message.event);
        if let Some(slack) = &channel.slack {
            let url = self.url(&slack.webhook_url_secret_ref, false).await?;
            let body = serde_json::to_vec(&slack::payload(message)).expect("JSON");
            return self.post(&url, "application/json", body, &key, None).await;
        }
        if let Some(teams) = &channel.ms_teams {
            let url = self.url(&teams.webhook_url_secret_ref, false).await?;
            let body = serde_json::to_vec(&teams::payload(message)).expect("JSON");
            return self.post(&url, "application/json", body, &key, None).await;
        }
        if let Some(hook) = &channel.webhook {
            let url = self
                .url(&hook.url_secret_ref, hook.allow_insecure_http)
                .await?;
            let key_bytes = match &hook.signing_key_secret_ref {
                Some(reference) => Some(self.secret(reference).await?),
                None => None,
            };
            let event = webhook::event(message, run, jiff::Timestamp::now());
            let body = serde_json::to_vec(&event).expect("JSON");
            let signed = key_bytes.map(|k| webhook::signature(k.as_bytes(), &body));
            return self
                .post(&url, webhook::CONTENT_TYPE, body, &key, signed)
                .await;
        }
        if let Some(mail) = &channel.email {
            return self.mail(mail, message, &key).await;
        }
        Err(Failed::new(
            Reason::InvalidAddress,
            format!("spec.notifications[{index}] names no channel"),
        ))
    }

    async fn secret(&self, reference: &SecretKeyRef) -> Result<String, Failed> {
        self.secrets
            .get(reference)
            .await
            .map_err(|error| Failed::new(Reason::SecretUnreadable, error.to_string()))
    }

    /// The URL a Secret holds, checked as every URL credentials go to is. The message names
    /// the Secret, never the URL: the URL is the credential.
    async fn url(
        &self,
        reference: &SecretKeyRef,
        allow_insecure_http: bool,
    ) -> Result<String, Failed> {
        let url = self.secret(reference).await?;
        let url = url.trim().to_owned();
        check_url(&url, allow_insecure_http).map_err(|_| {
            Failed::new(
                Reason::InvalidUrl,
                format!(
                    "the URL in {} is not an https URL (or http to this machine)",
                    self.secrets.describe(reference)
                ),
            )
        })?;
        Ok(url)
    }

    /// POSTs a body, retrying 429, 5xx (but 501), timeouts and connection failures with
    /// back-off (or after `Retry-After`). Any other answer than a 2xx is final.
    async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        key: &str,
        signed: Option<String>,
    ) -> Result<u32, Failed> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .header(IDEMPOTENCY_HEADER, key)
                .body(body.clone());
            if let Some(signature) = &signed {
                request = request.header(webhook::SIGNATURE_HEADER, signature);
            }
            let (retry, failed, wait) = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(attempt),
                Ok(response) => {
                    let status = response.status();
                    let failed =
                        Failed::new(Reason::Refused, format!("the receiver answered {status}"));
                    (retryable(status), failed, retry_after(response.headers()))
                }
                Err(error) => {
                    let what = if error.is_timeout() {
                        "timed out"
                    } else if error.is_connect() {
                        "could not connect"
                    } else {
                        "failed"
                    };
                    let failed = Failed::new(Reason::Unreachable, format!("the request {what}"));
                    (true, failed, None)
                }
            };
            if !retry || attempt >= self.retry.max_tries {
                return Err(Failed {
                    note: format!("{} (after {attempt} tries)", failed.note),
                    ..failed
                });
            }
            let wait = wait
                .map(|delay| delay.min(self.retry.max_delay))
                .unwrap_or_else(|| self.retry.backoff(attempt));
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends an email, retrying an unreachable server and transient replies.
    async fn mail(
        &self,
        channel: &EmailChannel,
        message: &Message,
        key: &str,
    ) -> Result<u32, Failed> {
        let credentials = match (
            &channel.smtp.username_secret_ref,
            &channel.smtp.password_secret_ref,
        ) {
            (Some(user), Some(password)) => {
                Some((self.secret(user).await?, self.secret(password).await?))
            }
            _ => None,
        };
        let invalid = |what: &str| Failed::new(Reason::InvalidAddress, what.to_owned());
        let from = email::mailbox(&channel.from).map_err(|_| invalid("the from address"))?;
        let to = channel
            .to
            .iter()
            .enumerate()
            .map(|(i, address)| {
                email::mailbox(address).map_err(|_| invalid(&format!("the to address [{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let transport =
            email::transport(&channel.smtp, credentials).map_err(|_| invalid("the SMTP host"))?;
        let message_id = format!("{}@hris-operator", key.replace(':', "."));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mail = email::build(message, from.clone(), &to, &message_id)
                .map_err(|_| invalid("the message's addresses"))?;
            let failure = match email::send(&transport, mail).await {
                Ok(()) => return Ok(attempt),
                Err(failure) => failure,
            };
            if !failure.transient || attempt >= self.retry.max_tries {
                let (reason, note) = match &failure.code {
                    Some(code) => (Reason::Refused, format!("the SMTP server answered {code}")),
                    None => (
                        Reason::Unreachable,
                        "the SMTP server could not be reached".into(),
                    ),
                };
                return Err(Failed::new(
                    reason,
                    format!("{note} (after {attempt} tries)"),
                ));
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}

/// Problems of `spec.notifications`, each naming its field: what the CRD schema checks, and
/// the addresses, which it cannot.
pub fn check(channels: &[NotificationChannel]) -> Vec<SpecError> {
    let mut problems = Vec::new();
    for (index, channel) in channels.iter().enumerate() {
        let field = |name: &str| format!("spec.notifications[{index}]{name}");
        let kinds = [
            channel.slack.is_some(),
            channel.ms_teams.is_some(),
            channel.webhook.is_some(),
            channel.email.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count();
        if kinds != 1 {
            problems.push(SpecError {
                field: field(""),
                message: format!(
                    "has {kinds} of slack, msTeams, webhook, email; set exactly one per channel \
                     (list a second channel for a second kind)"
                ),
            });
        }
        if channel.events.is_empty() {
            problems.push(SpecError {
                field: field(".events"),
                message: "is empty; list the events to send, such as [SyncFailed, \
                          SafeguardTriggered], or leave `events` out for all but SyncSucceeded"
                    .into(),
            });
        }
        if let Some(mail) = &channel.email {
            check_email(mail, &field(".email"), &mut problems);
        }
    }
    problems
}

fn check_email(mail: &EmailChannel, field: &str, problems: &mut Vec<SpecError>) {
    let mut problem = |name: String, message: String| {
        problems.push(SpecError {
            field: format!("{field}{name}"),
            message,
        })
    };
    let address = |value: &str| {
        email::mailbox(value).err().map(|why| {
            format!(
                "{} is not an email address ({why}); write one such as \
                 hr-team@acme.example or `HR team <hr-team@acme.example>`",
                quoted(value)
            )
        })
    };
    if let Some(message) = address(&mail.from) {
        problem(".from".into(), message);
    }
    if mail.to.is_empty() {
        problem(".to".into(), "is empty; list at least one recipient".into());
    }
    for (index, to) in mail.to.iter().enumerate() {
        if let Some(message) = address(to) {
            problem(format!(".to[{index}]"), message);
        }
    }
    let smtp = &mail.smtp;
    let host = smtp.host.as_str();
    let ip = host.parse::<std::net::IpAddr>().ok();
    if host.is_empty() || host.contains(['/', ' ', '@']) || (host.contains(':') && ip.is_none()) {
        problem(
            ".smtp.host".into(),
            format!(
                "{} is not a host name; write the name alone, such as smtp.acme.example, and \
                 the port in smtp.port",
                quoted(host)
            ),
        );
    }
    if smtp.port == Some(0) {
        problem(
            ".smtp.port".into(),
            "0 is not a port; use 1 to 65535".into(),
        );
    }
    let with_user = smtp.username_secret_ref.is_some();
    if with_user != smtp.password_secret_ref.is_some() {
        problem(
            ".smtp".into(),
            "takes usernameSecretRef and passwordSecretRef together, or neither".into(),
        );
    }
    let local = host == "localhost" || ip.is_some_and(|ip| ip.is_loopback());
    if with_user && smtp.tls == SmtpTls::None && !local {
        problem(
            ".smtp.tls".into(),
            "is None while credentials are set: the password would cross the network \
             unencrypted; use StartTls or Tls"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::report::{ChangeCounts, RunMode, RunResult};

    fn channels(yaml: &str) -> Vec<NotificationChannel> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn problems(yaml: &str) -> Vec<String> {
        check(&channels(yaml))
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_channel_takes_exactly_one_kind_and_some_events() {
        let secret = "{name: hooks, key: slack}";
        assert!(problems(&format!("[{{slack: {{webhookUrlSecretRef: {secret}}}}}]")).is_empty());
        assert_eq!(
            problems(&format!(
                "[{{slack: {{webhookUrlSecretRef: {secret}}}, msTeams: {{webhookUrlSecretRef: \
                 {secret}}}}}, {{events: [SyncFailed]}}]"
            )),
            [
                "spec.notifications[0]: has 2 of slack, msTeams, webhook, email; set exactly one \
                 per channel (list a second channel for a second kind)",
                "spec.notifications[1]: has 0 of slack, msTeams, webhook, email; set exactly one \
                 per channel (list a second channel for a second kind)",
            ]
        );
        assert_eq!(
            problems(&format!(
                "[{{events: [], slack: {{webhookUrlSecretRef: {secret}}}}}]"
            )),
            [
                "spec.notifications[0].events: is empty; list the events to send, such as \
                 [SyncFailed, SafeguardTriggered], or leave `events` out for all but \
                 SyncSucceeded"
            ]
        );
        let defaulted = channels(&format!("[{{slack: {{webhookUrlSecretRef: {secret}}}}}]"));
        assert_eq!(defaulted[0].events.len(), 6);
        assert!(
            !defaulted[0]
                .events
                .contains(&NotificationEvent::SyncSucceeded)
        );
    }

    #[test]
    fn email_addresses_hosts_and_credentials_are_checked_naming_the_field() {
        let email = |smtp: &str, from: &str, to: &str| {
            problems(&format!(
                "[{{email: {{smtp: {smtp}, from: '{from}', to: [{to}]}}}}]"
            ))
        };
        assert!(
            email(
                "{host: smtp.acme.example}",
                "HR provisioning <hris@acme.example>",
                "hr@acme.example, 'HR team <team@acme.example>'"
            )
            .is_empty()
        );
        let bad = email(
            "{host: 'smtp://smtp.acme.example', port: 0}",
            "hris at acme",
            "hr@acme.example, not-an-address",
        );
        let fields: Vec<&str> = bad.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            fields,
            [
                "spec.notifications[0].email.from",
                "spec.notifications[0].email.to[1]",
                "spec.notifications[0].email.smtp.host",
                "spec.notifications[0].email.smtp.port",
            ],
            "{bad:#?}"
        );
        assert!(
            bad[0].contains("such as hr-team@acme.example"),
            "{}",
            bad[0]
        );
        let user = "usernameSecretRef: {name: smtp, key: user}";
        let password = "passwordSecretRef: {name: smtp, key: password}";
        assert_eq!(
            email(
                &format!("{{host: smtp.acme.example, {user}}}"),
                "a@acme.example",
                "b@acme.example"
            ),
            [
                "spec.notifications[0].email.smtp: takes usernameSecretRef and passwordSecretRef \
              together, or neither"
            ]
        );
        assert_eq!(
            email(
                &format!("{{host: smtp.acme.example, tls: None, {user}, {password}}}"),
                "a@acme.example",
                "b@acme.example"
            ),
            [
                "spec.notifications[0].email.smtp.tls: is None while credentials are set: the \
              password would cross the network unencrypted; use StartTls or Tls"
            ]
        );
        assert!(
            email(
                &format!("{{host: 127.0.0.1, port: 2525, tls: None, {user}, {password}}}"),
                "a@acme.example",
                "b@acme.example"
            )
            .is_empty(),
            "a relay on this machine may take credentials in plain text"
        );
    }

    fn summary(mode: RunMode, result: RunResult) -> Summary {
        Summary {
            connection: "people/acme".into(),
            mode,
            as_of: "2026-11-22".into(),
            result,
            counts: ChangeCounts::default(),
            plan_hash: "9e61cd5df81596e3d99e".into(),
            safeguard: None,
            source_employees: 10,
            target_users: 8,
            managed_users: 8,
            sample: Vec::new(),
            error_category: None,
            seats: None,
            license_failures: 0,
            failures: Default::default(),
            notifications: None,
        }
    }

    fn names(summary: &Summary) -> Vec<&'static str> {
        events_of(summary).into_iter().map(|e| e.as_str()).collect()
    }

    #[test]
    fn each_event_is_called_for_by_what_the_summary_reports() {
        use RunMode::{Apply, Simulate};
        assert_eq!(
            names(&summary(Simulate, RunResult::Succeeded)),
            ["SimulationReady"]
        );
        assert_eq!(
            names(&summary(Apply, RunResult::Succeeded)),
            ["SyncSucceeded"]
        );
        let mut refused = summary(Apply, RunResult::Failed);
        refused.error_category = Some("LicenseLimitExceeded".into());
        refused.failures = [
            ("LicenseLimitExceeded".to_owned(), 8),
            ("UserConflict".to_owned(), 12),
        ]
        .into();
        assert_eq!(
            names(&refused),
            ["SyncFailed", "LicenseLimitExceeded", "UserConflicts"]
        );
        assert_eq!(license_limited(&refused), 8);
        assert_eq!(refused_as_taken(&refused), 12);
        let mut conflicts = summary(Simulate, RunResult::Succeeded);
        conflicts.counts.conflicts = 3;
        assert_eq!(names(&conflicts), ["UserConflicts", "SimulationReady"]);
        let credentials = Summary::failed(
            "people/acme",
            Apply,
            "2026-11-22".into(),
            "CredentialsInvalid",
        );
        assert_eq!(names(&credentials), ["SyncFailed", "CredentialsInvalid"]);
    }
}
