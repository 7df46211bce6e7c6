//! One conformance suite for every target: the same cases against `file`, against `scim`
//! (through the SCIM emulator in several provider modes, and through two third-party servers:
//! scim2-server and SCIMMY), and against the Graph and Google targets. A new target joins by
//! adding one `conformance!` line.

use crate::common;

use std::{any::Any, sync::Arc, time::Duration};

use common::{child_server::ChildServer, scim2_server::Scim2Server, scimmy::ScimmyServer};

use hris_emulators::{
    google::{GoogleConfig, GoogleEmulator},
    graph::{GraphConfig, GraphEmulator},
    scim::{ScimConfig, ScimEmulator},
};
use hris_operator::{
    connectors::{
        http::{Auth, HttpClient, RetryPolicy},
        target::{file::FileTarget, scim::ScimTarget},
    },
    crd::ScimQuirks,
    sync::{
        model::{Attr, AttrChange, Attributes, DirectoryUser, NewUser},
        ports::target::{Target, TargetErrorKind, TargetOp},
    },
};
use serde_json::{Value, json};

const DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const TITLE: &str = "title";

/// A target under test and whatever keeps it alive (a temporary folder, an emulator).
struct Fixture {
    target: Box<dyn Target>,
    _guard: Box<dyn Any + Send>,
    /// The target's names of the two mapped attributes the suite uses.
    names: Names,
}

impl Fixture {
    /// After a case against a vendor's API: every request the target sent, checked against the
    /// vendor's own schema (`tests/vendor/`, see `common::vendor`).
    async fn judge_requests(&self) {
        if let Some(graph) = self._guard.downcast_ref::<GraphEmulator>() {
            common::vendor::judge("graph", &graph.request_log()).await;
        } else if let Some(google) = self._guard.downcast_ref::<GoogleEmulator>() {
            common::vendor::judge("google", &google.request_log()).await;
        }
    }
}

/// Names of the mapped attributes in a target's own vocabulary.
#[derive(Clone, Copy)]
struct Names {
    department: &'static str,
    title: &'static str,
    /// A work and a mobile number, a work address's postal code and city.
    work_phone: &'static str,
    mobile_phone: &'static str,
    postal_code: &'static str,
    locality: &'static str,
}

const SCIM_NAMES: Names = Names {
    department: DEPARTMENT,
    title: TITLE,
    work_phone: r#"phoneNumbers[type eq "work"].value"#,
    mobile_phone: r#"phoneNumbers[type eq "mobile"].value"#,
    postal_code: r#"addresses[type eq "work"].postalCode"#,
    locality: r#"addresses[type eq "work"].locality"#,
};

async fn file_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let target = FileTarget::new(dir.path().join("users.json"));
    Fixture {
        target: Box::new(target),
        _guard: Box::new(dir),
        names: SCIM_NAMES,
    }
}

