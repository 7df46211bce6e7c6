//! Proves the SCIMMY harness (tests/common/scimmy.rs and tests/scimmy/server.js): the server
//! reports the port it chose, answers only the right token, refuses a taken userName with SCIM's
//! 409 `uniqueness` error, and never outlives its test (it exits when dropped, on SIGTERM, and
//! when its standard input closes, as it does when the test process is killed). What SCIMMY
//! itself does is written down in the header of tests/scimmy/server.js.
//!
//! Needs the packages `tests/python-tools.sh` installs into `$HRIS_TEST_VENV/scimmy`.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    child_server::{assert_drop_stops_it, block_on_thread, http_client, venv},
    scimmy::{ScimmyServer, script},
};
use serde_json::{Value, json};

const TOKEN: &str = "scimmy-harness-token";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// `POST /Users` with `body` and `token`: the status and the parsed body.
fn post_user(server: &ScimmyServer, token: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/Users", server.base_url());
    let token = token.to_owned();
    block_on_thread(move || async move {
        let response = http_client()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("POST /Users");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

fn user(user_name: &str) -> Value {
    json!({"schemas": [CORE], "userName": user_name, "externalId": format!("x:{user_name}")})
}

#[test]
fn reports_its_port_and_answers_only_its_token() {
    let server = ScimmyServer::start(TOKEN);
    assert!(
        server
            .base_url()
            .starts_with(&format!("http://127.0.0.1:{}/", server.port())),
        "{}",
        server.base_url()
    );
    assert_eq!(post_user(&server, TOKEN, user("ada@corp.example")).0, 201);
    let (status, body) = post_user(&server, "wrong-token", user("bob@corp.example"));
    assert_eq!(status, 401);
    assert_eq!(body["status"], "401", "{body}");
    assert_eq!(server.users().len(), 1);
}

#[test]
fn a_taken_user_name_is_a_uniqueness_conflict_whatever_its_case() {
    let server = ScimmyServer::start(TOKEN);
    assert_eq!(post_user(&server, TOKEN, user("ada@corp.example")).0, 201);
    let (status, body) = post_user(&server, TOKEN, user("ADA@corp.example"));
    assert_eq!(status, 409);
    assert_eq!(
        (&body["status"], &body["scimType"]),
        (&json!("409"), &json!("uniqueness")),
        "{body}"
    );
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
}

#[test]
fn a_dropped_server_refuses_connections() {
    assert_drop_stops_it(ScimmyServer::start(TOKEN));
}

/// Starts server.js by hand with a piped standard input, and waits for its banner.
fn spawn_by_hand() -> Child {
    let modules = venv().join("scimmy").join("node_modules");
    let mut child = Command::new("node")
        .arg(script())
        .args(["--port", "0", "--token", TOKEN])
        .env("NODE_PATH", modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let mut banner = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.starts_with("SCIMMY server on http://127.0.0.1:"),
        "{banner:?}"
    );
    child
}

/// Whether the child exits within a few seconds (it is killed otherwise).
fn exits_soon(child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

#[test]
fn the_server_exits_when_its_standard_input_closes() {
    let mut child = spawn_by_hand();
    drop(child.stdin.take());
    assert!(exits_soon(&mut child), "still running after stdin closed");
}

#[test]
fn the_server_exits_on_sigterm() {
    let mut child = spawn_by_hand();
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    assert!(exits_soon(&mut child), "still running after SIGTERM");
    drop(child.stdin.take());
}

#[test]
#[should_panic(expected = "SCIMMY not found in $HRIS_TEST_VENV (/nonexistent/venv): \
                           run tests/python-tools.sh")]
fn a_missing_install_is_a_clear_panic() {
    ScimmyServer::start_in(Path::new("/nonexistent/venv"), TOKEN);
}
