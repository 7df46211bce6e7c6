//! The `HrisConnection` custom resource (v1alpha1): one "HR system → target directory" pair.
//!
//! Every field carries a doc comment because it becomes `kubectl explain` text. Schema validation
//! (enums, minimums, CEL rules) refuses a bad manifest at `kubectl apply`; [`crate::connectors::check_spec`]
//! repeats the same checks with field-named messages for manifests run locally.

pub mod bounds;
mod directories;
mod directory_sources;
mod notifications;
mod status;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use directories::*;
pub use directory_sources::*;
pub use notifications::*;
pub use status::*;

/// API group of every resource this operator owns.
pub const GROUP: &str = "hris-operator.io";

/// Desired state of one HR-system-to-directory provisioning connection.
// Each printcolumn repeats the same keys, which the lint takes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "hris-operator.io",
    version = "v1alpha1",
    kind = "HrisConnection",
    plural = "hrisconnections",
    singular = "hrisconnection",
    shortname = "hrisconn",
    shortname = "hc",
    namespaced,
    status = "HrisConnectionStatus",
    doc = "An HrisConnection mirrors the people of one HR system (spec.source) into one user \
           directory (spec.target): it creates joiners, updates movers, and deactivates or \
           deletes leavers, on a schedule, in sync Jobs the operator starts. In Simulate mode it \
           only plans and reports what it would change; safeguards withhold mass changes until \
           a person approves the plan. Status holds the last runs' counts and plan hashes, never \
           personal data.",
    printcolumn(
        name = "Mode",
        type_ = "string",
        json_path = ".spec.mode",
        description = "Simulate, Active or Deactivated"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the last run finished (the Ready condition)"
    ),
    // The run columns read the last run of either kind: a Simulate connection only simulates,
    // so columns on `lastSync` would stay empty for it.
    printcolumn(
        name = "Last Run",
        type_ = "date",
        json_path = ".status.lastRunTime",
        description = "When the last sync or simulation finished"
    ),
    printcolumn(
        name = "Result",
        type_ = "string",
        json_path = ".status.lastRunResult",
        description = "Succeeded, Failed or Withheld: the last sync or simulation"
    ),
    printcolumn(
        name = "Last Run Kind",
        type_ = "string",
        json_path = ".status.lastRunKind",
        description = "Simulate or Apply: the kind of the last run",
        priority = 1
    ),
    // A string, not a date: kubectl shows a date column as the time since it, and a time still
    // to come as `<invalid>`.
    printcolumn(
        name = "Next Run",
        type_ = "string",
        json_path = ".status.nextSyncTime",
        description = "When the next scheduled run starts (RFC 3339, UTC)"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "When the connection was created"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct HrisConnectionSpec {
    /// What the operator does on schedule: `Simulate` plans and reports without writing to the
    /// target, `Active` applies the plan, `Deactivated` runs nothing.
    #[serde(default)]
    pub mode: Mode,

    /// The HR system employees are read from. Exactly one key.
    #[x_kube(validation = kube::core::Rule::new("size(self) == 1").message("source must have exactly one key, such as csv"))]
    pub source: SourceSpec,

    /// The directory users are provisioned into. Exactly one key.
    #[x_kube(validation = kube::core::Rule::new("size(self) == 1").message("target must have exactly one key, such as scim or file"))]
    pub target: TargetSpec,

    /// Prefix of the externalId this connection writes (`prefix` + HR employee id): at least two
    /// characters, then a separator (`:`, `/`, `|` or `#`), such as `acme-hris:`. Target users
    /// whose externalId is the prefix followed by an id without the separator are managed by
    /// this connection and may be updated, deactivated or deleted; all other users are never
    /// touched unless adopted by a match. So `acme:` never manages `acme:contractors:C1`.
    #[x_kube(validation = kube::core::Rule::new("size(self) > 0").message("externalIdPrefix must not be empty: set a prefix such as \"acme-hris:\""))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[^ ].+[:/|#]$')").message("externalIdPrefix must be at least two characters followed by a separator (: / | #), such as \"acme-hris:\""))]
    #[schemars(length(max = bounds::PREFIX))]
    pub external_id_prefix: String,

    /// How existing target users are found for an employee, tried in order, case-insensitive.
    /// An unmanaged user found by email is adopted (it gets this connection's externalId).
    #[serde(default = "default_matching")]
    #[schemars(length(min = 1, max = bounds::MATCH_KEYS))]
    pub matching: Vec<MatchKey>,

    /// Which of an employee's addresses becomes the user's email.
    #[serde(default)]
    pub emails: EmailPolicy,

    /// Values used when the HR record has none.
    #[serde(default)]
    pub defaults: Defaults,

    /// Extra attributes to sync, beyond the standard fields (names, email, externalId,
    /// preferred language, active, manager). Unmapped HR fields are not synced.
    #[serde(default)]
    #[schemars(length(max = bounds::ATTRIBUTE_MAPPINGS))]
    pub attribute_mapping: Vec<AttributeMapping>,

    /// Which employees are in scope. Entries are ANDed; Include/Exclude values compare
    /// case-insensitively. Managed users dropped by a filter are handled as absent users.
    #[serde(default)]
    #[schemars(length(max = bounds::FILTERS))]
    pub filters: Vec<Filter>,

    /// Joiner, mover and leaver rules.
    #[serde(default)]
    pub lifecycle: Lifecycle,

    /// Kinds of writes this connection may perform (for example create-only).
    #[serde(default)]
    pub operations: Operations,

    /// Limits that withhold removals when a plan would remove too many users.
    #[serde(default)]
    pub safeguards: Safeguards,

    /// Where people are told about runs: Slack, Microsoft Teams, a CloudEvents webhook or
    /// email, each with the events it takes. The sync Job sends them at the end of a run;
    /// a delivery that still fails after its retries is reported (Event `NotificationFailed`)
    /// and never changes the run's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::NOTIFICATIONS))]
    pub notifications: Vec<NotificationChannel>,

    /// When runs happen, and the time zone lifecycle dates are evaluated in.
    #[serde(default)]
    pub schedule: Schedule,

    /// Settings of the sync Job the operator starts for each run.
    #[serde(default)]
    pub job: JobSettings,

    /// How many finished Jobs and reports are kept.
    #[serde(default)]
    pub history_limits: HistoryLimits,
}

/// What the operator does with a connection.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Mode {
    /// Plan on schedule and after every spec change; never write to the target.
    #[default]
    Simulate,
    /// Apply the plan on schedule.
    Active,
    /// Run nothing.
    Deactivated,
}

