//! Spec types of the sources that read people from a company directory rather than an HR
//! system: Microsoft Entra ID through Microsoft Graph, Google Workspace through the Admin SDK
//! Directory API, and a Slack workspace through Slack's Web API.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::{GoogleServiceAccount, GraphAppRegistration, SecretKeyRef, bounds};

/// Microsoft Entra ID users as employees, read through Microsoft Graph with an app
/// registration's client credentials: application permission `User.Read.All`, and
/// `GroupMember.Read.All` as well for `scope.groups`, both admin-consented.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftGraphSource {
    /// The tenant, the app registration and the Graph endpoints.
    #[serde(flatten)]
    pub app: GraphAppRegistration,
    /// Whose accounts are read: exactly one of `allUsers: true`, `groups` (the users among
    /// the groups' transitive members) or `users` (listed users).
    pub scope: GraphScope,
    /// Also read guests (`userType: Guest`) and accounts without a mailbox (`mail` empty),
    /// which are left out by default: they are rarely employees.
    #[serde(default)]
    pub include_guests: bool,
    /// User properties to read as custom fields: canonical custom field name (a dotted name
    /// makes a nested object) → Graph user property, a dotted path into a complex property,
    /// such as `costCenter: employeeOrgData.costCenter` or `badge:
    /// onPremisesExtensionAttributes.extensionAttribute3`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// Most requests a second. Graph limits directory reads per app and tenant in resource
    /// units per 10 seconds; a page of 999 users costs a few, so the default (10) stays far
    /// below the limit of the smallest tenant. Throttled answers (429) are retried after
    /// their `Retry-After`.
    #[serde(default = "default_graph_read_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_graph_source_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_graph_source_tries")]
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
    #[serde(default = "super::default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Object id or userPrincipalName of the user whose record `hris-operator fields` shows as
    /// the example (default: the first user read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Whose Entra ID accounts a `microsoftGraph` source reads. Exactly one key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("[has(self.allUsers) && self.allUsers, has(self.groups), has(self.users)].filter(x, x).size() == 1").message("scope takes exactly one of allUsers: true, groups, users")
)]
pub struct GraphScope {
    /// Every user of the tenant (`GET /users`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_users: Option<bool>,
    /// Object ids of groups: the users among their members, nested groups' members included
    /// (`GET /groups/{id}/transitiveMembers/microsoft.graph.user`). Devices, service
    /// principals, contacts and the groups themselves are never read. A user in several
    /// groups is read once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.all(g, g.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'))").message("groups take group object ids, such as 0b3c2a4e-9d1f-4c4e-8a55-2f1b7c3d9e01 (the Object ID in the Entra admin center)"))]
    #[schemars(
        length(min = 1, max = bounds::SCOPE_GROUPS),
        inner(length(min = 1, max = bounds::OBJECT_ID))
    )]
    pub groups: Option<Vec<String>>,
    /// Users by object id or userPrincipalName (`GET /users/{id or userPrincipalName}`, one
    /// request each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = bounds::SCOPE_USERS),
        inner(length(min = 1, max = bounds::EMAIL))
    )]
    pub users: Option<Vec<String>>,
}

/// Google Workspace users as employees, read through the Admin SDK Directory API by a service
/// account with domain-wide delegation for the read-only scope
/// `https://www.googleapis.com/auth/admin.directory.user.readonly`, and
/// `https://www.googleapis.com/auth/admin.directory.group.readonly` as well for `scope.groups`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("self.adminEmail.contains('@')").message("adminEmail must be the email address of a Workspace administrator")
)]
pub struct GoogleWorkspaceSource {
    /// The service account, the administrator it acts as, the customer and the endpoints.
    #[serde(flatten)]
    pub account: GoogleServiceAccount,
    /// Whose accounts are read: exactly one of `allUsers: true`, `orgUnits` (the users of
    /// organizational units and their sub-units) or `groups` (the users among the groups'
    /// members, nested groups' members included).
    pub scope: GoogleScope,
    /// User fields to read as custom fields: canonical custom field name (a dotted name makes a
    /// nested object) → a field of the user, a dotted path such as
    /// `customSchemas.Employment.costCenter`; a path into a list names one entry:
    /// `organizations.<field>` the primary organization, `locations.<field>` the desk location,
    /// `languages.<field>` the preferred language (each else the first entry),
    /// `externalIds.<type>` and `relations.<type>` the value of the entry of that type
    /// (`customType` for `custom`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// Most requests a second. The Directory API allows 2,400 queries a minute per project; a
    /// page of 500 users is one query, so the default (10) stays far below it and leaves room
    /// for other tools. Throttled answers (429, and 403 `userRateLimitExceeded`,
    /// `quotaExceeded`, `rateLimitExceeded`) are retried, after their `Retry-After` when they
    /// have one.
    #[serde(default = "default_graph_read_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_graph_source_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on throttled answers, 5xx and timeouts.
    #[serde(default = "default_graph_source_tries")]
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
    #[serde(default = "super::default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Id or primary email of the user whose record `hris-operator fields` shows as the
    /// example (default: the first user read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Whose Google Workspace accounts a `googleWorkspace` source reads. Exactly one key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("[has(self.allUsers) && self.allUsers, has(self.orgUnits), has(self.groups)].filter(x, x).size() == 1").message("scope takes exactly one of allUsers: true, orgUnits, groups")
)]
pub struct GoogleScope {
    /// Every user of the customer (`GET /users?customer=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_users: Option<bool>,
    /// Paths of organizational units, such as `/Sales`: the users of each unit and of every
    /// unit below it (`GET /users?query=orgUnitPath='/Sales'`). A user under two listed units
    /// is read once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.all(p, p.startsWith('/'))").message("orgUnits take paths starting with /, such as /Sales (the root is /)"))]
    #[schemars(
        length(min = 1, max = bounds::SCOPE_GROUPS),
        inner(length(min = 1, max = bounds::VALUE))
    )]
    pub org_units: Option<Vec<String>>,
    /// Email addresses of groups: the users among their members, members of nested groups
    /// included (`GET /groups/{email}/members?includeDerivedMembership=true`). Nested groups
    /// and other members that are not users of the account are never read; a user in several
    /// groups is read once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.all(g, g.contains('@'))").message("groups take group email addresses, such as all-staff@acme.example"))]
    #[schemars(
        length(min = 1, max = bounds::SCOPE_GROUPS),
        inner(length(min = 3, max = bounds::EMAIL))
    )]
    pub groups: Option<Vec<String>>,
}

