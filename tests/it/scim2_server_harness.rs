//! Proves the scim2-server harness (tests/common/scim2_server.rs) against the real third-party
//! server, and pins down how that server behaves, for the SCIM client that must talk to it.
//!
//! Needs the virtualenv of `tests/python-tools.sh` (`$HRIS_TEST_VENV`, default `.venv`).
//!
//! What scim2-server 0.8.3 does (seen in these tests or by hand), with the surprises marked (!):
//! - It speaks HTTP/1.0 (Python's wsgiref): every response closes the connection, no keep-alive.
//! - Responses are `Content-Type: application/scim+json`, with `Location` and `Cache-Control:
//!   no-cache` on every answer (errors too) and `ETag` on resource answers. Requests with a body
//!   must say `application/scim+json` or `application/json` (reqwest's `.json()` is fine);
//!   no Content-Type at all is 415.
//! - (!) `GET /ServiceProviderConfig` needs no token (200 without or with a wrong one); every other
//!   endpoint, `/Schemas` and `/ResourceTypes` included, is 401 without the right bearer token,
//!   with `WWW-Authenticate: Bearer realm="SCIM"` and a SCIM error body.
//! - ServiceProviderConfig: patch, bulk (maxOperations 1000, maxPayloadSize 1048576), filter
//!   (maxResults 1000), changePassword, sort and etag all `supported: true`; one authentication
//!   scheme `oauthbearertoken`; (!) no `pagination` member and no `documentationUri`.
//! - POST /Users: 201, the full resource (id = 32 hex digits, meta.created/lastModified with
//!   microseconds, meta.location, meta.version) and `ETag` = meta.version, a weak tag like `W/"3"`.
//!   (!) Versions come from one counter for the whole server, not per resource: a new user's
//!   first version may be `W/"7"`.
//! - The enterprise extension comes back under its URN key as sent; (!) `manager` stays just
//!   `{"value": ID}` (no `$ref`/`displayName` added) and the ID is not checked to exist.
//! - (!) Unknown attributes are refused: 400 scimType `invalidSyntax` ("Extra inputs are not
//!   permitted: foo"). A missing userName is 400 `invalidValue`.
//! - userName is unique case-insensitively: 409 with `"scimType": "uniqueness"`, also on PUT.
//!   (!) Error `status` is a JSON string (`"409"`), as RFC 7644 says. (!) externalId is NOT unique:
//!   two users may share one.
//! - PATCH: (!) 204 No Content with an empty body and the new `ETag`, unless the request has
//!   `attributes`/`excludedAttributes`, then 200 with those attributes. A PATCH that changes
//!   nothing keeps the version. `op` is case-insensitive ("Replace" works); (!) a string "True" or
//!   "False" is accepted for a boolean and stored as a JSON boolean. A wrong `If-Match` is 412.
//!   Removing `urn:…:enterprise:2.0:User:manager` removes the whole manager.
//! - PUT replaces the whole resource (attributes not sent are gone, extension included): 200.
//! - DELETE: 204 with an empty body; afterwards GET and DELETE are 404 with a SCIM error.
//! - Lists: index paging, `startIndex` 1-based. Without `count`, (!) everything up to
//!   filter.maxResults (1000) in one page. `count=0` gives only totalResults. A `startIndex` past
//!   the end gives `"Resources": []` (the key is present, the list empty) and echoes the
//!   startIndex. (!) Resources come sorted by id (random hex), not in creation order.
//!   Filters on userName and externalId work (`externalId eq "x"`).
//! - Bulk: 200 with one result per operation, each `status` a string ("201", "409"), the 409 with
//!   its error under `response`; operations after a failed one still run.
//! - (!) The server also answers without the `/v2` prefix (`GET /Users` is 200).

use crate::common;

use std::path::Path;

use common::{
    child_server::{assert_drop_stops_it, block_on_thread, http_client},
    scim2_server::Scim2Server,
};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

const TOKEN: &str = "harness-test-token";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One answer of the server: status, headers and body (`Value::Null` when empty).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// Sends a request to `server` (path under /v2) with its bearer token, or none.
async fn request(
    server: &Scim2Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let url = format!("{}{path}", server.base_url());
    let mut builder = http_client().request(method.clone(), &url);
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    let response = builder
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {url}: {e}: {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

async fn send(server: &Scim2Server, method: Method, path: &str, body: Option<Value>) -> Answer {
    request(server, method, path, Some(server.token()), body).await
}

/// The same from synchronous code: the request runs on its own thread and runtime.
fn send_blocking(server: &Scim2Server, method: Method, path: &str, body: Option<Value>) -> Answer {
    let url = format!("{}{path}", server.base_url());
    let token = server.token().to_owned();
    let (status, headers, text) = block_on_thread(move || async move {
        let mut builder = http_client().request(method, url).bearer_auth(token);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.expect("body"))
    });
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [CORE],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Test", "familyName": user_name},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
    })
}