/// The HR system to read. Exactly one key must be set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SourceSpec {
    /// A CSV file, read from a file, a ConfigMap or a Secret: a header of canonical field names
    /// (see the README), or an HR system's or spreadsheet's export read through `fieldMap`,
    /// `dateFormats` and `encoding`.
    Csv(Box<CsvSource>),
    /// Merge's unified HRIS API (one API over 60+ HR systems).
    Merge(Box<MergeSource>),
    /// BambooHR, read through its datasets API.
    BambooHr(Box<BambooHrSource>),
    /// Personio (API v1, with the token exchange).
    Personio(Box<PersonioSource>),
    /// HiBob, read with one people search.
    HiBob(Box<HiBobSource>),
    /// AFAS Profit, read through a GetConnector.
    Afas(Box<AfasSource>),
    /// Workday, read from a RaaS (Report-as-a-Service) custom report in JSON.
    Workday(Box<WorkdaySource>),
    /// Microsoft Entra ID users, of the whole tenant, of groups or listed, read through
    /// Microsoft Graph.
    MicrosoftGraph(Box<MicrosoftGraphSource>),
    /// Google Workspace users, of the whole account, of organizational units or of groups,
    /// read through the Admin SDK Directory API.
    GoogleWorkspace(Box<GoogleWorkspaceSource>),
    /// The members of a Slack workspace, all of them or those of channels, read through
    /// Slack's Web API with a bot token.
    Slack(Box<SlackSource>),
}

/// A CSV file of employees. Set exactly one of `path`, `configMapRef`, `secretRef`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("[has(self.path), has(self.configMapRef), has(self.secretRef)].filter(x, x).size() == 1").message("csv takes exactly one of path, configMapRef, secretRef")
)]
pub struct CsvSource {
    /// Path of the CSV file. A relative path resolves against the manifest's directory. In the
    /// cluster, use `configMapRef` or `secretRef` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::PATH))]
    pub path: Option<String>,
    /// A key of a ConfigMap in the connection's namespace holding the CSV document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ConfigMapKeyRef>,
    /// A key of a Secret in the connection's namespace holding the CSV document (use this when
    /// the file holds personal data, which it usually does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
    /// Field delimiter, a single ASCII character.
    #[serde(default = "default_delimiter")]
    #[schemars(length(min = 1, max = 1))]
    pub delimiter: String,
    /// Which column of the file feeds which canonical field, for an export whose header is not
    /// in canonical names (`{id: "Employee #", firstName: "First Name", startDate: "Hire
    /// Date", customFields: {costCenter: "Cost Center"}}`). A canonical field left out keeps
    /// its canonical column name; an empty string reads nothing for it. A column named here
    /// must be in the header, or the whole file fails naming the entry. `statusValues` maps the
    /// file's status words (case-insensitive) to Active, Pending, Leave or Inactive; a row with
    /// a word that is neither mapped nor one of those four is reported and left unread. Once
    /// the map names a column, header columns that feed nothing are ignored; without one,
    /// every column must be a canonical name.
    #[serde(default)]
    pub field_map: FieldMap,
    /// Formats of the start and end dates, tried in order: `YYYY` (four digits), `MM` and `DD`
    /// (two digits), `M` and `D` (one or two digits), joined by the separators `-`, `/`, `.`,
    /// `,` or a space, such as `MM/DD/YYYY` or `DD.MM.YYYY`. A date that two formats read as
    /// different days (03/04/2026 under `MM/DD/YYYY` and `DD/MM/YYYY`) is ambiguous and
    /// reported, never guessed; so is a date no format reads. Default `[YYYY-MM-DD]`.
    #[serde(default = "default_date_formats")]
    #[x_kube(validation = kube::core::Rule::new("self.all(f, f.matches('^(YYYY|MM?|DD?|[-/., ])+$') && !f.matches('YYYYY|MMM|DDD') && f.contains('YYYY') && f.contains('M') && f.contains('D'))").message("dateFormats take the tokens YYYY, MM, M, DD and D between the separators - / . , or a space, such as MM/DD/YYYY"))]
    #[schemars(
        length(min = 1, max = bounds::DATE_FORMATS),
        inner(length(min = 1, max = bounds::DATE_FORMAT))
    )]
    pub date_formats: Vec<String>,
    /// Character encoding of the file. A byte order mark overrides it: a file starting with a
    /// UTF-16 mark is read as UTF-16 and one with a UTF-8 mark as UTF-8, whatever is set here.
    /// UTF-8 with a byte that is not UTF-8 fails the whole file, naming the line.
    #[serde(default)]
    pub encoding: CsvEncoding,
    /// Employee id whose row `hris-operator fields` shows as the example (default: the first
    /// row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Character encoding of a CSV file.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CsvEncoding {
    /// UTF-8, with or without a byte order mark.
    #[default]
    #[serde(rename = "UTF-8")]
    Utf8,
    /// UTF-16, little- or big-endian as the file's byte order mark says (the mark is
    /// required); what Excel's "Unicode Text" writes.
    #[serde(rename = "UTF-16")]
    Utf16,
    /// Windows-1252, what Excel's "CSV (Comma delimited)" writes on Western-European and
    /// American Windows.
    #[serde(rename = "Windows-1252")]
    Windows1252,
    /// ISO-8859-1 (Latin-1): every byte is the character of the same number.
    #[serde(rename = "ISO-8859-1")]
    Iso8859_1,
}

