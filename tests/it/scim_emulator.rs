//! The SCIM 2.0 emulator behaves like a real SCIM service provider (RFC 7643 / 7644), quirks
//! and failure injection included.

use std::time::{Duration, Instant};

use hris_emulators::scim::{ScimConfig, ScimEmulator, serve};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["schemas"], json!([ERROR]), "{}", self.body);
        assert_eq!(
            self.body["status"],
            json!(status.to_string()),
            "{}",
            self.body
        );
        match scim_type {
            Some(t) => assert_eq!(self.body["scimType"], json!(t), "{}", self.body),
            None => assert!(self.body.get("scimType").is_none(), "{}", self.body),
        }
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
    }
}

struct Api {
    client: Client,
    base: String,
    token: Option<String>,
}

impl Api {
    fn new(scim: &ScimEmulator) -> Api {
        Api {
            client: client(),
            base: scim.base_url(),
            token: Some("test-token".to_string()),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, HeaderValue::from_str(value).unwrap());
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body), &[]).await
    }

    async fn patch(&self, path: &str, operations: Value) -> Reply {
        self.call(Method::PATCH, path, Some(patch_op(operations)), &[])
            .await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None, &[]).await
    }
}

/// A reqwest client (reqwest is built without a default TLS crypto provider).
fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

fn ada() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "ada@acme.example",
        "externalId": "acme-hris:E1",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        "displayName": "Ada Lovelace",
        "title": "Engineer",
        "preferredLanguage": "en",
        "emails": [
            {"value": "ada@acme.example", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"}
        ],
        ENTERPRISE: {"employeeNumber": "E1", "department": "R&D", "costCenter": "CC1"}
    })
}

fn named(user_name: &str, external_id: &str) -> Value {
    json!({"userName": user_name, "externalId": external_id})
}

async fn start(config: ScimConfig) -> (ScimEmulator, Api) {
    let scim = ScimEmulator::start(config).await.expect("emulator starts");
    let api = Api::new(&scim);
    (scim, api)
}

fn user<'a>(scim_users: &'a [Value], id: &str) -> &'a Value {
    scim_users
        .iter()
        .find(|u| u["id"] == id)
        .expect("user exists")
}

#[tokio::test]
async fn requests_without_the_bearer_token_get_401() {
    let (scim, mut api) = start(ScimConfig::default()).await;
    api.token = None;
    api.get("/Users").await.assert_error(401, None);
    api.token = Some("wrong".into());
    let reply = api.get("/Users").await;
    reply.assert_error(401, None);
    assert!(reply.header("www-authenticate").is_some());
    api.token = Some("test-token".into());
    assert_eq!(api.get("/Users").await.status, StatusCode::OK);

    let log = scim.requests();
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 200]);
    assert!(
        log.iter()
            .all(|r| r.method == "GET" && r.path == "/scim/v2/Users")
    );
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test]
async fn discovery_endpoints_describe_the_configuration() {
    let config = ScimConfig {
        max_page_size: 50,
        bulk: Some((10, 2048)),
        ..ScimConfig::default()
    };
    let (_scim, api) = start(config).await;
    let spc = api.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.header("content-type"), Some("application/scim+json"));
    let spc = spc.body;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 10, "maxPayloadSize": 2048})
    );
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 50}));
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["changePassword"]["supported"], false);
    assert_eq!(spc["sort"]["supported"], false);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let types = api.get("/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 1);
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(
        types["Resources"][0]["schemaExtensions"][0]["schema"],
        ENTERPRISE
    );
    assert_eq!(api.get("/ResourceTypes/User").await.body["name"], "User");
    api.get("/ResourceTypes/Group")
        .await
        .assert_error(404, None);

    let schemas = api.get("/Schemas").await.body;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
    );
    let enterprise = api.get(&format!("/Schemas/{ENTERPRISE}")).await.body;
    assert!(
        enterprise["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "manager")
    );

    api.get("/Groups").await.assert_error(404, None);
    api.call(Method::POST, "/ServiceProviderConfig", Some(json!({})), &[])
        .await
        .assert_error(405, None);

    let (_scim, api) = start(ScimConfig {
        patch: false,
        etag: false,
        bulk: None,
        ..ScimConfig::default()
    })
    .await;
    let spc = api.get("/ServiceProviderConfig").await.body;
    assert_eq!(spc["patch"]["supported"], false);
    assert_eq!(spc["etag"]["supported"], false);
    assert_eq!(spc["bulk"]["supported"], false);
}

