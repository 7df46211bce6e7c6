//! Spec types of the Microsoft Entra ID (Graph) and Google Workspace targets.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{SecretKeyRef, bounds};

/// Microsoft Entra ID users through Microsoft Graph, with an app registration's client
/// credentials (application permission `User.ReadWrite.All`, admin-consented).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("!has(self.userPrincipalNameTemplate) || (self.userPrincipalNameTemplate.matches('^([^{}]|[{](email|emailLocal|firstName|lastName|firstInitial)[}])*$') && self.userPrincipalNameTemplate.matches('[{][a-zA-Z]+[}]') && (self.userPrincipalNameTemplate.contains('{email}') != self.userPrincipalNameTemplate.contains('@')))").message("userPrincipalNameTemplate takes the placeholders {email}, {emailLocal}, {firstName}, {lastName}, {firstInitial} and yields one @: {email} alone, or a literal @domain such as {firstName}.{lastName}@contoso.com")
)]
pub struct MicrosoftGraphTarget {
    /// The tenant, the app registration and the Graph endpoints.
    #[serde(flatten)]
    pub app: GraphAppRegistration,
    /// How a new user's `userPrincipalName` (sign-in name) is built. Placeholders: `{email}`
    /// (the whole address), `{emailLocal}` (before the @), `{firstName}`, `{lastName}`,
    /// `{firstInitial}`; names are lower-cased and folded to ASCII. Examples: `{email}`,
    /// `{firstName}.{lastName}@contoso.com`. When a name-built UPN is taken, the suffixes 2, 3, …
    /// are tried before the @ (see `uniqueNameTries`); an email-built one that is taken is a
    /// conflict. The UPN is set at creation and follows later email changes only when the
    /// template uses no name placeholder.
    #[serde(default = "default_upn_template")]
    #[schemars(length(min = 3, max = bounds::TEMPLATE))]
    pub user_principal_name_template: String,
    /// Two-letter country code (ISO 3166-1) set as `usageLocation` on new users; Entra ID
    /// needs it before a license can be assigned. A mapping to `usageLocation` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 2))]
    pub usage_location: Option<String>,
    /// Which `onPremisesExtensionAttributes.extensionAttributeN` (1 to 15) holds this
    /// connection's externalId. `employeeId` stays free for an attribute mapping (it is limited
    /// to 16 characters, too short for prefixed ids).
    #[serde(default = "default_extension_attribute")]
    #[schemars(range(min = 1, max = 15))]
    pub external_id_extension_attribute: u32,
    /// Most writes a second (each request inside a `$batch` counts). Graph allows 3,000 writes
    /// per 150 seconds per app and tenant: 20 a second.
    #[serde(default = "default_graph_writes")]
    #[schemars(range(min = 0.01, max = 1000))]
    pub writes_per_second: f64,
    /// Requests per JSON `$batch` (Graph takes at most 20).
    #[serde(default = "default_graph_batch")]
    #[schemars(range(min = 1, max = 20))]
    pub batch_size: u32,
    /// New-user attempts with a suffixed name when a name-built userPrincipalName is taken;
    /// after that the create is reported as a conflict.
    #[serde(default = "default_unique_name_tries")]
    #[schemars(range(min = 1, max = 20))]
    pub unique_name_tries: u32,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request or batch item, the first included, on 429 (after `Retry-After`), 5xx
    /// and timeouts.
    #[serde(default = "default_tries")]
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
}

/// The app registration a Microsoft Graph connector signs in as, with the client-credentials
/// grant, and where: the settings the `microsoftGraph` target and source share.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphAppRegistration {
    /// Directory (tenant) id or a verified domain of the tenant, such as
    /// `contoso.onmicrosoft.com`.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub tenant_id: String,
    /// Application (client) id of the app registration.
    #[schemars(length(min = 1, max = bounds::ID))]
    pub client_id: String,
    /// Secret key holding the app registration's client secret.
    pub client_secret_secret_ref: SecretKeyRef,
    /// Base URL of the identity platform; the token endpoint is
    /// `<authorityUrl>/<tenantId>/oauth2/v2.0/token`. Change it only for national clouds or
    /// an emulator.
    #[serde(default = "default_authority_url")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub authority_url: String,
    /// Base URL of Microsoft Graph including the version, such as
    /// `https://graph.microsoft.com/v1.0`. The token scope is this URL's origin + `/.default`.
    #[serde(default = "default_graph_url")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub graph_url: String,
}