fn default_date_formats() -> Vec<String> {
    vec!["YYYY-MM-DD".into()]
}

/// A key of a ConfigMap in the connection's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ConfigMapKeyRef {
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub name: String,
    /// Key inside the ConfigMap.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub key: String,
}

/// Merge HRIS: `GET /employees` with cursor paging (page size 100).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeSource {
    /// Secret key holding the Merge API key (sent as `Authorization: Bearer`).
    pub api_key_secret_ref: SecretKeyRef,
    /// Secret key holding the linked account token (sent as `X-Account-Token`).
    pub account_token_secret_ref: SecretKeyRef,
    /// API base URL. Default `https://api.merge.dev/api/hris/v1`; use
    /// `https://api-eu.merge.dev/api/hris/v1` or `https://api-ap.merge.dev/api/hris/v1` for the
    /// EU or APAC regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: Option<String>,
    /// Most requests a second. Merge allows 100, 400 or 600 requests a minute per linked
    /// account depending on the plan; the default (1.66) fits the smallest plan. Raise it to
    /// 6.66 or 10 on the larger plans.
    #[serde(default = "default_merge_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_source_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_source_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Merge employee id whose record `hris-operator fields` shows as the example (custom
    /// fields that are empty for most people are often left out of other records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// BambooHR: the `employee` dataset (`POST /api/v2/datasets/employee/data`, 1,000 a page).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BambooHrSource {
    /// The company's BambooHR subdomain: `acme` for `acme.bamboohr.com`.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub company_domain: String,
    /// Secret key holding the API key (sent as the HTTP Basic user name, password `x`).
    pub credentials_secret_ref: SecretKeyRef,
    /// API base URL, the part before `/api/v1`. Default `https://{companyDomain}.bamboohr.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: Option<String>,
    /// Custom fields to read: canonical custom field name (a dotted name makes a nested
    /// object) → BambooHR field name, such as `costCenter: customCostCenter`. List the names
    /// with `hris-operator fields`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// Most requests a second (BambooHR publishes no figure; it throttles with 503, or 429 and
    /// Retry-After, which are honoured).
    #[serde(default = "default_bamboo_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_source_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 503, other 5xx and timeouts.
    #[serde(default = "default_source_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Employee id whose record `hris-operator fields` shows as the example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Personio API v1: `POST /v1/auth` for a token, then `GET /v1/company/employees` (100 a page).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonioSource {
    /// Secret key holding the API client id.
    pub client_id_secret_ref: SecretKeyRef,
    /// Secret key holding the API client secret.
    pub client_secret_secret_ref: SecretKeyRef,
    /// API base URL. Default `https://api.personio.de`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: Option<String>,
    /// Custom attributes to read: canonical custom field name (a dotted name makes a nested
    /// object) → Personio attribute key, such as `costCenter: dynamic_1234567`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// A custom attribute holding the private email address (Personio's standard `email` is
    /// the work address), such as `dynamic_7654321`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::ID))]
    pub personal_email_attribute: Option<String>,
    /// Most requests a second. Personio allows 300 employee requests a minute.
    #[serde(default = "default_personio_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_source_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_source_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Employee id whose record `hris-operator fields` shows as the example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// HiBob: one `POST /people/search` with `showInactive: true` (HiBob does not page).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HiBobSource {
    /// The service user's id (HTTP Basic user name).
    #[schemars(length(min = 1, max = bounds::ID))]
    pub service_user_id: String,
    /// Secret key holding the service user's token (HTTP Basic password).
    pub token_secret_ref: SecretKeyRef,
    /// API base URL. Default `https://api.hibob.com/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: Option<String>,
    /// Custom fields to read: canonical custom field name (a dotted name makes a nested
    /// object) → HiBob field path, such as `costCenter: custom.payroll.costCenter`. The service
    /// user needs permission to read them: HiBob silently drops fields it may not read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// Most requests a second. HiBob allows 50 requests a minute.
    #[serde(default = "default_hibob_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried). The one search returns everyone,
    /// so allow for a large company.
    #[serde(default = "default_single_call_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_source_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Employee id whose record `hris-operator fields` shows as the example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// AFAS Profit: a GetConnector read with skip/take.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AfasSource {
    /// The environment id: `12345` for `https://12345.rest.afas.online`.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub environment_id: String,
    /// Secret key holding the app connector token: the whole `<token><version>1</version>
    /// <data>…</data></token>` XML (it is sent base64-encoded as `AfasToken`).
    pub token_secret_ref: SecretKeyRef,
    /// Id of the GetConnector listing the employees.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub get_connector: String,
    /// Which GetConnector column feeds which canonical field (columns are defined per
    /// customer). A column named here for a canonical field, and the id and name columns even
    /// as defaults, must be in at least one row, or the run fails before planning.
    #[serde(default)]
    pub field_map: FieldMap,
    /// API base URL, the part before `/connectors`. Default
    /// `https://{environmentId}.rest.afas.online/profitrestservices`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: Option<String>,
    /// Rows a page (AFAS has no documented maximum; large pages are slow to build).
    #[serde(default = "default_afas_page_size")]
    #[schemars(range(min = 1, max = 10000))]
    pub page_size: u32,
    /// Most requests a second (AFAS publishes no figure; 503 is retried).
    #[serde(default = "default_afas_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_source_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_source_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Employee id (the value of the `id` column) whose row `hris-operator fields` shows as
    /// the example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Workday: a RaaS custom report in JSON (`?format=json`), read in one call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkdaySource {
    /// Workday host, such as `wd2-impl-services1.workday.com`.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub host: String,
    /// Tenant name.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub tenant: String,
    /// User name of the report owner (the path segment after the tenant).
    #[schemars(length(min = 1, max = bounds::ID))]
    pub report_owner: String,
    /// Name of the custom report.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub report_name: String,
    /// The integration system user (HTTP Basic user name), such as `ISU_HRIS@acme`.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub username: String,
    /// Secret key holding the integration system user's password.
    pub password_secret_ref: SecretKeyRef,
    /// Which report column feeds which canonical field (columns are named by the report). A
    /// column named here for a canonical field, and the id and name columns even as defaults,
    /// must be in at least one entry, or the run fails before planning.
    #[serde(default)]
    pub field_map: FieldMap,
    /// Base URL, the part before `/{reportOwner}/{reportName}`. Default
    /// `https://{host}/ccx/service/customreport2/{tenant}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: Option<String>,
    /// Most requests a second.
    #[serde(default = "default_workday_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before the report request is abandoned (and retried). A report of everyone
    /// can take minutes to run.
    #[serde(default = "default_single_call_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_source_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Employee id (the value of the `id` column) whose row `hris-operator fields` shows as
    /// the example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Column names of a customer-defined table (an AFAS GetConnector, a Workday report, a CSV
