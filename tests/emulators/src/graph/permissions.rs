//! Which application permissions each request needs, as Graph's permission tables for the user
//! and group APIs list them (the least privileged and the broader ones that include it). A
//! request the granted permissions do not cover answers 403 `Authorization_RequestDenied`.
//!
//! Known difference: Graph returns the members of a type the app may not read with limited
//! information (only their id and type); this emulator refuses a listing of user members
//! without a permission to read users instead.

use axum::http::Method;

use super::Answer;

/// Reading users: `User.Read.All` or a broader permission.
const READ_USERS: [&str; 4] = [
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Writing users.
const WRITE_USERS: [&str; 2] = ["User.ReadWrite.All", "Directory.ReadWrite.All"];
/// Reading group memberships: `GroupMember.Read.All` or a broader permission.
const READ_MEMBERS: [&str; 5] = [
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
];

/// The refusal of a request `granted` does not cover; `None` when it may go on. `$batch`
/// items are judged one by one, as requests of their own.
pub(super) fn denied(granted: &[String], method: &Method, path: &str) -> Option<Answer> {
    let holds = |any: &[&str]| any.iter().any(|p| granted.iter().any(|g| g == p));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let allowed = match segments.first().copied() {
        Some("groups") => {
            let user_members = segments.len() > 3 && segments[3].ends_with("graph.user");
            holds(&READ_MEMBERS) && (!user_members || holds(&READ_USERS))
        }
        Some("users") if *method == Method::GET => holds(&READ_USERS),
        Some("users") => holds(&WRITE_USERS),
        _ => true,
    };
    (!allowed).then(|| {
        Answer::error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_needs_its_permission() {
        let granted = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let status = |names: &[&str], method: Method, path: &str| {
            denied(&granted(names), &method, path).map(|a| a.status)
        };
        let members = "/groups/g/transitiveMembers/microsoft.graph.user";
        assert_eq!(status(&["User.Read.All"], Method::GET, "/users"), None);
        assert_eq!(status(&["User.Read.All"], Method::GET, members), Some(403));
        assert_eq!(
            status(&["GroupMember.Read.All"], Method::GET, members),
            Some(403)
        );
        assert_eq!(
            status(
                &["GroupMember.Read.All", "User.Read.All"],
                Method::GET,
                members
            ),
            None
        );
        assert_eq!(
            status(
                &["GroupMember.Read.All"],
                Method::GET,
                "/groups/g/transitiveMembers"
            ),
            None
        );
        assert_eq!(
            status(&["User.Read.All"], Method::POST, "/users"),
            Some(403)
        );
        assert_eq!(
            status(&["User.ReadWrite.All"], Method::POST, "/users"),
            None
        );
        assert_eq!(status(&[], Method::POST, "/$batch"), None);
    }
}