/// Google Workspace users through the Admin SDK Directory API, with a service account that has
/// domain-wide delegation for the scope
/// `https://www.googleapis.com/auth/admin.directory.user`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("self.adminEmail.contains('@')").message("adminEmail must be the email address of a Workspace administrator")
)]
#[x_kube(
    validation = kube::core::Rule::new("!has(self.orgUnitPath) || self.orgUnitPath.startsWith('/')").message("orgUnitPath must start with / (the root is /)")
)]
pub struct GoogleWorkspaceTarget {
    /// The service account, the administrator it acts as, the customer and the endpoints.
    #[serde(flatten)]
    pub account: GoogleServiceAccount,
    /// Organizational unit of new users, such as `/Staff`. A mapping to `orgUnitPath`
    /// overrides it per user.
    #[serde(default = "default_org_unit")]
    #[schemars(length(min = 1, max = bounds::VALUE))]
    pub org_unit_path: String,
    /// `customType` of the `externalIds` entry (type `custom`) holding this connection's
    /// externalId.
    #[serde(default = "default_custom_type")]
    #[schemars(length(min = 1, max = bounds::ID))]
    pub external_id_custom_type: String,
    /// Most requests a second. The Directory API allows 2,400 queries a minute (40 a second);
    /// the default leaves room for other tools using the same project.
    #[serde(default = "default_google_rate")]
    #[schemars(range(min = 0.01, max = 1000))]
    pub requests_per_second: f64,
    /// Most requests in flight at once.
    #[serde(default = "default_google_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub max_concurrency: u32,
    /// Seconds before a request is abandoned (and retried).
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Tries per request, the first included, on 429, 403 `userRateLimitExceeded` /
    /// `quotaExceeded` / `rateLimitExceeded`, 5xx and timeouts.
    #[serde(default = "default_tries")]
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
}

/// The service account a Google Workspace connector acts as, with domain-wide delegation, and
/// where: the settings the `googleWorkspace` target and source share.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GoogleServiceAccount {
    /// Secret key holding the service account's JSON key file (as downloaded from the Google
    /// Cloud console).
    pub service_account_key_secret_ref: SecretKeyRef,
    /// Administrator the service account acts as (the JWT `sub`): one whose admin role may
    /// manage users (target), or read users, and groups for a group scope (source).
    #[schemars(length(min = 3, max = bounds::EMAIL))]
    pub admin_email: String,
    /// Customer id of the Workspace account; `my_customer` means the administrator's own.
    #[serde(default = "default_customer")]
    #[schemars(length(min = 1, max = bounds::ID))]
    pub customer: String,
    /// Token endpoint; by default the key file's `token_uri`
    /// (`https://oauth2.googleapis.com/token`). Set it only for an emulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::URL))]
    pub token_url: Option<String>,
    /// Base URL of the Directory API.
    #[serde(default = "default_directory_url")]
    #[schemars(length(min = 1, max = bounds::URL))]
    pub api_url: String,
}

fn default_authority_url() -> String {
    "https://login.microsoftonline.com".into()
}

fn default_graph_url() -> String {
    "https://graph.microsoft.com/v1.0".into()
}

fn default_upn_template() -> String {
    "{email}".into()
}

fn default_extension_attribute() -> u32 {
    15
}

fn default_graph_writes() -> f64 {
    20.0
}

fn default_graph_batch() -> u32 {
    20
}

fn default_unique_name_tries() -> u32 {
    5
}

fn default_timeout() -> u32 {
    30
}

fn default_tries() -> u32 {
    6
}

fn default_customer() -> String {
    "my_customer".into()
}

fn default_org_unit() -> String {
    "/".into()
}

fn default_custom_type() -> String {
    "hris-operator".into()
}

fn default_directory_url() -> String {
    "https://admin.googleapis.com/admin/directory/v1".into()
}

fn default_google_rate() -> f64 {
    30.0
}

fn default_google_concurrency() -> u32 {
    4
}

/// A parsed `userPrincipalNameTemplate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpnTemplate {
    parts: Vec<UpnPart>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum UpnPart {
    Literal(String),
    Email,
    EmailLocal,
    FirstName,
    LastName,
    FirstInitial,
}

/// The placeholders a `userPrincipalNameTemplate` may use.
pub const UPN_PLACEHOLDERS: &str = "{email}, {emailLocal}, {firstName}, {lastName}, {firstInitial}";