fn default_graph_read_rate() -> f64 {
    10.0
}

fn default_graph_source_timeout() -> u32 {
    30
}

fn default_graph_source_tries() -> u32 {
    5
}

/// The members of a Slack workspace as employees, read through Slack's Web API with a bot
/// token: scope `users:read`, `users:read.email` for the addresses, and for `scope.channels`
/// `channels:read` (public channels) and `groups:read` (private ones, which the app must be a
/// member of).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlackSource {
    /// Secret key holding the app's Bot User OAuth Token (`xoxb-…`).
    pub bot_token_secret_ref: SecretKeyRef,
    /// Base URL of the Web API, the methods' names appended (`<apiUrl>/users.list`). Change it
    /// only for an emulator or a proxy.
    #[serde(default = "default_slack_api_url")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub api_url: String,
    /// Whose accounts are read: exactly one of `allMembers: true` or `channels` (the members
    /// of these channels).
    pub scope: SlackScope,
    /// Also read guests (multi-channel guests, `is_restricted`, and single-channel guests,
    /// `is_ultra_restricted`), which are left out by default: they are rarely employees. Bots,
    /// apps, workflow bots and Slackbot are never read.
    #[serde(default)]
    pub include_guests: bool,
    /// Member fields to read as custom fields: canonical custom field name (a dotted name
    /// makes a nested object) → a field of the member as `users.list` shows it, a dotted path
    /// into `profile` for the profile's, such as `timeZone: tz` or `displayName:
    /// profile.display_name`. (The workspace's custom profile fields are not in `users.list`.)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = bounds::string_map::<{ bounds::CUSTOM_FIELDS }, { bounds::ID }>)]
    pub custom_fields: BTreeMap<String, String>,
    /// Most requests a second. Slack limits each method per app and workspace by tier:
    /// `users.list` is Tier 2 (20 a minute), `conversations.members` and `users.info` Tier 4
    /// (100 a minute). The default, 20 a minute (1/3), paces every request at Tier 2.
    /// Throttled answers (429) are retried after their `Retry-After`.
    #[serde(default = "default_slack_rate")]
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_slack_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 5xx and timeouts.
    #[serde(default = "default_slack_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub max_tries: u32,
    /// Accept an `http://` URL to a host other than this machine (127.0.0.0/8, ::1,
    /// `localhost`). Without it, such a URL is refused, because the token and personal data
    /// would cross the network unencrypted; set it only for a server on a trusted network,
    /// such as an emulator in the same cluster.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Largest answer read, in bytes (default 64 MiB). A larger answer fails its request
    /// instead of being held in memory; a list or page that fails fails the run before
    /// anything is written.
    #[serde(default = "super::default_max_response_bytes")]
    #[schemars(range(min = 1024))]
    pub max_response_bytes: u64,
    /// Member id (such as `U0123ABCDEF`) of the member whose record `hris-operator fields`
    /// shows as the example (default: the first member read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::ID))]
    pub reference_employee_id: Option<String>,
}

/// Whose Slack accounts a `slack` source reads. Exactly one key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("[has(self.allMembers) && self.allMembers, has(self.channels)].filter(x, x).size() == 1").message("scope takes exactly one of allMembers: true, channels")
)]
pub struct SlackScope {
    /// Every member of the workspace (`users.list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_members: Option<bool>,
    /// Channel ids (`C…`, or `G…` for older private channels): the members of these channels
    /// (`conversations.members`), each read once however many channels hold them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.all(c, c.matches('^[CG][A-Z0-9]+$'))").message("channels take channel ids, such as C0123ABCDEF (channel details → About, at the bottom), not names"))]
    #[schemars(
        length(min = 1, max = bounds::SCOPE_CHANNELS),
        inner(length(min = 1, max = bounds::SLACK_ID))
    )]
    pub channels: Option<Vec<String>>,
}

/// Slack's Web API.
pub fn default_slack_api_url() -> String {
    "https://slack.com/api".into()
}

/// Tier 2: 20 requests a minute.
fn default_slack_rate() -> f64 {
    20.0 / 60.0
}

fn default_slack_timeout() -> u32 {
    30
}

fn default_slack_tries() -> u32 {
    5
}
