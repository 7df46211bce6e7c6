//! Which requests a token and an administrator may make. Each Directory API method accepts the
//! scopes its reference lists (reading users: `admin.directory.user` or its read-only form;
//! writing users: `admin.directory.user`; reading groups and members: `admin.directory.group`,
//! `admin.directory.group.member` or their read-only forms); a token without one of them is
//! answered 403 `insufficientPermissions`. The administrator the service account acts as must
//! hold a role that covers the resource, else 403 `forbidden` ("Not Authorized to access this
//! resource/api").

use axum::{http::Method, response::Response};

use super::{GoogleConfig, api_error};

/// The scopes that let a token read users.
const READ_USERS: [&str; 3] = [
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// The scopes that let a token write users.
const WRITE_USERS: [&str; 1] = ["https://www.googleapis.com/auth/admin.directory.user"];
/// The scopes that let a token read groups and their members.
const READ_GROUPS: [&str; 4] = [
    "https://www.googleapis.com/auth/admin.directory.group",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
];

/// The refusal of a request the token's `scopes` or the administrator's role do not cover;
/// `None` when it may go on.
pub(super) fn refused(
    config: &GoogleConfig,
    scopes: &[String],
    method: &Method,
    segments: &[&str],
) -> Option<Response> {
    let (resource, accepted): (&str, &[&str]) = match segments.first().copied() {
        Some("users") if *method == Method::GET => ("users", &READ_USERS),
        Some("users") => ("users", &WRITE_USERS),
        Some("groups") => ("groups", &READ_GROUPS),
        _ => return None,
    };
    if !accepted
        .iter()
        .any(|scope| scopes.iter().any(|s| s == scope))
    {
        return Some(api_error(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        ));
    }
    if !config.admin_privileges.iter().any(|p| p == resource) {
        return Some(api_error(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_needs_a_scope_of_its_method_and_the_admins_role() {
        let users_only = GoogleConfig {
            admin_privileges: vec!["users".into()],
            ..GoogleConfig::new("")
        };
        let everything = GoogleConfig::new("");
        let members = ["groups", "g", "members"].as_slice();
        let users = ["users"].as_slice();
        // (the admin's role, the token's scope, the request, the status it gets)
        for (config, scope, method, path, status) in [
            (&everything, READ_USERS[1], Method::GET, users, None),
            (&everything, READ_USERS[1], Method::POST, users, Some(403)),
            (&everything, READ_USERS[1], Method::GET, members, Some(403)),
            (&everything, READ_GROUPS[1], Method::GET, members, None),
            (&users_only, READ_GROUPS[1], Method::GET, members, Some(403)),
            (&users_only, READ_USERS[1], Method::GET, users, None),
        ] {
            let refused = refused(config, &[scope.to_owned()], &method, path);
            assert_eq!(
                refused.map(|r| r.status().as_u16()),
                status,
                "{scope} {method} {path:?}"
            );
        }
    }
}