impl UpnTemplate {
    /// Parses a template; the error says what is wrong and how to fix it.
    pub fn parse(template: &str) -> Result<UpnTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(index) if rest.as_bytes()[index] == b'}' => {
                    return Err(format!(
                        "`{template}` has a `}}` without its `{{`; placeholders are {UPN_PLACEHOLDERS}"
                    ));
                }
                Some(index) => {
                    if index > 0 {
                        parts.push(UpnPart::Literal(rest[..index].to_owned()));
                    }
                    let after = &rest[index + 1..];
                    let Some(end) = after.find('}') else {
                        return Err(format!(
                            "`{template}` has an unclosed `{{`; placeholders are {UPN_PLACEHOLDERS}"
                        ));
                    };
                    parts.push(match &after[..end] {
                        "email" => UpnPart::Email,
                        "emailLocal" => UpnPart::EmailLocal,
                        "firstName" => UpnPart::FirstName,
                        "lastName" => UpnPart::LastName,
                        "firstInitial" => UpnPart::FirstInitial,
                        other => {
                            return Err(format!(
                                "`{{{other}}}` is not a placeholder; use {UPN_PLACEHOLDERS}"
                            ));
                        }
                    });
                    rest = &after[end + 1..];
                }
                None => {
                    parts.push(UpnPart::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        let parsed = UpnTemplate { parts };
        if !parsed
            .parts
            .iter()
            .any(|p| !matches!(p, UpnPart::Literal(_)))
        {
            return Err(format!(
                "`{template}` has no placeholder; use {UPN_PLACEHOLDERS}"
            ));
        }
        let literal_at = parsed
            .parts
            .iter()
            .any(|p| matches!(p, UpnPart::Literal(text) if text.contains('@')));
        let whole_email = parsed.parts.contains(&UpnPart::Email);
        if literal_at == whole_email {
            return Err(format!(
                "`{template}` must yield exactly one @: use {{email}} alone or a literal @domain \
                 such as {{firstName}}.{{lastName}}@contoso.com"
            ));
        }
        if literal_at {
            let text: String = parsed
                .parts
                .iter()
                .map(|p| match p {
                    UpnPart::Literal(text) => text.as_str(),
                    _ => "x",
                })
                .collect();
            let (local, domain) = text.split_once('@').unwrap_or_default();
            if local.is_empty() || domain.is_empty() || domain.contains('@') {
                return Err(format!(
                    "`{template}` needs a name before the @ and one domain after it"
                ));
            }
        }
        Ok(parsed)
    }

    /// Whether the template uses a name placeholder (a taken name then gets a numeric suffix).
    pub fn name_based(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                UpnPart::FirstName | UpnPart::LastName | UpnPart::FirstInitial
            )
        })
    }

    /// The userPrincipalName of a person; `suffix` (2, 3, …) goes right before the @.
    pub fn render(&self, email: &str, first: &str, last: &str, suffix: Option<u32>) -> String {
        let local_part = email.split('@').next().unwrap_or_default();
        let mut upn = String::new();
        for part in &self.parts {
            match part {
                UpnPart::Literal(text) => upn.push_str(text),
                UpnPart::Email => upn.push_str(&email.to_lowercase()),
                UpnPart::EmailLocal => upn.push_str(&local_part.to_lowercase()),
                UpnPart::FirstName => upn.push_str(&fold_name(first)),
                UpnPart::LastName => upn.push_str(&fold_name(last)),
                UpnPart::FirstInitial => {
                    upn.push_str(&fold_name(first).chars().take(1).collect::<String>())
                }
            }
        }
        if let Some(suffix) = suffix
            && let Some(at) = upn.rfind('@')
        {
            upn.insert_str(at, &suffix.to_string());
        }
        upn
    }
}

/// A name as UPN text: lower case, common accents folded to ASCII, spaces and other signs
/// dropped (hyphens, dots and underscores are kept).
pub fn fold_name(name: &str) -> String {
    let mut folded = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let ascii: &str = match c {
            'a'..='z' | '0'..='9' | '-' | '.' | '_' => {
                folded.push(c);
                continue;
            }
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' | 'ð' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'œ' => "oe",
            'ř' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ß' => "ss",
            'ť' | 'ţ' => "t",
            'þ' => "th",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => "",
        };
        folded.push_str(ascii);
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_names_folded_and_suffixed() {
        let email_only = UpnTemplate::parse("{email}").unwrap();
        assert!(!email_only.name_based());
        assert_eq!(
            email_only.render("Ada.L@Corp.example", "Ada", "L", None),
            "ada.l@corp.example"
        );
        let names = UpnTemplate::parse("{firstName}.{lastName}@contoso.com").unwrap();
        assert!(names.name_based());
        assert_eq!(
            names.render("x@y", "Åsa", "Öberg Lind", None),
            "asa.oberglind@contoso.com"
        );
        assert_eq!(
            names.render("x@y", "Åsa", "Öberg", Some(2)),
            "asa.oberg2@contoso.com"
        );
        let initial = UpnTemplate::parse("{firstInitial}{lastName}@c.example").unwrap();
        assert_eq!(initial.render("x@y", "Zoë", "Ng", None), "zng@c.example");
        let local = UpnTemplate::parse("{emailLocal}@tenant.onmicrosoft.com").unwrap();
        assert_eq!(
            local.render("Bo@corp.example", "B", "O", None),
            "bo@tenant.onmicrosoft.com"
        );
    }

    #[test]
    fn bad_templates_say_why() {
        let error = |t: &str| UpnTemplate::parse(t).unwrap_err();
        assert!(error("{mail}").contains("`{mail}` is not a placeholder"));
        assert!(error("{firstName").contains("unclosed"));
        assert!(error("user@contoso.com").contains("no placeholder"));
        assert!(error("{firstName}.{lastName}").contains("exactly one @"));
        assert!(error("{email}@contoso.com").contains("exactly one @"));
        assert!(error("{firstName}@").contains("domain after it"));
    }
}