/// export) for each canonical field. An unset field uses the source's default column (see the
/// README); an empty string reads nothing for that field. A column named here for a canonical
/// field, and the id, first and last name columns even as defaults, must be in at least one
/// record of the fetch (for CSV: in the header), or the run fails before planning (a misspelt
/// or dropped column would otherwise give everyone an empty value).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldMap {
    /// Column of the employee id (required in every row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub id: Option<String>,
    /// Column of the employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub employee_number: Option<String>,
    /// Column of the first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub first_name: Option<String>,
    /// Column of the last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub last_name: Option<String>,
    /// Column of the preferred name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub preferred_name: Option<String>,
    /// Column of the work email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub work_email: Option<String>,
    /// Column of the private email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub personal_email: Option<String>,
    /// Column of the employment status. Values are read with `statusValues`, then as
    /// Active/Pending/Leave/Inactive; with no status column the status follows the dates
    /// (Pending before the start date, Inactive after the end date, Active otherwise). A CSV
    /// needs a status column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub employment_status: Option<String>,
    /// Column of the start date: YYYY-MM-DD, optionally followed by a time or offset (for CSV,
    /// in one of `dateFormats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub start_date: Option<String>,
    /// Column of the end date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub end_date: Option<String>,
    /// Column of the manager's employee id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub manager_id: Option<String>,
    /// Column of the department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub department: Option<String>,
    /// Column of the job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub title: Option<String>,
    /// Column of the work location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub location: Option<String>,
    /// Column of the preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub preferred_language: Option<String>,
    /// Column of the work phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub work_phone: Option<String>,
    /// Column of the mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub mobile_phone: Option<String>,
    /// Column of the private home phone number (personal data: read into reports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub home_phone: Option<String>,
    /// Columns of the work address's parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_address: Option<AddressColumns>,
    /// Columns of the home address's parts (personal data: read into reports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_address: Option<AddressColumns>,
    /// Custom fields: canonical custom field name (a dotted name makes a nested object) →
    /// column.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// Status values of the status column (matched case-insensitively) and the status each
    /// means, such as `{"In dienst": Active, "Uit dienst": Inactive}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = bounds::STATUS_VALUES))]
    pub status_values: BTreeMap<String, SourceStatus>,
}

/// The columns of an address's parts; a part left out has no column.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressColumns {
    /// Column of the street and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub street: Option<String>,
    /// Column of the city or town.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub locality: Option<String>,
    /// Column of the state, province or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub region: Option<String>,
    /// Column of the postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub postal_code: Option<String>,
    /// Column of the country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub country: Option<String>,
}

/// An employment status, as a field map's `statusValues` names it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SourceStatus {
    /// Employed and working.
    Active,
    /// Hired, not started yet.
    Pending,
    /// On leave.
    Leave,
    /// Left the company.
    Inactive,
}