#[tokio::test]
async fn create_then_get_a_user() {
    let (scim, api) = start(ScimConfig::default()).await;
    let created = api.post("/Users", ada()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("content-type"),
        Some("application/scim+json")
    );
    let body = &created.body;
    let id = body["id"].as_str().expect("id assigned");
    let location = format!("{}/Users/{id}", scim.base_url());
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(body["meta"]["location"], location.as_str());
    assert_eq!(body["meta"]["version"], "W/\"1\"");
    assert!(body["meta"]["created"].is_string() && body["meta"]["lastModified"].is_string());
    assert_eq!(body["active"], true, "active defaults to true");
    assert_eq!(body[ENTERPRISE]["department"], "R&D");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE])
    );

    let fetched = api.get(&format!("/Users/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, created.body);
    assert_eq!(fetched.header("etag"), Some("W/\"1\""));
    assert_eq!(scim.users(), vec![created.body.clone()]);

    // application/json requests are accepted as well.
    let plain = api
        .client
        .post(format!("{}/Users", api.base))
        .bearer_auth("test-token")
        .json(&named("grace@acme.example", "acme-hris:E2"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::CREATED);

    api.post("/Users", json!({"displayName": "Nobody"}))
        .await
        .assert_error(400, Some("invalidValue"));
    api.post(
        "/Users",
        json!({"userName": "x@acme.example", "active": "maybe"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    api.get("/Users/does-not-exist")
        .await
        .assert_error(404, None);
    assert_eq!(scim.users().len(), 2);
}

#[tokio::test]
async fn seeded_users_are_listed_in_creation_order_and_sorted_by_id() {
    let (scim, api) = start(ScimConfig::default()).await;
    let ids: Vec<String> = (1..=3)
        .map(|i| scim.insert_user(named(&format!("u{i}@acme.example"), &format!("E{i}"))))
        .collect();
    let users = scim.users();
    let mut sorted = ids.clone();
    sorted.sort();
    let listed: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(listed, sorted);
    assert!(
        users
            .iter()
            .all(|u| u["meta"]["version"] == "W/\"1\"" && u["active"] == true)
    );

    let page = api.get("/Users").await.body;
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["u1@acme.example", "u2@acme.example", "u3@acme.example"]
    );
}

#[tokio::test]
async fn list_pages_by_start_index_and_count_capped_by_max_page_size() {
    let (scim, api) = start(ScimConfig {
        max_page_size: 3,
        ..ScimConfig::default()
    })
    .await;
    for i in 1..=7 {
        scim.insert_user(named(&format!("u{i}@acme.example"), &format!("E{i}")));
    }
    let names = |page: &Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["externalId"].as_str().unwrap().to_string())
            .collect()
    };

    let page = api.get("/Users?startIndex=1&count=2").await.body;
    assert_eq!(
        page["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(
        (
            page["totalResults"].as_u64(),
            page["itemsPerPage"].as_u64(),
            page["startIndex"].as_u64()
        ),
        (Some(7), Some(2), Some(1))
    );
    assert_eq!(names(&page), ["E1", "E2"]);

    let page = api.get("/Users?startIndex=3&count=2").await.body;
    assert_eq!(names(&page), ["E3", "E4"]);
    assert_eq!(page["startIndex"], 3);

    // count above max_page_size is capped; no count means max_page_size.
    let page = api.get("/Users?startIndex=2&count=50").await.body;
    assert_eq!(names(&page), ["E2", "E3", "E4"]);
    assert_eq!(names(&api.get("/Users").await.body), ["E1", "E2", "E3"]);

    // The last page, and past the end.
    assert_eq!(
        names(&api.get("/Users?startIndex=7&count=3").await.body),
        ["E7"]
    );
    let past = api.get("/Users?startIndex=20").await.body;
    assert_eq!(
        (past["totalResults"].as_u64(), past["itemsPerPage"].as_u64()),
        (Some(7), Some(0))
    );

    // count=0 gives only totalResults.
    let counted = api.get("/Users?count=0").await.body;
    assert_eq!(counted["totalResults"], 7);
    assert_eq!(counted["itemsPerPage"], 0);
    assert!(counted["Resources"].as_array().is_none_or(Vec::is_empty));

    api.get("/Users?count=many")
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn quirks_ignore_count_and_miscount_total() {
    let config = ScimConfig {
        max_page_size: 4,
        ignore_count: true,
        miscount_total: true,
        ..ScimConfig::default()
    };
    let (scim, api) = start(config).await;
    for i in 1..=6 {
        scim.insert_user(named(&format!("u{i}@acme.example"), &format!("E{i}")));
    }
    let page = api.get("/Users?startIndex=1&count=2").await.body;
    assert_eq!(page["itemsPerPage"], 4, "count is ignored");
    assert_eq!(page["Resources"].as_array().unwrap().len(), 4);
    assert_eq!(page["totalResults"], 13, "6 users reported as 13");
    let page = api.get("/Users?startIndex=5&count=2").await.body;
    assert_eq!(page["Resources"].as_array().unwrap().len(), 2);
    let filtered = api
        .get("/Users?filter=externalId%20eq%20%22E3%22")
        .await
        .body;
    assert_eq!(filtered["totalResults"], 8);
    assert_eq!(filtered["Resources"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn filters_select_users() {
    let (scim, api) = start(ScimConfig::default()).await;
    let ada = scim.insert_user(ada());
    let grace = scim.insert_user(json!({
        "userName": "grace@acme.example",
        "externalId": "acme-hris:E2",
        "title": "Admiral",
        "emails": [{"value": "grace@acme.example", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "E2"}
    }));
    let inactive = scim.insert_user(json!({"userName": "nobody@acme.example", "active": false}));

    let query = |filter: &str| {
        let api = &api;
        let filter = filter.to_string();
        async move {
            let reply = api
                .client
                .get(format!("{}/Users", api.base))
                .bearer_auth("test-token")
                .query(&[("filter", filter.as_str())])
                .send()
                .await
                .unwrap();
            let status = reply.status();
            let body: Value = reply.json().await.unwrap();
            (status, body)
        }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    };

    let by_id = format!(r#"id eq "{ada}""#);
    let cases: Vec<(&str, Vec<&String>)> = vec![
        (r#"userName eq "ADA@acme.example""#, vec![&ada]),
        (r#"externalId eq "acme-hris:E2""#, vec![&grace]),
        (r#"externalId eq "ACME-HRIS:E2""#, vec![]),
        (r#"emails.value eq "grace@acme.example""#, vec![&grace]),
        (&by_id, vec![&ada]),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "E1""#,
            vec![&ada],
        ),
        (
            r#"userName eq "ada@acme.example" and externalId eq "acme-hris:E1""#,
            vec![&ada],
        ),
        (
            r#"userName eq "ada@acme.example" and externalId eq "acme-hris:E2""#,
            vec![],
        ),
        ("title pr", vec![&ada, &grace]),
        (r#"emails[type eq "home"]"#, vec![&ada]),
        ("active eq false", vec![&inactive]),
    ];
    for (filter, expected) in cases {
        let (status, body) = query(filter).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&body), expected, "{filter}");
        assert_eq!(body["totalResults"], expected.len(), "{filter}");
    }

    for bad in [
        r#"userName eq"#,
        r#"userName zz "a""#,
        r#"(userName eq "a""#,
        r#"urn:example:foo eq "a""#,
    ] {
        let (status, body) = query(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["scimType"], "invalidFilter", "{bad}");
    }
}

#[tokio::test]
async fn patch_applies_rfc_operations_and_tolerates_client_quirks() {
    let (scim, api) = start(ScimConfig::default()).await;
    let manager = scim.insert_user(named("boss@acme.example", "acme-hris:E0"));
    let id = scim.insert_user(ada());
    let path = format!("/Users/{id}");

    // Op names are case-insensitive; plain, sub-attribute and extension paths.
    let reply = api
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "title", "value": "Principal Engineer"},
                {"op": "replace", "path": "name.givenName", "value": "Augusta"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Engineering"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": manager}},
                {"op": "REPLACE", "path": "emails[type eq \"work\"].value", "value": "augusta@acme.example"},
                {"op": "replace", "path": "active", "value": "False"},
            ]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    let users = scim.users();
    let stored = user(&users, &id);
    assert_eq!(reply.body, *stored, "PATCH answers with the resource");
    assert_eq!(stored["title"], "Principal Engineer");
    assert_eq!(
        stored["name"],
        json!({"givenName": "Augusta", "familyName": "Lovelace", "formatted": "Ada Lovelace"})
    );
    assert_eq!(stored[ENTERPRISE]["department"], "Engineering");
    assert_eq!(stored[ENTERPRISE]["costCenter"], "CC1");
    assert_eq!(stored[ENTERPRISE]["manager"], json!({"value": manager}));
    assert_eq!(stored["active"], false, "boolean strings are accepted");
    assert_eq!(
        stored["emails"],
        json!([
            {"value": "augusta@acme.example", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"}
        ])
    );
    assert_eq!(stored["meta"]["version"], "W/\"2\"");

    // Manager as a plain id string, then through manager.value; no-path merges with an extension key.
    api.patch(
        &path,
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": "m-1"}]),
    )
    .await;
    assert_eq!(
        user(&scim.users(), &id)[ENTERPRISE]["manager"],
        json!({"value": "m-1"})
    );
    api.patch(
        &path,
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": manager}]),
    )
    .await;
    assert_eq!(
        user(&scim.users(), &id)[ENTERPRISE]["manager"],
        json!({"value": manager})
    );
    let reply = api
        .patch(
            &path,
            json!([{"op": "replace", "value": {
                "active": "true",
                "displayName": "Augusta Ada King",
                "preferredLanguage": "en-GB",
                ENTERPRISE: {"division": "Analytical Engines", "department": "Research"}
            }}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let users = scim.users();
    let stored = user(&users, &id);
    assert_eq!(stored["active"], true);
    assert_eq!(stored["displayName"], "Augusta Ada King");
    assert_eq!(stored["preferredLanguage"], "en-GB");
    assert_eq!(stored[ENTERPRISE]["division"], "Analytical Engines");
    assert_eq!(stored[ENTERPRISE]["department"], "Research");
    assert_eq!(
        stored[ENTERPRISE]["employeeNumber"], "E1",
        "merge keeps other extension attributes"
    );

    // add with a value filter that matches nothing creates the value; remove paths.
    let reply = api
        .patch(
            &path,
            json!([
                {"op": "add", "path": "emails[type eq \"other\"].value", "value": "ada@other.example"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "remove", "path": "title"},
                {"op": "remove", "path": "active"},
                {"op": "remove", "path": format!("{ENTERPRISE}:manager")},
                {"op": "replace", "path": "externalId", "value": "acme-hris:E1b"},
            ]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let users = scim.users();
    let stored = user(&users, &id);
    assert_eq!(
        stored["emails"],
        json!([
            {"value": "augusta@acme.example", "type": "work", "primary": true},
            {"type": "other", "value": "ada@other.example"}
        ])
    );
    assert!(stored.get("title").is_none());
    assert!(stored.get("active").is_none(), "PATCH may unassign active");
    assert!(stored[ENTERPRISE].get("manager").is_none());
    assert_eq!(stored["externalId"], "acme-hris:E1b");
    assert_eq!(stored["meta"]["version"], "W/\"6\"");

    // Errors: replace with a filter matching nothing, unknown op, read-only path, no PatchOp schema.
    api.patch(
        &path,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@y"}]),
    )
    .await
    .assert_error(400, Some("noTarget"));
    api.patch(
        &path,
        json!([{"op": "move", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    api.patch(
        &path,
        json!([{"op": "replace", "path": "id", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("mutability"));
    api.patch(&path, json!([{"op": "remove", "path": "userName"}]))
        .await
        .assert_error(400, Some("invalidValue"));
    api.call(Method::PATCH, &path, Some(json!({"Operations": []})), &[])
        .await
        .assert_error(400, Some("invalidSyntax"));
    api.patch(
        "/Users/unknown",
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(404, None);
    assert_eq!(
        user(&scim.users(), &id)["meta"]["version"],
        "W/\"6\"",
        "failed PATCHes change nothing"
    );
}

#[tokio::test]
async fn patch_answers_501_when_unsupported() {
    let (scim, api) = start(ScimConfig {
        patch: false,
        ..ScimConfig::default()
    })
    .await;
    let id = scim.insert_user(ada());
    api.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(501, None);
    assert_eq!(user(&scim.users(), &id)["title"], "Engineer");
}

#[tokio::test]
async fn put_replaces_the_user_but_keeps_id_and_created() {
    let (scim, api) = start(ScimConfig::default()).await;
    let id = scim.insert_user(ada());
    let before = user(&scim.users(), &id).clone();
    let reply = api
        .put(
            &format!("/Users/{id}"),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "ignored",
                "userName": "ada.king@acme.example",
                "externalId": "acme-hris:E1",
                "active": "false",
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    let users = scim.users();
    let after = user(&users, &id);
    assert_eq!(reply.body, *after);
    assert_eq!(after["userName"], "ada.king@acme.example");
    assert_eq!(after["active"], false);
    assert!(
        after.get("title").is_none() && after.get(ENTERPRISE).is_none(),
        "PUT replaces everything"
    );
    assert_eq!(
        after["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert_eq!(after["meta"]["created"], before["meta"]["created"]);
    assert_eq!(after["meta"]["version"], "W/\"2\"");

    api.put("/Users/unknown", named("x@acme.example", "E9"))
        .await
        .assert_error(404, None);
    api.put(&format!("/Users/{id}"), json!({"title": "no userName"}))
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn delete_removes_the_user() {
    let (scim, api) = start(ScimConfig::default()).await;
    let id = scim.insert_user(ada());
    let keep = scim.insert_user(named("grace@acme.example", "E2"));
    let reply = api.delete(&format!("/Users/{id}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null);
    api.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    api.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    let users = scim.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["id"], keep.as_str());
    // The userName is free again.
    assert_eq!(api.post("/Users", ada()).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn user_names_are_unique_case_insensitively() {
    let (scim, api) = start(ScimConfig::default()).await;
    let ada_id = scim.insert_user(ada());
    let grace = scim.insert_user(named("grace@acme.example", "E2"));

    api.post("/Users", named("ADA@ACME.example", "E3"))
        .await
        .assert_error(409, Some("uniqueness"));
    api.put(&format!("/Users/{grace}"), named("Ada@Acme.Example", "E2"))
        .await
        .assert_error(409, Some("uniqueness"));
    api.patch(
        &format!("/Users/{grace}"),
        json!([{"op": "replace", "path": "userName", "value": "ada@acme.EXAMPLE"}]),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(scim.users().len(), 2);
    assert_eq!(
        user(&scim.users(), &grace)["userName"],
        "grace@acme.example"
    );

    // Changing the case of one's own userName is not a conflict.
    let reply = api
        .patch(
            &format!("/Users/{ada_id}"),
            json!([{"op": "replace", "path": "userName", "value": "Ada@Acme.Example"}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn if_match_with_a_stale_version_gets_412() {
    let (scim, api) = start(ScimConfig::default()).await;
    let id = scim.insert_user(ada());
    let path = format!("/Users/{id}");
    let title = |t: &str| {
        Some(patch_op(
            json!([{"op": "replace", "path": "title", "value": t}]),
        ))
    };

    let reply = api
        .call(
            Method::PATCH,
            &path,
            title("One"),
            &[("If-Match", "W/\"1\"")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("etag"), Some("W/\"2\""));

    api.call(
        Method::PATCH,
        &path,
        title("Two"),
        &[("If-Match", "W/\"1\"")],
    )
    .await
    .assert_error(412, None);
    api.call(
        Method::PUT,
        &path,
        Some(named("ada@acme.example", "E1")),
        &[("If-Match", "W/\"1\"")],
    )
    .await
    .assert_error(412, None);
    api.call(Method::DELETE, &path, None, &[("If-Match", "W/\"1\"")])
        .await
        .assert_error(412, None);
    assert_eq!(user(&scim.users(), &id)["title"], "One");

    // No If-Match, or "*", is allowed.
    assert_eq!(
        api.call(Method::PATCH, &path, title("Three"), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.call(Method::PATCH, &path, title("Four"), &[("If-Match", "*")])
            .await
            .status,
        StatusCode::OK
    );
    let reply = api
        .call(Method::DELETE, &path, None, &[("If-Match", "W/\"4\"")])
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // With ETags off: no ETag header and If-Match is not enforced.
    let (scim, api) = start(ScimConfig {
        etag: false,
        ..ScimConfig::default()
    })
    .await;
    let id = scim.insert_user(ada());
    let path = format!("/Users/{id}");
    assert!(api.get(&path).await.header("etag").is_none());
    let reply = api
        .call(
            Method::PATCH,
            &path,
            title("x"),
            &[("If-Match", "W/\"99\"")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("etag").is_none());
}

#[tokio::test]
async fn bulk_reports_each_operation_and_counts_as_one_request() {
    let (scim, api) = start(ScimConfig::default()).await;
    let existing = scim.insert_user(named("grace@acme.example", "E2"));
    let doomed = scim.insert_user(named("old@acme.example", "E3"));
    scim.insert_user(named("blocked@acme.example", "E4"));
    scim.fail_user("BLOCKED@acme.example", 503);
    let requests_before = scim.requests().len();

    let reply = api
        .post(
            "/Bulk",
            json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    {"method": "POST", "bulkId": "b1", "path": "/Users", "data": ada()},
                    {"method": "POST", "bulkId": "b2", "path": "/Users", "data": named("Grace@acme.example", "E5")},
                    {"method": "PATCH", "path": "/Users/bulkId:b1", "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Lead"}]))},
                    {"method": "PATCH", "path": "/Users/nope", "data": patch_op(json!([{"op": "replace", "path": "title", "value": "x"}]))},
                    {"method": "PUT", "path": format!("/Users/{existing}"), "version": "W/\"1\"", "data": json!({"userName": "grace@acme.example", "title": "Admiral"})},
                    {"method": "POST", "bulkId": "b3", "path": "/Users", "data": named("blocked@acme.example", "E6")},
                    {"method": "DELETE", "path": format!("/Users/{doomed}")},
                ]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let ops = reply.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "409", "200", "404", "200", "503", "204"]);
    assert_eq!(ops[0]["bulkId"], "b1");
    assert_eq!(ops[0]["method"], "POST");
    assert_eq!(ops[0]["version"], "W/\"1\"");
    let ada_location = ops[0]["location"].as_str().unwrap();
    assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[1]["response"]["status"], "409");
    assert_eq!(ops[2]["location"], ada_location);
    assert_eq!(ops[2]["version"], "W/\"2\"");
    assert_eq!(ops[3]["response"]["status"], "404");
    assert_eq!(ops[5]["response"]["status"], "503");

    let users = scim.users();
    assert_eq!(users.len(), 3, "ada added, old deleted");
    let ada = users
        .iter()
        .find(|u| u["userName"] == "ada@acme.example")
        .unwrap();
    assert_eq!(ada["title"], "Lead");
    assert_eq!(ada_location, ada["meta"]["location"]);
    assert_eq!(user(&users, &existing)["title"], "Admiral");
    assert!(users.iter().all(|u| u["id"] != doomed.as_str()));

    let log = scim.requests();
    assert_eq!(log.len(), requests_before + 1);
    assert_eq!(
        (
            log[requests_before].method.as_str(),
            log[requests_before].path.as_str()
        ),
        ("POST", "/scim/v2/Bulk")
    );

    // failOnErrors stops after that many errors.
    let reply = api
        .post(
            "/Bulk",
            json!({
                "schemas": [BULK_REQUEST],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "DELETE", "path": "/Users/nope"},
                    {"method": "POST", "bulkId": "x", "path": "/Users", "data": named("new@acme.example", "E7")},
                ]
            }),
        )
        .await;
    assert_eq!(reply.body["Operations"].as_array().unwrap().len(), 1);
    assert_eq!(scim.users().len(), 3);
}

#[tokio::test]
async fn bulk_limits_are_enforced() {
    let (scim, api) = start(ScimConfig {
        bulk: Some((2, 600)),
        ..ScimConfig::default()
    })
    .await;
    let op = |i: usize| json!({"method": "POST", "bulkId": format!("b{i}"), "path": "/Users", "data": named(&format!("u{i}@acme.example"), "E")});
    api.post(
        "/Bulk",
        json!({"schemas": [BULK_REQUEST], "Operations": [op(1), op(2), op(3)]}),
    )
    .await
    .assert_error(413, Some("tooMany"));
    let padding = "x".repeat(600);
    api.post(
        "/Bulk",
        json!({"schemas": [BULK_REQUEST], "Operations": [op(1)], "padding": padding}),
    )
    .await
    .assert_error(413, Some("tooLarge"));
    assert!(scim.users().is_empty());
    let reply = api
        .post(
            "/Bulk",
            json!({"schemas": [BULK_REQUEST], "Operations": [op(1), op(2)]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(scim.users().len(), 2);

    let (_scim, api) = start(ScimConfig {
        bulk: None,
        ..ScimConfig::default()
    })
    .await;
    api.post(
        "/Bulk",
        json!({"schemas": [BULK_REQUEST], "Operations": [op(1)]}),
    )
    .await
    .assert_error(501, None);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_before_auth() {
    let config = ScimConfig {
        requests_per_second: Some(0.001),
        burst: 2,
        ..ScimConfig::default()
    };
    let (scim, mut api) = start(config).await;
    assert_eq!(api.get("/Users").await.status, StatusCode::OK);
    api.token = None;
    api.get("/Users").await.assert_error(401, None);
    let limited = api.get("/Users").await;
    limited.assert_error(429, None);
    assert_eq!(limited.body["detail"], "rate limit");
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    api.token = Some("test-token".into());
    api.get("/Users").await.assert_error(429, None);
    let statuses: Vec<u16> = scim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 429, 429]);
}

#[tokio::test]
async fn fail_next_injects_failures_in_order() {
    let (scim, api) = start(ScimConfig::default()).await;
    scim.fail_next(2, 503, Some(7));
    scim.fail_next(1, 500, None);
    let first = api.get("/Users").await;
    first.assert_error(503, None);
    assert_eq!(first.header("retry-after"), Some("7"));
    api.post("/Users", ada()).await.assert_error(503, None);
    let third = api.get("/Users").await;
    third.assert_error(500, None);
    assert!(third.header("retry-after").is_none());
    assert_eq!(api.get("/Users").await.status, StatusCode::OK);
    assert!(scim.users().is_empty(), "the failed POST stored nothing");
    let statuses: Vec<u16> = scim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 500, 200]);
}

#[tokio::test]
async fn fail_user_fails_every_write_for_that_user() {
    let (scim, api) = start(ScimConfig::default()).await;
    let id = scim.insert_user(ada());
    scim.fail_user("Ada@Acme.Example", 500);
    scim.fail_user("new@acme.example", 422);

    let path = format!("/Users/{id}");
    api.patch(
        &path,
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(500, None);
    api.put(&path, ada()).await.assert_error(500, None);
    api.delete(&path).await.assert_error(500, None);
    api.post("/Users", named("NEW@acme.example", "E9"))
        .await
        .assert_error(422, None);
    // Renaming someone to a failing userName fails too; reads and other users are fine.
    let grace = scim.insert_user(named("grace@acme.example", "E2"));
    api.patch(
        &format!("/Users/{grace}"),
        json!([{"op": "replace", "path": "userName", "value": "new@acme.example"}]),
    )
    .await
    .assert_error(422, None);
    assert_eq!(api.get(&path).await.status, StatusCode::OK);
    assert_eq!(
        api.delete(&format!("/Users/{grace}")).await.status,
        StatusCode::NO_CONTENT
    );
    let users = scim.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["title"], "Engineer");
}

#[tokio::test]
async fn latency_delays_every_response() {
    let latency = Duration::from_millis(120);
    let (scim, mut api) = start(ScimConfig {
        latency,
        ..ScimConfig::default()
    })
    .await;
    let started = Instant::now();
    assert_eq!(
        api.get("/ServiceProviderConfig").await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= latency);
    api.token = None;
    let started = Instant::now();
    api.get("/Users").await.assert_error(401, None);
    assert!(started.elapsed() >= latency, "errors are delayed too");
    let log = scim.requests();
    assert!(
        log[1].at >= log[0].at + latency,
        "arrival is logged before waiting"
    );
}

#[tokio::test]
async fn booleans_as_strings_quirk_only_changes_the_wire() {
    let (scim, api) = start(ScimConfig {
        booleans_as_strings: true,
        ..ScimConfig::default()
    })
    .await;
    let created = api.post("/Users", ada()).await;
    assert_eq!(created.body["active"], "true");
    let id = created.body["id"].as_str().unwrap();
    let patched = api
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(patched.body["active"], "false");
    assert_eq!(
        api.get("/Users").await.body["Resources"][0]["active"],
        "false"
    );
    assert_eq!(scim.users()[0]["active"], false);
}

#[tokio::test]
async fn search_and_attribute_projection() {
    let (scim, api) = start(ScimConfig::default()).await;
    let id = scim.insert_user(ada());
    scim.insert_user(named("grace@acme.example", "E2"));

    let reply = api
        .post(
            "/Users/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "externalId eq \"acme-hris:E1\"",
                "attributes": ["userName", "emails.value", format!("{ENTERPRISE}:department")],
                "startIndex": 1,
                "count": 10
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["totalResults"], 1);
    let found = &reply.body["Resources"][0];
    assert_eq!(found["id"], id.as_str());
    assert_eq!(found["userName"], "ada@acme.example");
    assert_eq!(
        found["emails"],
        json!([{"value": "ada@acme.example"}, {"value": "ada@home.example"}])
    );
    assert_eq!(found[ENTERPRISE], json!({"department": "R&D"}));
    assert!(found.get("title").is_none() && found.get("meta").is_none());

    // A search from the root covers all resource types, i.e. Users.
    let root = api
        .post(
            "/.search",
            json!({"filter": "userName eq \"grace@acme.example\"", "excludedAttributes": ["meta"]}),
        )
        .await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.body);
    assert_eq!(root.body["totalResults"], 1);
    assert_eq!(root.body["Resources"][0]["externalId"], "E2");
    assert!(root.body["Resources"][0].get("meta").is_none());

    let reply = api
        .get(&format!(
            "/Users/{id}?excludedAttributes=emails,name.givenName"
        ))
        .await;
    assert!(reply.body.get("emails").is_none());
    assert_eq!(
        reply.body["name"],
        json!({"familyName": "Lovelace", "formatted": "Ada Lovelace"})
    );
    assert_eq!(reply.body["id"], id.as_str());
}

#[tokio::test]
async fn stop_shuts_the_server_down() {
    let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    let base = scim.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/scim/v2"));
    let api = Api::new(&scim);
    assert_eq!(api.get("/Users").await.status, StatusCode::OK);
    scim.stop().await;
    let after = client()
        .get(format!("{base}/Users"))
        .bearer_auth("test-token")
        .send()
        .await;
    assert!(after.is_err(), "nothing listens any more");
}

#[tokio::test]
async fn serve_runs_on_a_listener_bound_by_the_caller() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(
        ScimConfig {
            token: "cli".into(),
            ..ScimConfig::default()
        },
        listener,
    ));
    let base = format!("http://{address}/scim/v2");
    let client = client();
    let created = client
        .post(format!("{base}/Users"))
        .bearer_auth("cli")
        .json(&ada())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert!(
        body["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with(&base)
    );
    server.abort();
}
