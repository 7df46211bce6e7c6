//! The SCIM client's behaviour under pressure, proven against the emulator: Retry-After is
//! honoured (measured from the emulator's log), back-off stops after the bounded tries with the
//! failure reported, a fault on one user does not stop the others, no request exceeds the
//! configured rate, a 412 re-reads once, a normal run makes no per-user GET, credentials are
//! checked and OAuth2 tokens are cached. A list answer over the size limit fails the listing,
//! and so does a list that contradicts itself (an empty page right after a full one while
//! `totalResults` says more users exist, a user without an id); an overstated `totalResults`
//! after a short last page is tolerated, and `active: null` reads as active.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use hris_emulators::{
    log::LoggedRequest,
    scim::{ScimConfig, ScimEmulator},
};
use hris_operator::{
    connectors::{
        http::{Auth, HttpClient, RetryPolicy},
        target::scim::ScimTarget,
    },
    crd::ScimQuirks,
    sync::{
        model::{Attr, AttrChange, NewUser},
        ports::target::{Target, TargetErrorKind, TargetOp},
    },
};
use serde_json::json;

fn client(auth: Auth, rate: Option<f64>, tries: u32) -> HttpClient {
    HttpClient::new(
        auth,
        rate,
        Duration::from_secs(10),
        RetryPolicy {
            max_tries: tries,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(5),
        },
    )
    .unwrap()
}

fn target(emulator: &ScimEmulator, rate: Option<f64>, tries: u32) -> ScimTarget {
    ScimTarget::new(
        client(Auth::Bearer("test-token".into()), rate, tries),
        &emulator.base_url(),
        ScimQuirks::default(),
        8,
    )
}

fn new_user(n: usize) -> NewUser {
    NewUser {
        external_id: format!("acme:{n}").into(),
        email: format!("person{n}@acme.example").into(),
        first_name: format!("First{n}").into(),
        last_name: "Lind".into(),
        active: true,
        ..NewUser::default()
    }
}

fn one_by_one() -> ScimConfig {
    ScimConfig {
        bulk: None,
        ..ScimConfig::default()
    }
}

fn posts(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Users"))
        .collect()
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let emulator = ScimEmulator::start(one_by_one()).await.unwrap();
    let target = target(&emulator, None, 5);
    target.check().await.unwrap();
    emulator.fail_next(1, 429, Some(1));
    let results = target.apply(vec![TargetOp::Create(new_user(1))]).await;
    assert!(results[0].is_ok(), "{results:?}");
    let log = emulator.requests();
    let posts = posts(&log);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 201]
    );
    let waited = posts[1].at.duration_since(posts[0].at);
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
}

#[tokio::test]
async fn back_off_stops_after_the_bounded_tries_and_reports_the_failure() {
    let emulator = ScimEmulator::start(one_by_one()).await.unwrap();
    let target = target(&emulator, None, 3);
    target.check().await.unwrap();
    emulator.fail_next(1000, 503, None);
    let results = target.apply(vec![TargetOp::Create(new_user(1))]).await;
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::Unavailable);
    assert_eq!(error.status, Some(503));
    assert!(error.detail.contains("after 3 tries"), "{}", error.detail);
    assert_eq!(posts(&emulator.requests()).len(), 3);
    assert!(emulator.users().is_empty());
}

#[tokio::test]
async fn a_fault_on_one_user_does_not_stop_the_others() {
    for config in [one_by_one(), ScimConfig::default()] {
        let bulk = config.bulk.is_some();
        let emulator = ScimEmulator::start(config).await.unwrap();
        let target = target(&emulator, None, 2);
        emulator.fail_user("person2@acme.example", 500);
        let results = target
            .apply((1..=4).map(|n| TargetOp::Create(new_user(n))).collect())
            .await;
        let failed: Vec<bool> = results.iter().map(Result::is_err).collect();
        assert_eq!(
            failed,
            [false, true, false, false],
            "bulk {bulk}: {results:?}"
        );
        let error = results[1].as_ref().unwrap_err();
        assert_eq!(error.status, Some(500), "bulk {bulk}");
        assert_eq!(emulator.users().len(), 3, "bulk {bulk}");
    }
}

