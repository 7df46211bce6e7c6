//! The real third-party SCIM server `scim2-server` (PyPI, pinned in tests/python-requirements.txt)
//! for integration tests, installed by `tests/python-tools.sh` into `$HRIS_TEST_VENV` (default
//! `<repo>/.venv`).
//!
//! Every helper here works from a plain `#[test]` and from a `#[tokio::test]` alike: HTTP calls
//! run on a separate thread with its own small runtime, never on the caller's runtime.
//! Behaviour of the server worth knowing is written down in tests/it/scim2_server_harness.rs.

use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to answer its first request.
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How often readiness is polled.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// Starts tried when the free port found was taken before the server bound it.
const START_TRIES: u32 = 3;
/// The page size `users()` asks for.
const PAGE_SIZE: usize = 100;
/// What the server prints once it listens (`Serving SCIM on http://HOST:PORT/v2`).
const BANNER: &str = "Serving SCIM on http://";

/// The real third-party scim2-server (PyPI), started on 127.0.0.1 and a free port, stopped on drop.
///
/// The server keeps its resources in memory: every instance starts empty.
pub struct Scim2Server {
    child: Child,
    port: u16,
    token: String,
    log: tempfile::NamedTempFile,
}

/// The virtualenv holding the Python test tools: `$HRIS_TEST_VENV`, default `<repo>/.venv`.
pub fn venv() -> PathBuf {
    match std::env::var_os("HRIS_TEST_VENV") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"),
    }
}

/// An HTTP client for servers on the loopback: no proxy, short timeouts.
pub fn http_client() -> reqwest::Client {
    // reqwest is built without a default TLS crypto provider; plain HTTP needs one all the same
    // to build a client. Installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("cannot build an HTTP client")
}

/// Runs `make()`'s future to completion on a new thread with its own current-thread runtime, so
/// that it can be called from synchronous code and from inside a tokio runtime alike.
pub fn block_on_thread<T, F, Fut>(make: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build a tokio runtime")
            .block_on(make())
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

enum Startup {
    Ready,
    /// The child exited before it was ready; `port_taken` when it could not bind the port.
    Exited {
        port_taken: bool,
    },
    TimedOut,
}

impl Scim2Server {
    /// Starts a server accepting `token` as a static bearer token, from the virtualenv
    /// `$HRIS_TEST_VENV`, and waits until it answers. Panics, with the server's log, if it doesn't.
    pub fn start(token: &str) -> Scim2Server {
        Self::start_in(&venv(), token)
    }

    /// [`Scim2Server::start`] with the scim2-server of the virtualenv `venv`.
    pub fn start_in(venv: &Path, token: &str) -> Scim2Server {
        let program = venv.join("bin").join("scim2-server");
        if !program.is_file() {
            panic!(
                "scim2-server not found in $HRIS_TEST_VENV ({}): run tests/python-tools.sh",
                venv.display()
            );
        }
        let mut last_log = String::new();
        for _ in 0..START_TRIES {
            let mut server = Self::spawn(&program, token);
            match server.wait_ready() {
                Startup::Ready => return server,
                Startup::Exited { port_taken: true } => {
                    last_log = server.log_tail();
                    continue;
                }
                Startup::Exited { port_taken: false } => {
                    panic!(
                        "scim2-server exited before it was ready (port {}); its log ends with:\n{}",
                        server.port,
                        server.log_tail()
                    );
                }
                Startup::TimedOut => {
                    panic!(
                        "scim2-server did not answer GET /v2/ServiceProviderConfig with 200 within \
                         {READY_DEADLINE:?} (port {}); its log ends with:\n{}",
                        server.port,
                        server.log_tail()
                    );
                }
            }
        }
        panic!(
            "scim2-server could not bind a free port in {START_TRIES} tries; its last log ends \
             with:\n{last_log}"
        );
    }

    fn spawn(program: &Path, token: &str) -> Scim2Server {
        let port = free_port();
        let log = tempfile::Builder::new()
            .prefix("scim2-server-")
            .suffix(".log")
            .tempfile()
            .expect("cannot create the scim2-server log file");
        let stdout = log.reopen().expect("cannot open the scim2-server log file");
        let stderr = stdout
            .try_clone()
            .expect("cannot open the scim2-server log file");
        let child = Command::new(program)
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .args(["--bearer-token", token])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Scim2Server {
            child,
            port,
            token: token.to_owned(),
            log,
        }
    }

    /// Waits until the child prints that it listens, then until ServiceProviderConfig answers 200.
    ///
    /// The banner comes first so that a server of another test which took the same port in the
    /// meantime is never mistaken for this one: the banner is printed only after the bind.
    fn wait_ready(&mut self) -> Startup {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut listening = false;
        loop {
            if let Some(_status) = self.child.try_wait().expect("cannot poll scim2-server") {
                let log = self.log_text();
                let port_taken = log.contains("Address already in use") || log.contains("Errno 98");
                return Startup::Exited { port_taken };
            }
            listening = listening || self.log_text().contains(BANNER);
            if listening && self.probe() {
                return Startup::Ready;
            }
            if Instant::now() >= deadline {
                return Startup::TimedOut;
            }
            std::thread::sleep(POLL_EVERY);
        }
    }

    /// Whether `GET /v2/ServiceProviderConfig` answers 200 now.
    fn probe(&self) -> bool {
        let url = format!("{}/ServiceProviderConfig", self.base_url());
        let token = self.token.clone();
        block_on_thread(move || async move {
            let client = http_client();
            matches!(
                client
                    .get(url)
                    .bearer_auth(token)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await,
                Ok(response) if response.status() == reqwest::StatusCode::OK
            )
        })
    }

    /// `http://127.0.0.1:PORT/v2`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The server's state: every User resource, read with `GET /Users` page by page.
    pub fn users(&self) -> Vec<Value> {
        self.list("Users")
    }

    /// Every resource of an endpoint (`Users`, `Groups`), read page by page with `startIndex` and
    /// `count`. Panics on any answer but 200 with a ListResponse.
    pub fn list(&self, endpoint: &str) -> Vec<Value> {
        let url = format!("{}/{endpoint}", self.base_url());
        let token = self.token.clone();
        block_on_thread(move || async move {
            let client = http_client();
            let mut all = Vec::new();
            let mut start_index = 1usize;
            loop {
                let response = client
                    .get(&url)
                    .bearer_auth(&token)
                    .query(&[("startIndex", start_index), ("count", PAGE_SIZE)])
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("GET {url}: {e}"));
                let status = response.status();
                let body = response
                    .text()
                    .await
                    .unwrap_or_else(|e| panic!("GET {url}: {e}"));
                assert_eq!(status, 200, "GET {url}?startIndex={start_index}: {body}");
                let page: Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"));
                let total = page["totalResults"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("GET {url}: no totalResults: {body}"))
                    as usize;
                let resources = match page.get("Resources") {
                    Some(Value::Array(resources)) => resources.clone(),
                    None => Vec::new(),
                    Some(other) => panic!("GET {url}: Resources is not an array: {other}"),
                };
                let got = resources.len();
                all.extend(resources);
                if got == 0 || all.len() >= total {
                    return all;
                }
                start_index += got;
            }
        })
    }

    /// The end of the server's log (its stdout and stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn log_text(&self) -> String {
        let mut file: File = match self.log.reopen() {
            Ok(file) => file,
            Err(e) => return format!("(cannot read the log: {e})"),
        };
        let mut bytes = Vec::new();
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        // The venv's scim2-server script is exec'd by Python itself: no grandchildren to reap.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("cannot read a bound address")
        .port()
}