async fn scim_fixture(config: ScimConfig, quirks: ScimQuirks) -> Fixture {
    let token = config.token.clone();
    let emulator = ScimEmulator::start(config).await.unwrap();
    let http = HttpClient::new(
        Auth::Bearer(token),
        None,
        Duration::from_secs(10),
        RetryPolicy {
            max_tries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
    )
    .unwrap();
    let target = ScimTarget::new(http, &emulator.base_url(), quirks, 4);
    Fixture {
        target: Box::new(target),
        _guard: Box::new(emulator),
        names: SCIM_NAMES,
    }
}

/// The same suite against the real third-party scim2-server.
async fn scim2_server_fixture() -> Fixture {
    third_party_fixture(Scim2Server::start("conformance-token"))
}

/// The same suite against the SCIMMY server (tests/scimmy/server.js).
async fn scimmy_fixture() -> Fixture {
    third_party_fixture(ScimmyServer::start("conformance-token"))
}

/// The SCIM target, with default quirks, on a third-party server kept alive by the fixture.
fn third_party_fixture<S>(server: S) -> Fixture
where
    S: std::ops::Deref<Target = ChildServer> + Send + 'static,
{
    let http = HttpClient::new(
        Auth::Bearer(server.token().into()),
        None,
        Duration::from_secs(10),
        RetryPolicy::default(),
    )
    .unwrap();
    let target = ScimTarget::new(http, &server.base_url(), ScimQuirks::default(), 4);
    Fixture {
        target: Box::new(target),
        _guard: Box::new(server),
        names: SCIM_NAMES,
    }
}

const GRAPH_NAMES: Names = Names {
    department: "department",
    title: "jobTitle",
    work_phone: "businessPhones",
    mobile_phone: "mobilePhone",
    postal_code: "postalCode",
    locality: "city",
};

const GOOGLE_NAMES: Names = Names {
    department: "organizations.department",
    title: "organizations.title",
    work_phone: r#"phones[type eq "work"].value"#,
    mobile_phone: r#"phones[type eq "mobile"].value"#,
    postal_code: r#"addresses[type eq "work"].postalCode"#,
    locality: r#"addresses[type eq "work"].locality"#,
};

async fn graph_fixture(extra: Value) -> Fixture {
    let (emulator, target) = common::directories::graph(
        GraphConfig {
            max_page_size: 100,
            ..GraphConfig::default()
        },
        extra,
    )
    .await;
    Fixture {
        target: Box::new(target),
        _guard: Box::new(emulator),
        names: GRAPH_NAMES,
    }
}

async fn google_fixture() -> Fixture {
    let (emulator, target) = common::directories::google(
        GoogleConfig {
            max_page_size: 100,
            ..GoogleConfig::new(common::directories::GOOGLE_TEST_PUBLIC_KEY)
        },
        json!({}),
    )
    .await;
    Fixture {
        target: Box::new(target),
        _guard: Box::new(emulator),
        names: GOOGLE_NAMES,
    }
}

fn attributes(names: Names) -> Vec<Arc<str>> {
    vec![Arc::from(names.department), Arc::from(names.title)]
}

fn new_user(names: Names, n: u32, manager: Option<&str>) -> NewUser {
    let mut mapped = Attributes::default();
    mapped.set(Arc::from(names.department), json!("Engineering"));
    mapped.set(Arc::from(names.title), json!(format!("Engineer {n}")));
    NewUser {
        external_id: format!("acme:{n}").into(),
        email: format!("person{n}@acme.example").into(),
        first_name: format!("First{n}").into(),
        last_name: "Lind".into(),
        preferred_language: Some("sv".into()),
        active: true,
        manager: manager.map(Into::into),
        attributes: mapped,
    }
}

async fn create(target: &dyn Target, users: Vec<NewUser>) -> Vec<String> {
    target
        .apply(users.into_iter().map(TargetOp::Create).collect())
        .await
        .into_iter()
        .map(|r| {
            r.expect("create succeeds")
                .expect("create returns an id")
                .to_string()
        })
        .collect()
}

async fn find(target: &dyn Target, names: Names, id: &str) -> Option<DirectoryUser> {
    target
        .list_users(&attributes(names))
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == id)
}

fn change(attr: Attr, after: Option<Value>) -> AttrChange {
    AttrChange {
        attr,
        before: None,
        after,
    }
}

async fn creates_users_with_every_standard_and_mapped_attribute_and_a_manager(
    target: &dyn Target,
    names: Names,
) {
    assert!(
        target
            .list_users(&attributes(names))
            .await
            .unwrap()
            .is_empty()
    );
    let boss = create(target, vec![new_user(names, 1, None)])
        .await
        .remove(0);
    let report = create(target, vec![new_user(names, 2, Some(&boss))])
        .await
        .remove(0);
    let user = find(target, names, &report).await.expect("listed");
    assert_eq!(user.external_id.as_deref(), Some("acme:2"));
    assert_eq!(user.email.as_deref(), Some("person2@acme.example"));
    assert_eq!(user.first_name.as_deref(), Some("First2"));
    assert_eq!(user.last_name.as_deref(), Some("Lind"));
    assert_eq!(user.preferred_language.as_deref(), Some("sv"));
    assert!(user.active);
    assert_eq!(user.manager_id.as_deref(), Some(boss.as_str()));
    assert_eq!(
        user.attributes.get(names.department),
        Some(&json!("Engineering"))
    );
    assert_eq!(user.attributes.get(names.title), Some(&json!("Engineer 2")));
}

async fn updates_exactly_the_changed_attributes(target: &dyn Target, names: Names) {
    let id = create(target, vec![new_user(names, 1, None)])
        .await
        .remove(0);
    let before = find(target, names, &id).await.unwrap();
    let results = target
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: before.version.clone(),
            changes: vec![
                change(Attr::LastName, Some(json!("Berg"))),
                change(Attr::Mapped(Arc::from(names.title)), Some(json!("Lead"))),
                change(Attr::Mapped(Arc::from(names.department)), None),
            ],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let after = find(target, names, &id).await.unwrap();
    assert_eq!(after.last_name.as_deref(), Some("Berg"));
    assert_eq!(after.attributes.get(names.title), Some(&json!("Lead")));
    assert_eq!(after.attributes.get(names.department), None);
    // Untouched attributes stay.
    assert_eq!(after.first_name, before.first_name);
    assert_eq!(after.email, before.email);
    assert_eq!(after.preferred_language, before.preferred_language);
}