#[tokio::test]
async fn no_request_exceeds_the_configured_rate() {
    let rate = 25.0;
    let emulator = ScimEmulator::start(ScimConfig {
        requests_per_second: Some(rate),
        burst: 2,
        bulk: None,
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    let target = target(&emulator, Some(rate), 1);
    let results = target
        .apply((1..=75).map(|n| TargetOp::Create(new_user(n))).collect())
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let log = emulator.requests();
    assert!(
        log.iter().all(|r| r.status != 429),
        "the emulator never throttled"
    );
    // In any one-second window, at most `rate` requests (+1 for the window's edge).
    let times: Vec<_> = log.iter().map(|r| r.at).collect();
    for (i, start) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(
            within as f64 <= rate + 1.0,
            "{within} requests in one second"
        );
    }
}

#[tokio::test]
async fn a_stale_version_re_reads_once_and_retries() {
    let emulator = ScimEmulator::start(one_by_one()).await.unwrap();
    let target = target(&emulator, None, 2);
    let id = emulator.insert_user(json!({"userName": "ada@acme.example", "externalId": "acme:1"}));
    let listed = target.list_users(&[]).await.unwrap();
    let stale = listed[0].version.clone();
    assert!(stale.is_some(), "the emulator sends versions");
    // Someone else changes the user after we listed it.
    target
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: None,
            changes: vec![change(Attr::FirstName, "Someone")],
        }])
        .await;
    let results = target
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: stale,
            changes: vec![change(Attr::LastName, "Lovelace")],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let log = emulator.requests();
    let tail: Vec<(String, u16)> = log[log.len() - 3..]
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        tail,
        vec![
            ("PATCH".to_owned(), 412),
            ("GET".to_owned(), 200),
            ("PATCH".to_owned(), 200)
        ]
    );
    assert_eq!(emulator.users()[0]["name"]["familyName"], "Lovelace");
}

fn change(attr: Attr, value: &str) -> AttrChange {
    AttrChange {
        attr,
        before: None,
        after: Some(json!(value)),
    }
}

#[tokio::test]
async fn listing_and_updating_make_no_per_user_get() {
    let emulator = ScimEmulator::start(ScimConfig {
        max_page_size: 10,
        ..one_by_one()
    })
    .await
    .unwrap();
    for n in 0..35 {
        emulator.insert_user(json!({"userName": format!("p{n}@acme.example")}));
    }
    let target = target(&emulator, None, 2);
    let users = target.list_users(&[]).await.unwrap();
    assert_eq!(users.len(), 35);
    target
        .apply(
            users
                .iter()
                .take(5)
                .map(|u| TargetOp::Update {
                    id: u.id.clone(),
                    version: u.version.clone(),
                    changes: vec![change(Attr::Email, "x")],
                })
                .collect(),
        )
        .await;
    let log = emulator.requests();
    let single_gets = log
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/Users/"))
        .count();
    assert_eq!(single_gets, 0);
    let list_pages = log
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/Users"))
        .count();
    assert_eq!(list_pages, 4, "35 users in pages of 10, no extra page");
}

#[tokio::test]
async fn wrong_credentials_fail_the_check() {
    let emulator = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    let target = ScimTarget::new(
        client(Auth::Bearer("wrong".into()), None, 3),
        &emulator.base_url(),
        ScimQuirks::default(),
        2,
    );
    let error = target.check().await.unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::CredentialsInvalid);
    assert_eq!(error.status, Some(401));
}