fn default_merge_rate() -> f64 {
    100.0 / 60.0
}

fn default_bamboo_rate() -> f64 {
    5.0
}

fn default_personio_rate() -> f64 {
    5.0
}

fn default_hibob_rate() -> f64 {
    50.0 / 60.0
}

fn default_afas_rate() -> f64 {
    10.0
}

fn default_workday_rate() -> f64 {
    1.0
}

fn default_afas_page_size() -> u32 {
    1000
}

fn default_source_timeout() -> u32 {
    30
}

fn default_single_call_timeout() -> u32 {
    300
}

fn default_source_tries() -> u32 {
    5
}

/// The directory to provision into. Exactly one key must be set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TargetSpec {
    /// A SCIM 2.0 service provider (Slack, GitHub, Zoom, Atlassian, and most SaaS apps).
    Scim(Box<ScimTarget>),
    /// A local JSON file acting as a user directory, for demos and tests.
    File(FileTarget),
    /// Microsoft Entra ID (Azure AD) users through Microsoft Graph.
    MicrosoftGraph(Box<MicrosoftGraphTarget>),
    /// Google Workspace users through the Admin SDK Directory API.
    GoogleWorkspace(Box<GoogleWorkspaceTarget>),
}

/// A SCIM 2.0 service provider. Set exactly one of `credentialsSecretRef`, `basic`, `oauth2`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("[has(self.credentialsSecretRef), has(self.basic), has(self.oauth2)].filter(x, x).size() == 1").message("scim takes exactly one of credentialsSecretRef (bearer token), basic, oauth2")
)]
pub struct ScimTarget {
    /// Base URL of the SCIM API, the part before `/Users`, such as
    /// `https://api.example.com/scim/v2`.
    #[schemars(length(min = 1, max = bounds::URL))]
    pub base_url: String,
    /// Secret key holding a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<SecretKeyRef>,
    /// HTTP Basic credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuth>,
    /// OAuth2 client credentials; the token is cached and renewed before it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2ClientCredentials>,
    /// Most requests a second sent to this provider (decimals allowed, such as 0.27 for 1,000
    /// an hour). The default suits the strictest common providers (Slack: 600 writes a minute).
    #[serde(default = "default_scim_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Most requests in flight at once.
    #[serde(default = "default_scim_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub max_concurrency: u32,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_scim_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_scim_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because credentials and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Switches for providers that depart from RFC 7644.
    #[serde(default)]
    pub quirks: ScimQuirks,
}

/// Provider departures from RFC 7644.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimQuirks {
    /// Send PATCH op names capitalised (`Replace`, `Remove`).
    #[serde(default)]
    pub capitalized_patch_ops: bool,
    /// Send booleans as the strings "True"/"False" (string booleans are always accepted).
    #[serde(default)]
    pub booleans_as_strings: bool,
    /// The provider's DELETE only deactivates (as Slack's does): deactivations are sent as
    /// DELETE and users are never deleted, only deactivated.
    #[serde(default)]
    pub delete_deactivates: bool,
    /// The provider has no PATCH (whatever it advertises): changes are sent as PUT of the whole
    /// user.
    #[serde(default)]
    pub no_patch: bool,
}

/// HTTP Basic credentials for a SCIM provider.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    /// User name.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub username: String,
    /// Secret key holding the password.
    pub password_secret_ref: SecretKeyRef,
}

/// OAuth2 client-credentials grant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2ClientCredentials {
    /// Token endpoint URL.
    #[schemars(length(min = 1, max = bounds::URL))]
    pub token_url: String,
    /// Client id.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub client_id: String,
    /// Secret key holding the client secret.
    pub client_secret_secret_ref: SecretKeyRef,
    /// Scope to request, if the provider needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::VALUE))]
    pub scope: Option<String>,
}

/// The default largest answer a connector reads: far above any page a directory or HR API
/// sends, far below what would strain the process.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// The default of every connector's `maxResponseBytes`.
pub fn default_max_response_bytes() -> u64 {
    DEFAULT_MAX_RESPONSE_BYTES
}

fn default_scim_rate() -> f64 {
    10.0
}

fn default_scim_concurrency() -> u32 {
    4
}

fn default_scim_timeout() -> u32 {
    30
}

fn default_scim_tries() -> u32 {
    5
}

/// A JSON file holding a user directory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileTarget {
    /// Path of the JSON directory file. A relative path resolves against the manifest's
    /// directory. A missing file is an empty directory.
    #[schemars(length(min = 1, max = bounds::PATH))]
    pub path: String,
}

/// A key of a Secret in the connection's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub key: String,
}

/// A way to find an existing target user for an employee.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MatchKey {
    /// The user's externalId equals `externalIdPrefix` + the employee id.
    ExternalId,
    /// The user's userName or email equals the employee's chosen email.
    Email,
}

fn default_matching() -> Vec<MatchKey> {
    vec![MatchKey::ExternalId, MatchKey::Email]
}

fn default_delimiter() -> String {
    ",".into()
}

/// Kind of an employee's email address in the HR system.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum EmailType {
    /// The address the HR system marks as primary.
    Primary,
    /// A work address.
    Work,
    /// A secondary work address.
    Secondary,
    /// A private address.
    Personal,
    /// Any other address.
    Other,
}

impl EmailType {
    /// Every type, in the default priority order.
    pub const ALL: [EmailType; 5] = [
        EmailType::Primary,
        EmailType::Work,
        EmailType::Secondary,
        EmailType::Personal,
        EmailType::Other,
    ];
}