async fn changes_email_and_links_and_unlinks_a_manager(target: &dyn Target, names: Names) {
    let ids = create(
        target,
        vec![new_user(names, 1, None), new_user(names, 2, None)],
    )
    .await;
    let results = target
        .apply(vec![TargetOp::Update {
            id: ids[1].as_str().into(),
            version: None,
            changes: vec![
                change(Attr::Email, Some(json!("renamed@acme.example"))),
                change(Attr::Manager, Some(json!(ids[0]))),
            ],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let user = find(target, names, &ids[1]).await.unwrap();
    assert_eq!(user.email.as_deref(), Some("renamed@acme.example"));
    assert_eq!(user.manager_id.as_deref(), Some(ids[0].as_str()));
    target
        .apply(vec![TargetOp::Update {
            id: ids[1].as_str().into(),
            version: None,
            changes: vec![change(Attr::Manager, None)],
        }])
        .await;
    assert_eq!(find(target, names, &ids[1]).await.unwrap().manager_id, None);
}

async fn deactivates_reactivates_and_deletes(target: &dyn Target, names: Names) {
    let id = create(target, vec![new_user(names, 1, None)])
        .await
        .remove(0);
    let deactivate = TargetOp::Deactivate {
        id: id.as_str().into(),
        version: None,
        changes: vec![change(Attr::Active, Some(json!(false)))],
    };
    assert_eq!(target.apply(vec![deactivate]).await, vec![Ok(None)]);
    assert!(!find(target, names, &id).await.unwrap().active);
    let reactivate = TargetOp::Update {
        id: id.as_str().into(),
        version: None,
        changes: vec![change(Attr::Active, Some(json!(true)))],
    };
    assert_eq!(target.apply(vec![reactivate]).await, vec![Ok(None)]);
    assert!(find(target, names, &id).await.unwrap().active);
    let delete = TargetOp::Delete {
        id: id.as_str().into(),
    };
    assert_eq!(target.apply(vec![delete]).await, vec![Ok(None)]);
    assert!(find(target, names, &id).await.is_none());
}

async fn a_taken_email_is_a_conflict_and_does_not_stop_the_others(
    target: &dyn Target,
    names: Names,
) {
    create(target, vec![new_user(names, 1, None)]).await;
    let mut duplicate = new_user(names, 9, None);
    duplicate.email = "PERSON1@acme.example".into();
    let results = target
        .apply(vec![
            TargetOp::Create(new_user(names, 2, None)),
            TargetOp::Create(duplicate),
            TargetOp::Create(new_user(names, 3, None)),
        ])
        .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert_eq!(
        results[1].as_ref().unwrap_err().kind,
        TargetErrorKind::Conflict
    );
    assert_eq!(target.list_users(&[]).await.unwrap().len(), 3);
}

async fn a_missing_user_is_not_found(target: &dyn Target, _names: Names) {
    let results = target
        .apply(vec![TargetOp::Update {
            id: "no-such-user".into(),
            version: None,
            changes: vec![change(Attr::LastName, Some(json!("X")))],
        }])
        .await;
    assert_eq!(
        results[0].as_ref().unwrap_err().kind,
        TargetErrorKind::NotFound
    );
}

async fn phones_and_addresses_are_written_changed_and_removed(target: &dyn Target, names: Names) {
    let contact = [
        names.work_phone,
        names.mobile_phone,
        names.postal_code,
        names.locality,
    ];
    let listed_names: Vec<Arc<str>> = attributes(names)
        .into_iter()
        .chain(contact.iter().map(|name| Arc::from(*name)))
        .collect();
    let find = |id: String| {
        let listed_names = listed_names.clone();
        async move {
            target
                .list_users(&listed_names)
                .await
                .unwrap()
                .into_iter()
                .find(|u| u.id == id)
                .expect("listed")
        }
    };
    let mut user = new_user(names, 1, None);
    user.attributes
        .set(Arc::from(names.work_phone), json!("+46 8 555 0101"));
    user.attributes
        .set(Arc::from(names.postal_code), json!("111 43"));
    let id = create(target, vec![user]).await.remove(0);
    let created = find(id.clone()).await;
    let read = |user: &DirectoryUser, name: &str| user.attributes.get(name).cloned();
    assert_eq!(
        read(&created, names.work_phone),
        Some(json!("+46 8 555 0101"))
    );
    assert_eq!(read(&created, names.postal_code), Some(json!("111 43")));
    assert_eq!(read(&created, names.mobile_phone), None);
    assert_eq!(read(&created, names.locality), None);

    // A changed number, a new number (a new element), a new part of an existing address, a
    // removed part.
    let changes = vec![
        AttrChange {
            attr: Attr::Mapped(Arc::from(names.work_phone)),
            before: Some(json!("+46 8 555 0101")),
            after: Some(json!("+46 8 555 0202")),
        },
        change(
            Attr::Mapped(Arc::from(names.mobile_phone)),
            Some(json!("+46 70 555 0303")),
        ),
        change(
            Attr::Mapped(Arc::from(names.locality)),
            Some(json!("Stockholm")),
        ),
        AttrChange {
            attr: Attr::Mapped(Arc::from(names.postal_code)),
            before: Some(json!("111 43")),
            after: None,
        },
    ];
    let results = target
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: created.version.clone(),
            changes,
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let changed = find(id.clone()).await;
    assert_eq!(
        read(&changed, names.work_phone),
        Some(json!("+46 8 555 0202"))
    );
    assert_eq!(
        read(&changed, names.mobile_phone),
        Some(json!("+46 70 555 0303"))
    );
    assert_eq!(read(&changed, names.locality), Some(json!("Stockholm")));
    assert_eq!(read(&changed, names.postal_code), None);
    assert_eq!(changed.first_name, created.first_name, "untouched");

    // Numbers removed: what is listed next is what a plan compares with, so a second run
    // with the same values writes nothing.
    let results = target
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: changed.version.clone(),
            changes: vec![
                AttrChange {
                    attr: Attr::Mapped(Arc::from(names.work_phone)),
                    before: Some(json!("+46 8 555 0202")),
                    after: None,
                },
                AttrChange {
                    attr: Attr::Mapped(Arc::from(names.mobile_phone)),
                    before: Some(json!("+46 70 555 0303")),
                    after: None,
                },
            ],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let removed = find(id).await;
    assert_eq!(read(&removed, names.work_phone), None);
    assert_eq!(read(&removed, names.mobile_phone), None);
    assert_eq!(read(&removed, names.locality), Some(json!("Stockholm")));
}

async fn lists_many_users_across_pages(target: &dyn Target, names: Names) {
    let users: Vec<NewUser> = (1..=250).map(|n| new_user(names, n, None)).collect();
    create(target, users).await;
    let listed = target.list_users(&attributes(names)).await.unwrap();
    assert_eq!(listed.len(), 250);
    let mut ids: Vec<_> = listed.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no user listed twice");
}

macro_rules! conformance {
    ($name:ident, $fixture:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn creates_users_with_attributes_and_a_manager() {
                let f = $fixture.await;
                creates_users_with_every_standard_and_mapped_attribute_and_a_manager(
                    &*f.target, f.names,
                )
                .await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn updates_exactly_the_changed_attributes() {
                let f = $fixture.await;
                super::updates_exactly_the_changed_attributes(&*f.target, f.names).await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn changes_email_and_manager() {
                let f = $fixture.await;
                changes_email_and_links_and_unlinks_a_manager(&*f.target, f.names).await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn deactivates_reactivates_and_deletes() {
                let f = $fixture.await;
                super::deactivates_reactivates_and_deletes(&*f.target, f.names).await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn a_taken_email_is_a_conflict() {
                let f = $fixture.await;
                a_taken_email_is_a_conflict_and_does_not_stop_the_others(&*f.target, f.names).await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn a_missing_user_is_not_found() {
                let f = $fixture.await;
                super::a_missing_user_is_not_found(&*f.target, f.names).await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn phones_and_addresses() {
                let f = $fixture.await;
                phones_and_addresses_are_written_changed_and_removed(&*f.target, f.names).await;
                f.judge_requests().await;
            }

            #[tokio::test]
            async fn lists_many_users_across_pages() {
                let f = $fixture.await;
                super::lists_many_users_across_pages(&*f.target, f.names).await;
                f.judge_requests().await;
            }
        }
    };
}

conformance!(file, file_fixture());
conformance!(scim2_server, scim2_server_fixture());
conformance!(scimmy, scimmy_fixture());
conformance!(
    scim_bulk_and_etag,
    scim_fixture(ScimConfig::default(), ScimQuirks::default())
);
conformance!(
    scim_one_by_one,
    scim_fixture(
        ScimConfig {
            bulk: None,
            etag: false,
            ..ScimConfig::default()
        },
        ScimQuirks::default()
    )
);
conformance!(
    scim_put_only_with_quirky_paging,
    scim_fixture(
        ScimConfig {
            patch: false,
            bulk: None,
            ignore_count: true,
            miscount_total: true,
            booleans_as_strings: true,
            max_page_size: 40,
            ..ScimConfig::default()
        },
        ScimQuirks::default()
    )
);
conformance!(
    scim_capitalised_ops_and_string_booleans,
    scim_fixture(
        ScimConfig {
            bulk: None,
            ..ScimConfig::default()
        },
        ScimQuirks {
            capitalized_patch_ops: true,
            booleans_as_strings: true,
            ..ScimQuirks::default()
        }
    )
);
conformance!(microsoft_graph, graph_fixture(json!({})));
conformance!(
    microsoft_graph_in_batches_of_three_with_name_built_upns,
    graph_fixture(json!({
        "batchSize": 3,
        "userPrincipalNameTemplate": "{firstName}.{lastName}@contoso.example",
        "externalIdExtensionAttribute": 3
    }))
);
conformance!(google_workspace, google_fixture());