#[tokio::test]
async fn oauth2_tokens_are_fetched_once_and_reused() {
    let emulator = ScimEmulator::start(one_by_one()).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |form: axum::Form<Vec<(String, String)>>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let fields: std::collections::HashMap<_, _> = form.0.into_iter().collect();
                assert_eq!(fields["grant_type"], "client_credentials");
                assert_eq!(fields["client_secret"], "s3cret");
                axum::Json(json!({"access_token": "test-token", "expires_in": 3600}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_url = format!("http://{}/token", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let target = ScimTarget::new(
        client(
            Auth::ClientCredentials {
                token_url,
                client_id: "hris".into(),
                client_secret: "s3cret".into(),
                scope: None,
                cached: Default::default(),
            },
            None,
            2,
        ),
        &emulator.base_url(),
        ScimQuirks::default(),
        2,
    );
    target.check().await.unwrap();
    let results = target
        .apply((1..=5).map(|n| TargetOp::Create(new_user(n))).collect())
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.abort();
}

#[tokio::test]
async fn a_server_repeating_the_same_page_is_listed_once() {
    // A broken provider: ignores startIndex, always answers the first page, and overstates
    // totalResults.
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let app = axum::Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            axum::routing::get(|| async { axum::Json(json!({"patch": {"supported": true}})) }),
        )
        .route(
            "/scim/v2/Users",
            axum::routing::get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let users: Vec<_> = (1..=3)
                        .map(
                            |n| json!({"id": n.to_string(), "userName": format!("u{n}@x.example")}),
                        )
                        .collect();
                    axum::Json(json!({"totalResults": 10, "startIndex": 1, "Resources": users}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/scim/v2", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let target = ScimTarget::new(
        client(Auth::Bearer("t".into()), None, 1),
        &base,
        ScimQuirks::default(),
        1,
    );
    let users = target.list_users(&[]).await.unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "the repeated page ends the list"
    );
    server.abort();
}

#[tokio::test]
async fn with_delete_deactivates_a_deactivation_is_sent_as_delete_and_nothing_is_deleted() {
    let emulator = ScimEmulator::start(one_by_one()).await.unwrap();
    let id = emulator.insert_user(json!({"userName": "ada@acme.example"}));
    let target = ScimTarget::new(
        client(Auth::Bearer("test-token".into()), None, 2),
        &emulator.base_url(),
        ScimQuirks {
            delete_deactivates: true,
            ..ScimQuirks::default()
        },
        2,
    );
    assert!(!target.capabilities().deletes);
    let results = target
        .apply(vec![TargetOp::Deactivate {
            id: id.as_str().into(),
            version: None,
            changes: vec![AttrChange {
                attr: Attr::Active,
                before: Some(json!(true)),
                after: Some(json!(false)),
            }],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let last = emulator.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.ends_with(&id)),
        ("DELETE", true)
    );
}

/// An emulator holding `users` users, listed `page` at a time.
async fn listed_emulator(users: usize, page: usize, miscount_total: bool) -> ScimEmulator {
    let emulator = ScimEmulator::start(ScimConfig {
        max_page_size: page,
        miscount_total,
        ..one_by_one()
    })
    .await
    .unwrap();
    for n in 0..users {
        emulator.insert_user(json!({"userName": format!("p{n}@acme.example")}));
    }
    emulator
}

#[tokio::test]
async fn a_list_page_over_the_size_limit_fails_the_listing() {
    let emulator = listed_emulator(3, 100, false).await;
    emulator.pad_lists(64 << 10);
    let target = ScimTarget::new(
        client(Auth::Bearer("test-token".into()), None, 3).with_max_response_bytes(16 << 10),
        &emulator.base_url(),
        ScimQuirks::default(),
        2,
    );
    let error = target.list_users(&[]).await.unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::InvalidData);
    assert!(
        error.detail.starts_with(&format!(
            "GET {}/Users: the answer is larger than 16384 bytes",
            emulator.base_url()
        )),
        "{}",
        error.detail
    );
    assert!(
        error.detail.contains("maxResponseBytes"),
        "{}",
        error.detail
    );
    let list_pages = |log: &[LoggedRequest]| {
        log.iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/Users"))
            .count()
    };
    assert_eq!(list_pages(&emulator.requests()), 1, "not retried");
    // The same pages within the limit list everyone.
    emulator.clear_failures();
    assert_eq!(target.list_users(&[]).await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_empty_page_after_a_full_one_before_total_results_is_reached_fails_the_listing() {
    for (empty_from, listed) in [(6, 5), (11, 10)] {
        let emulator = listed_emulator(12, 5, false).await;
        emulator.empty_pages_from(empty_from);
        let error = target(&emulator, None, 1)
            .list_users(&[])
            .await
            .unwrap_err();
        assert_eq!(error.kind, TargetErrorKind::InvalidData);
        assert_eq!(
            error.detail,
            format!(
                "the provider's user list is inconsistent: the page at startIndex {empty_from} \
                 is empty, right after a full page, while totalResults says 12 users exist \
                 ({listed} listed); nothing is written on a partial list"
            )
        );
    }
}

#[tokio::test]
async fn an_overstated_total_is_tolerated_after_a_short_last_page_and_not_after_a_full_one() {
    // 12 users in pages of 5: the last page holds 2, then an empty page (totalResults says 19).
    let emulator = listed_emulator(12, 5, true).await;
    assert_eq!(
        target(&emulator, None, 1)
            .list_users(&[])
            .await
            .unwrap()
            .len(),
        12
    );
    // 10 users fill both pages: the empty third page contradicts totalResults (17) with
    // nothing marking an end, like a server that lost the rest of its list.
    let emulator = listed_emulator(10, 5, true).await;
    let error = target(&emulator, None, 1)
        .list_users(&[])
        .await
        .unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::InvalidData);
    assert!(error.detail.contains("startIndex 11"), "{}", error.detail);
}

#[tokio::test]
async fn a_listed_user_without_an_id_fails_the_listing() {
    let emulator = listed_emulator(3, 100, false).await;
    emulator.rewrite_listed("id", None);
    let error = target(&emulator, None, 1)
        .list_users(&[])
        .await
        .unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::InvalidData);
    assert!(
        error
            .detail
            .starts_with("the provider listed a user without an id (startIndex 1, position 1)"),
        "{}",
        error.detail
    );
}

#[tokio::test]
async fn a_listed_user_whose_active_is_null_counts_as_active() {
    let emulator = listed_emulator(3, 100, false).await;
    emulator.rewrite_listed("active", Some(serde_json::Value::Null));
    let users = target(&emulator, None, 1).list_users(&[]).await.unwrap();
    assert_eq!(users.len(), 3);
    assert!(users.iter().all(|u| u.active), "{users:?}");
}