/// How the user's email is chosen from the employee's addresses.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailPolicy {
    /// Address types in order of preference; the first present one is used. Types not listed
    /// are never used.
    #[serde(default = "default_email_priority")]
    #[schemars(length(min = 1, max = bounds::EMAIL_TYPES))]
    pub priority: Vec<EmailType>,
    /// Whether a Personal address may be chosen. When false, an employee with only a personal
    /// address is reported, not created.
    #[serde(default = "default_true")]
    pub include_personal: bool,
}

impl Default for EmailPolicy {
    fn default() -> Self {
        Self {
            priority: default_email_priority(),
            include_personal: true,
        }
    }
}

fn default_email_priority() -> Vec<EmailType> {
    EmailType::ALL.to_vec()
}

fn default_true() -> bool {
    true
}

/// Values used when an HR record has none.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Defaults {
    /// Preferred language (for example `en` or `sv-SE`) for employees without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::LANGUAGE))]
    pub preferred_language: Option<String>,
}

/// One HR field synced into one target attribute.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMapping {
    /// Canonical HR field, as `hris-operator fields` lists them under FEEDS: `id`,
    /// `employeeNumber`, `firstName`, `lastName`, `preferredName`, `email` (the address
    /// `emails.priority` picks), `primaryEmail`, `workEmail`, `secondaryEmail`, `personalEmail`,
    /// `otherEmail` (the address of that type), `employmentStatus`, `startDate`, `endDate`,
    /// `managerId`, `department`, `title`, `location`, `preferredLanguage`, or a dotted path into
    /// custom fields such as `customFields.costCenter` or `customFields.address.city`.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub from: String,
    /// Target attribute name, as the target understands it (for SCIM, for example
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`).
    #[schemars(length(min = 1, max = bounds::ID))]
    pub to: String,
    /// Value aliases: an HR value (matched case-insensitively) and the value written instead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::ALIASES }, { bounds::VALUE }>)]
    pub aliases: BTreeMap<String, String>,
    /// The field may be empty for every employee (for example a field HR fills in later);
    /// without it a field that no employee carries fails the run, as a misspelt name or a lost
    /// permission would otherwise clear the attribute for everyone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// An employee filter. Include/Exclude take `values`; date operators take one `date`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("self.operator in ['Include', 'Exclude'] ? (has(self.values) && size(self.values) > 0 && !has(self.date)) : (has(self.date) && !has(self.values))").message("Include and Exclude filters take a non-empty values list; date filters (Before, OnOrBefore, After, OnOrAfter) take exactly one date and no values")
)]
pub struct Filter {
    /// Canonical HR field to test (see attributeMapping.from for the names).
    #[schemars(length(min = 1, max = bounds::ID))]
    pub field: String,
    /// `Include` keeps only employees whose field equals one of `values`; `Exclude` drops
    /// them; `Before`/`OnOrBefore`/`After`/`OnOrAfter` compare a date field with `date`.
    pub operator: FilterOperator,
    /// Values for Include/Exclude, compared case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::FILTER_VALUES), inner(length(max = bounds::VALUE)))]
    pub values: Option<Vec<String>>,
    /// The date (YYYY-MM-DD) a date operator compares with. Employees without the date are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date"))]
    pub date: Option<String>,
}

/// Operator of a filter.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum FilterOperator {
    /// Keep only employees whose value is listed.
    Include,
    /// Drop employees whose value is listed.
    Exclude,
    /// Keep employees whose date is before `date`.
    Before,
    /// Keep employees whose date is on or before `date`.
    OnOrBefore,
    /// Keep employees whose date is after `date`.
    After,
    /// Keep employees whose date is on or after `date`.
    OnOrAfter,
}

impl FilterOperator {
    /// Whether the operator compares dates.
    pub fn is_date(self) -> bool {
        !matches!(self, FilterOperator::Include | FilterOperator::Exclude)
    }
}

/// Joiner, mover and leaver rules, evaluated on one date in `schedule.timeZone`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// What happens to the user of an employee whose status is Inactive or whose end date has
    /// passed.
    #[serde(default = "default_inactive_users")]
    pub inactive_users: RemovalAction,
    /// What happens to managed users whose employee is no longer in the source (or is now
    /// dropped by a filter).
    #[serde(default = "default_absent_users")]
    pub absent_users: RemovalAction,
    /// When a new employee's user becomes active.
    #[serde(default)]
    pub activation: Activation,
    /// Create users this many days before their start date, inactive until activation.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub pre_hire_days: u32,
    /// When a deactivated leaver's user is deleted, counted from the end date.
    #[serde(default)]
    pub removal: Removal,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            inactive_users: default_inactive_users(),
            absent_users: default_absent_users(),
            activation: Activation::default(),
            pre_hire_days: 0,
            removal: Removal::default(),
        }
    }
}

fn default_inactive_users() -> RemovalAction {
    RemovalAction::Deactivate
}

fn default_absent_users() -> RemovalAction {
    RemovalAction::Deactivate
}

/// What to do with a user whose employee left.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RemovalAction {
    /// Set the user inactive (and delete it later per `removal`).
    Deactivate,
    /// Delete the user at once.
    Delete,
    /// Leave the user as it is.
    Ignore,
}

/// When a new employee's user becomes active.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    /// Months after the start date at which the user becomes active (0: on the start date).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub after_start_months: u32,
}

/// When a leaver's user is deleted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("self.policy == 'AfterMonths' ? has(self.months) : !has(self.months)").message("removal.months is required with policy AfterMonths and not allowed otherwise")
)]
pub struct Removal {
    /// `Immediately`: delete once the employee has left; `AfterMonths`: delete `months` after
    /// the end date; `Never`: only deactivate.
    #[serde(default = "default_removal_policy")]
    pub policy: RemovalPolicy,
    /// Months after the end date, with policy AfterMonths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub months: Option<u32>,
}

impl Default for Removal {
    fn default() -> Self {
        Self {
            policy: default_removal_policy(),
            months: None,
        }
    }
}

fn default_removal_policy() -> RemovalPolicy {
    RemovalPolicy::Never
}

/// When a leaver's user is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RemovalPolicy {
    /// Delete as soon as the employee has left.
    Immediately,
    /// Delete `months` after the end date.
    AfterMonths,
    /// Never delete; deactivate only.
    Never,
}

/// Kinds of writes the connection may perform.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operations {
    /// Create users for joiners.
    #[serde(default = "default_true")]
    pub create: bool,
    /// Update changed attributes, adopt matched users and reactivate rehires.
    #[serde(default = "default_true")]
    pub update: bool,
    /// Deactivate leavers and absent users.
    #[serde(default = "default_true")]
    pub deactivate: bool,
    /// Delete users.
    #[serde(default = "default_true")]
    pub delete: bool,
}

impl Default for Operations {
    fn default() -> Self {
        Self {
            create: true,
            update: true,
            deactivate: true,
            delete: true,
        }
    }
}

/// Limits on each kind of change in one run. A guard trips when its changes exceed `maxPercent`
/// of its base or `maxCount`; the changes of every tripped guard are withheld together (all other
/// changes still go), the run ends `Withheld`, and approving its plan hash with the
/// `hris-operator.io/approve-plan` annotation lets exactly that plan through. The defaults let an
/// ordinary day through and stop a broken export: removals 20 % of active managed users,
/// sign-in identity changes 10 %, reactivations 10 %, attribute clears 20 % per attribute, and no
/// limit on creates (so the first sync of a connection can create everyone).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Safeguards {
    /// Deactivations plus deletions, against the managed users that are active (deletions of
    /// already deactivated users also count against all managed users). Default: 20 %.
    #[serde(default = "Guard::removals")]
    pub removals: Guard,
    /// Changes of an existing user's email or login, or adoptions that replace an externalId
    /// linking the user elsewhere, against the managed users. A move from a work address to a
    /// personal one always needs approval. Default: 10 %.
    #[serde(default = "Guard::identity_changes")]
    pub identity_changes: Guard,
    /// Deactivated users made active again, against the managed users. Default: 10 %.
    #[serde(default = "Guard::reactivations")]
    pub reactivations: Guard,
    /// A mapped attribute going from a value to empty, per attribute, against the managed
    /// users. Default: 20 %.
    #[serde(default = "Guard::attribute_clears")]
    pub attribute_clears: Guard,
    /// New users, against the managed users. Off unless set (a first sync creates everyone).
    #[serde(default)]
    pub creates: Guard,
    /// The most active users the target may hold: the seats or licenses the company has. Every
    /// active user of the target counts, whether this connection manages it or not (as
    /// licenses count them); inactive users do not. Creates of active users and reactivations
    /// that would pass it are not attempted: the employees with the earliest start dates get
    /// the free seats (ties by employee id, a missing start date last), and the rest are
    /// listed in skipped.csv with reason `SeatLimit` and set the `LicenseLimitExceeded`
    /// condition. Deactivations and deletions of active users in the same run free their
    /// seats first. No approval lets a run pass it. Unset: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub seat_limit: Option<u32>,
    /// Deprecated: use `removals.maxPercent`. Kept so older manifests still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_delete_percent: Option<u32>,
    /// Deprecated: use `removals.maxCount` (here 0 meant no count limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_delete_count: Option<u32>,
    /// After a spec change, an Active connection simulates first and applies only once that
    /// plan's hash is approved with the `hris-operator.io/approve-plan` annotation.
    #[serde(default)]
    pub require_simulation_approval: bool,
}

impl Default for Safeguards {
    fn default() -> Self {
        Self {
            removals: Guard::removals(),
            identity_changes: Guard::identity_changes(),
            reactivations: Guard::reactivations(),
            attribute_clears: Guard::attribute_clears(),
            creates: Guard::default(),
            seat_limit: None,
            max_delete_percent: None,
            max_delete_count: None,
            require_simulation_approval: false,
        }
    }
}

/// The limits of one safeguard. A guard with neither set never trips.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Guard {
    /// Trip when the changes exceed this percentage of the guard's base (0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_percent: Option<u32>,
    /// Trip when the changes exceed this count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_count: Option<u32>,
}

impl Guard {
    fn percent(max_percent: u32) -> Guard {
        Guard {
            max_percent: Some(max_percent),
            max_count: None,
        }
    }

    fn removals() -> Guard {
        Guard::percent(20)
    }

    fn identity_changes() -> Guard {
        Guard::percent(10)
    }

    fn reactivations() -> Guard {
        Guard::percent(10)
    }

    fn attribute_clears() -> Guard {
        Guard::percent(20)
    }
}

/// When runs happen. Set `cron` or `interval`, not both; `startAt` anchors an interval.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("!(has(self.cron) && has(self.interval))").message("schedule takes cron or interval, not both")
)]
#[x_kube(
    validation = kube::core::Rule::new("!(has(self.cron) && has(self.startAt))").message("startAt anchors an interval and does not apply to cron: remove startAt, or write the start into the cron expression (such as \"0 2,8,14,20 * * *\")").field_path(".startAt")
)]
#[x_kube(
    validation = kube::core::Rule::new("!has(self.startAt) || has(self.interval) || has(self.cron)").message("startAt needs an interval to anchor, such as interval: 6h").field_path(".startAt")
)]
#[x_kube(
    validation = kube::core::Rule::new("!has(self.startAt) || size(self.startAt) != 5 || !has(self.interval) || duration(self.interval) <= duration('24h')").message("a time of day in startAt starts the count again every day, so interval must be 24h or less; for a longer interval give a date and time, such as 2026-01-05T02:00").field_path(".startAt")
)]
pub struct Schedule {
    /// Cron expression (5 fields, or a macro such as `@daily`), evaluated in `timeZone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^(@[a-z]+|[^ ]+( +[^ ]+){4})$')").message("cron takes 5 fields (minute hour day-of-month month day-of-week), such as \"0 3 * * *\", or a macro such as @daily"))]
    #[schemars(length(max = bounds::CRON))]
    pub cron: Option<String>,
    /// Fixed interval between runs, such as `24h` or `90m`. Without `startAt` the count starts
    /// when the connection is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    #[schemars(length(max = bounds::INTERVAL))]
    pub interval: Option<String>,
    /// Where `interval` starts, on the clock of `timeZone`: runs happen at `startAt` + k ×
    /// `interval`. A time of day `HH:MM` (such as `02:00`) starts the count again at that time
    /// every day: with `interval: 6h`, runs happen at 02:00, 08:00, 14:00 and 20:00. An interval
    /// that does not divide 24 hours also starts again at `startAt` each day, so the day's last
    /// run comes less than `interval` before it; with a time of day, `interval` may be at most
    /// 24h. A date and time `YYYY-MM-DDTHH:MM` starts the count once: no scheduled run happens
    /// before it, and runs go on from it across days. A local time that a daylight-saving change
    /// skips runs at the first minute after the gap; one that occurs twice runs once, the first
    /// time. Needs `interval`; not with `cron`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T)?([01][0-9]|2[0-3]):[0-5][0-9]$')").message("startAt takes a time of day HH:MM, such as 02:00, or a date and time YYYY-MM-DDTHH:MM, such as 2026-01-05T02:00"))]
    #[schemars(length(max = bounds::START_AT))]
    pub start_at: Option<String>,
    /// IANA time zone for the cron expression, `startAt` and lifecycle dates, such as
    /// `Europe/Stockholm`.
    #[serde(default = "default_time_zone")]
    #[schemars(length(max = bounds::TIME_ZONE))]
    pub time_zone: String,
    /// Pause scheduled runs (requested runs still happen).
    #[serde(default)]
    pub suspend: bool,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            cron: None,
            interval: None,
            start_at: None,
            time_zone: default_time_zone(),
            suspend: false,
        }
    }
}

