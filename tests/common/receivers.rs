//! Receivers of notifications for the tests: an HTTP server standing in for a Slack or Teams
//! webhook or a CloudEvents endpoint (axum on 127.0.0.1, a free port), which keeps every
//! request and answers the statuses a test scripts; and the real SMTP server of
//! `tests/smtp/serve.py` (aiosmtpd) as a child process. Both stop when dropped.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::Value;

use super::child_server::venv;

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// The path (with the query, if any).
    pub path: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e})", self.path))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Received>,
    /// Statuses to answer next, in order; 200 once they are used up.
    script: VecDeque<u16>,
}

/// An HTTP receiver on 127.0.0.1 that answers every POST, keeps it, and stops on drop.
pub struct HttpReceiver {
    shared: Arc<Mutex<Shared>>,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn receive(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut shared = shared.lock().unwrap();
    let status = shared.script.pop_front().unwrap_or(200);
    shared.requests.push(Received {
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

impl HttpReceiver {
    /// Starts a receiver on a free port of 127.0.0.1 (inside a tokio runtime).
    pub async fn start() -> HttpReceiver {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new()
            .fallback(post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        HttpReceiver {
            shared,
            port,
            stop: Some(stop),
        }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next requests are answered these statuses, in order (then 200 again).
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.lock().unwrap().script.extend(statuses);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// The requests answered with a 2xx: the messages delivered.
    pub fn delivered(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An email the SMTP server accepted, as Python's `email` package read it.
#[derive(Clone, Debug)]
pub struct Email {
    /// `mailFrom`, `rcptTos`, `subject`, `from`, `to`, `messageId`, `contentType`, and
    /// `parts`: `[{contentType, text}]` of every leaf part.
    pub record: Value,
    /// The message as it came over the wire.
    pub raw: String,
}

impl Email {
    /// The decoded text of the first leaf part of this content type.
    pub fn part(&self, content_type: &str) -> Option<String> {
        self.record["parts"]
            .as_array()?
            .iter()
            .find(|p| p["contentType"] == content_type)
            .and_then(|p| p["text"].as_str())
            .map(|text| text.replace("\r\n", "\n"))
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        self.record["subject"].as_str().unwrap_or_default()
    }
}

/// The SMTP server of `tests/smtp/serve.py` (aiosmtpd) as a child process: started on a free
/// port, ready once it prints that it listens, stopped on drop.
pub struct SmtpServer {
    child: Child,
    port: u16,
    folder: tempfile::TempDir,
    _stdin: Option<ChildStdin>,
}

impl SmtpServer {
    /// Starts the server; the first `defer` messages are answered 451 (try again later).
    pub fn start(defer: u32) -> SmtpServer {
        let folder = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/serve.py");
        let mut child = Command::new(venv().join("bin/python"))
            .arg(script)
            .arg(folder.path().join("messages"))
            .arg("--defer")
            .arg(defer.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start tests/smtp/serve.py with {} (run tests/python-tools.sh): {e}",
                    venv().display()
                )
            });
        let stdin = child.stdin.take();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let port = banner
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "tests/smtp/serve.py did not say where it listens (aiosmtpd installed by \
                     tests/python-tools.sh?); it printed {banner:?}"
                )
            });
        SmtpServer {
            child,
            port,
            folder,
            _stdin: stdin,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The emails accepted so far, in the order they came.
    pub fn emails(&self) -> Vec<Email> {
        let dir = self.folder.path().join("messages");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .into_iter()
            .map(|json| Email {
                record: serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap(),
                raw: std::fs::read_to_string(json.with_extension("eml")).unwrap(),
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Closing its standard input ends it; the kill is for a server that hangs.
        self._stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