/// Creates a user and returns its id.
async fn create(server: &Scim2Server, body: Value) -> String {
    let answer = send(server, Method::POST, "/Users", Some(body)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().expect("id").to_owned()
}

fn by_id<'a>(users: &'a [Value], id: &str) -> Option<&'a Value> {
    users.iter().find(|u| u["id"] == id)
}

fn header<'a>(answer: &'a Answer, name: &str) -> &'a str {
    answer
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ASCII header")
}

#[test]
fn service_provider_config_announces_patch_bulk_and_etag() {
    let server = Scim2Server::start(TOKEN);
    let answer = send_blocking(&server, Method::GET, "/ServiceProviderConfig", None);
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(header(&answer, "content-type"), "application/scim+json");
    let config = answer.body;
    assert_eq!(
        config["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(config["patch"], json!({"supported": true}));
    assert_eq!(
        config["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576})
    );
    assert_eq!(config["etag"], json!({"supported": true}));
    assert_eq!(
        config["filter"],
        json!({"supported": true, "maxResults": 1000})
    );
    assert_eq!(config["sort"], json!({"supported": true}));
    assert_eq!(config["changePassword"], json!({"supported": true}));
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    assert_eq!(
        config["authenticationSchemes"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(config.get("pagination").is_none(), "{config}");
    // Synchronous context: the harness's own reads work without an ambient runtime.
    assert!(server.users().is_empty());
}

#[tokio::test]
async fn the_bearer_token_is_required_except_for_service_provider_config() {
    let server = Scim2Server::start(TOKEN);
    for token in [None, Some("wrong-token")] {
        let answer = request(&server, Method::GET, "/Users", token, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(header(&answer, "www-authenticate"), "Bearer realm=\"SCIM\"");
        assert_eq!(answer.body["status"], "401");
        let answer = request(&server, Method::GET, "/Schemas", token, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{token:?}");
        let answer = request(&server, Method::GET, "/ServiceProviderConfig", token, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{token:?}");
    }
}

#[tokio::test]
async fn post_user_with_enterprise_extension_is_201_and_shows_in_users() {
    let server = Scim2Server::start(TOKEN);
    let manager = create(&server, user("grace@corp.example", "p:E1")).await;

    let mut body = user("ada@corp.example", "p:E2");
    body["schemas"] = json!([CORE, ENTERPRISE]);
    body[ENTERPRISE] = json!({"department": "Engineering", "manager": {"value": manager}});
    let answer = send(&server, Method::POST, "/Users", Some(body)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let created = &answer.body;
    let id = created["id"].as_str().expect("id");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(
        header(&answer, "location"),
        format!("{}/Users/{id}", server.base_url())
    );
    assert_eq!(created["meta"]["location"], header(&answer, "location"));
    assert_eq!(created["meta"]["resourceType"], "User");
    let version = created["meta"]["version"].as_str().expect("meta.version");
    assert_eq!(header(&answer, "etag"), version);
    assert!(version.starts_with("W/\""), "{version}");
    assert_eq!(created["schemas"], json!([CORE, ENTERPRISE]));

    let users = server.users();
    assert_eq!(users.len(), 2);
    let ada = by_id(&users, id).expect("the new user is listed");
    assert_eq!(ada["userName"], "ada@corp.example");
    assert_eq!(ada["externalId"], "p:E2");
    assert_eq!(ada["active"], json!(true));
    assert_eq!(ada["name"]["givenName"], "Test");
    assert_eq!(
        ada["emails"],
        json!([{"value": "ada@corp.example", "type": "work", "primary": true}])
    );
    assert_eq!(
        ada[ENTERPRISE],
        json!({"department": "Engineering", "manager": {"value": manager}})
    );
}

#[tokio::test]
async fn a_second_post_with_the_same_user_name_is_409_uniqueness() {
    let server = Scim2Server::start(TOKEN);
    create(&server, user("ada@corp.example", "p:E1")).await;
    // The same userName, and the same one in other case: both taken.
    for user_name in ["ada@corp.example", "ADA@corp.example"] {
        let answer = send(
            &server,
            Method::POST,
            "/Users",
            Some(user(user_name, "p:E9")),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
        assert_eq!(answer.body["scimType"], "uniqueness");
        assert_eq!(answer.body["status"], "409");
        assert_eq!(
            answer.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
    }
    // externalId is not unique on this server.
    create(&server, user("bob@corp.example", "p:E1")).await;
    assert_eq!(server.users().len(), 2);
}

#[tokio::test]
async fn patch_active_false_is_204_and_shows_in_users() {
    let server = Scim2Server::start(TOKEN);
    let id = create(&server, user("ada@corp.example", "p:E1")).await;
    let before = send(&server, Method::GET, &format!("/Users/{id}"), None).await;
    let patch = json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": false}],
    });

    let answer = send(
        &server,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(patch.clone()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.body, Value::Null);
    let etag = header(&answer, "etag").to_owned();
    assert_ne!(etag, header(&before, "etag"));

    let users = server.users();
    let ada = by_id(&users, &id).expect("still listed");
    assert_eq!(ada["active"], json!(false));
    assert_eq!(ada["meta"]["version"], etag.as_str());

    // The same PATCH again changes nothing and keeps the version.
    let again = send(&server, Method::PATCH, &format!("/Users/{id}"), Some(patch)).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(header(&again, "etag"), etag);

    // A stale If-Match is refused.
    let stale = http_client()
        .patch(format!("{}/Users/{id}", server.base_url()))
        .bearer_auth(server.token())
        .header("If-Match", header(&before, "etag"))
        .json(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": true}],
        }))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(by_id(&server.users(), &id).unwrap()["active"], json!(false));
}

#[tokio::test]
async fn delete_is_204_and_the_user_is_gone() {
    let server = Scim2Server::start(TOKEN);
    let ada = create(&server, user("ada@corp.example", "p:E1")).await;
    let bob = create(&server, user("bob@corp.example", "p:E2")).await;

    let answer = send(&server, Method::DELETE, &format!("/Users/{ada}"), None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.body, Value::Null);

    let users = server.users();
    assert_eq!(users.len(), 1);
    assert!(by_id(&users, &ada).is_none());
    assert!(by_id(&users, &bob).is_some());
    for method in [Method::GET, Method::DELETE] {
        let answer = send(&server, method, &format!("/Users/{ada}"), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.body["status"], "404");
    }
}

#[tokio::test]
async fn users_reads_every_page() {
    let server = Scim2Server::start(TOKEN);
    // 230 users in one bulk request: more than two pages of the harness's 100.
    let operations: Vec<Value> = (0..230)
        .map(|i| {
            json!({
                "method": "POST",
                "path": "/Users",
                "bulkId": format!("u{i}"),
                "data": user(&format!("user{i:03}@corp.example"), &format!("p:E{i:03}")),
            })
        })
        .collect();
    let answer = send(
        &server,
        Method::POST,
        "/Bulk",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations,
        })),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let results = answer.body["Operations"].as_array().expect("Operations");
    assert_eq!(results.len(), 230);
    assert!(results.iter().all(|r| r["status"] == "201"), "{results:?}");

    let users = server.users();
    let mut names: Vec<&str> = users
        .iter()
        .map(|u| u["userName"].as_str().expect("userName"))
        .collect();
    // Listed in id order, not in creation order.
    let ids: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted by id");
    names.sort_unstable();
    let expected: Vec<String> = (0..230)
        .map(|i| format!("user{i:03}@corp.example"))
        .collect();
    assert_eq!(names, expected);

    // Without count the server answers everything in one page (no pagination config).
    let all = send(&server, Method::GET, "/Users", None).await;
    assert_eq!(all.body["totalResults"], 230);
    assert_eq!(all.body["itemsPerPage"], 230);
    assert_eq!(all.body["startIndex"], 1);
    // Past the end: an empty Resources list, present.
    let past = send(&server, Method::GET, "/Users?startIndex=500&count=10", None).await;
    assert_eq!(past.body["Resources"], json!([]));
    assert_eq!(past.body["totalResults"], 230);
}

#[test]
fn two_servers_run_at_once_on_different_ports() {
    let first = Scim2Server::start(TOKEN);
    let second = Scim2Server::start("another-token");
    assert_ne!(first.port(), second.port());
    assert_ne!(first.base_url(), second.base_url());
    let answer = send_blocking(
        &first,
        Method::POST,
        "/Users",
        Some(user("ada@corp.example", "p:E1")),
    );
    assert_eq!(answer.status, StatusCode::CREATED);
    // Each has its own state and its own token.
    assert_eq!(first.users().len(), 1);
    assert!(second.users().is_empty());
    let wrong = block_on_thread({
        let url = format!("{}/Users", second.base_url());
        move || async move {
            http_client()
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("GET")
                .status()
        }
    });
    assert_eq!(wrong, StatusCode::UNAUTHORIZED);
}

#[test]
fn a_dropped_server_refuses_connections() {
    assert_drop_stops_it(Scim2Server::start(TOKEN));
}

#[test]
#[should_panic(
    expected = "scim2-server not found in $HRIS_TEST_VENV (/nonexistent/venv): \
                           run tests/python-tools.sh"
)]
fn a_missing_venv_is_a_clear_panic() {
    Scim2Server::start_in(Path::new("/nonexistent/venv"), TOKEN);
}