fn default_time_zone() -> String {
    "UTC".into()
}

/// Settings of the sync Jobs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobSettings {
    /// Container image of the sync Job; empty uses the operator's own image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = bounds::URL))]
    pub image: String,
    /// ServiceAccount of the sync Job. Empty: `<name>-sync`, which the operator makes with a Role
    /// allowing only to read this connection and write the run's report Secrets. When set, the
    /// operator makes nothing: the account's RBAC is yours (get this HrisConnection; create and
    /// patch its report Secrets).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = bounds::NAME))]
    pub service_account_name: String,
    /// Compute resources of the sync container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = bounds::resources)]
    pub resources: Option<ResourceRequirements>,
    /// Seconds a run may take before it is stopped.
    #[serde(default = "default_active_deadline_seconds")]
    #[schemars(range(min = 1))]
    pub active_deadline_seconds: i64,
    /// Retries of a failed run.
    #[serde(default = "default_backoff_limit")]
    #[schemars(range(min = 0))]
    pub backoff_limit: i32,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            image: String::new(),
            service_account_name: String::new(),
            resources: None,
            active_deadline_seconds: default_active_deadline_seconds(),
            backoff_limit: default_backoff_limit(),
        }
    }
}

fn default_active_deadline_seconds() -> i64 {
    3600
}

fn default_backoff_limit() -> i32 {
    2
}

/// How many finished runs are kept (Jobs and report Secrets).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLimits {
    /// Successful runs kept (at most 10, the runs status remembers).
    #[serde(default = "default_successful_history")]
    #[schemars(range(min = 0, max = 10))]
    pub successful: u32,
    /// Failed runs kept (at most 10).
    #[serde(default = "default_failed_history")]
    #[schemars(range(min = 0, max = 10))]
    pub failed: u32,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            successful: default_successful_history(),
            failed: default_failed_history(),
        }
    }
}

fn default_successful_history() -> u32 {
    3
}

fn default_failed_history() -> u32 {
    1
}

/// The CRD as YAML, exactly as committed in `crds/hrisconnection.yaml`.
pub fn crd_yaml() -> String {
    let crd = HrisConnection::crd();
    serde_saphyr::to_string(&crd).expect("the CRD serializes to YAML")
}
