//! A third-party SCIM server run as a child process for integration tests (scim2-server from
//! PyPI, SCIMMY from npm): started on a free port, ready once it has printed the line saying it
//! listens and `GET /ServiceProviderConfig` answers 200, stopped on drop, its log at hand for
//! failure messages.
//!
//! Every helper here works from a plain `#[test]` and from a `#[tokio::test]` alike: HTTP calls
//! run on a separate thread with its own small runtime, never on the caller's runtime.

use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
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

/// The virtualenv holding the test tools: `$HRIS_TEST_VENV`, default `<repo>/.venv`.
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

/// How a server comes to its port.
pub enum Port {
    /// The harness finds a free port and passes it; the start is tried again when the server's
    /// log holds one of these texts (another process took the port in between).
    Picked { taken: &'static [&'static str] },
    /// The harness passes port 0; the server binds a free one and prints it in its banner.
    FromBanner,
}

/// What the harness needs to know of a server program.
pub struct Launch<'a> {
    /// The server's name in failure messages.
    pub name: &'a str,
    /// The text right before the base URL (`http://HOST:PORT/PREFIX`) on the line the server
    /// prints once it listens.
    pub banner: &'a str,
    pub port: Port,
    /// The bearer token the server is started with.
    pub token: &'a str,
}

enum Startup {
    Ready(String),
    /// The child exited before it was ready; `port_taken` when it could not bind the port.
    Exited {
        port_taken: bool,
    },
    TimedOut,
}

/// A server child process, stopped on drop. The server keeps its resources in memory: every
/// instance starts empty.
pub struct ChildServer {
    child: Child,
    name: String,
    base_url: String,
    token: String,
    log: tempfile::NamedTempFile,
    /// The write end of the child's standard input: a server that watches it exits when the
    /// test process ends, even by a kill that runs no destructor.
    _stdin: Option<ChildStdin>,
}

impl ChildServer {
    /// Starts the server `command(port)` builds and waits until it answers. Panics, with the
    /// server's log, if it doesn't.
    pub fn start(launch: &Launch, command: impl Fn(u16) -> Command) -> ChildServer {
        let name = launch.name;
        let mut last_log = String::new();
        for _ in 0..START_TRIES {
            let port = match launch.port {
                Port::Picked { .. } => free_port(),
                Port::FromBanner => 0,
            };
            let mut server = Self::spawn(launch, command(port));
            match server.wait_ready(launch) {
                Startup::Ready(base_url) => {
                    server.base_url = base_url;
                    return server;
                }
                Startup::Exited { port_taken: true } => {
                    last_log = server.log_tail();
                    continue;
                }
                Startup::Exited { port_taken: false } => {
                    panic!(
                        "{name} exited before it was ready (port {port}); its log ends with:\n{}",
                        server.log_tail()
                    );
                }
                Startup::TimedOut => {
                    panic!(
                        "{name} did not print its banner and answer GET …/ServiceProviderConfig \
                         with 200 within {READY_DEADLINE:?} (port {port}); its log ends with:\n{}",
                        server.log_tail()
                    );
                }
            }
        }
        panic!(
            "{name} could not bind a free port in {START_TRIES} tries; its last log ends \
             with:\n{last_log}"
        );
    }

    fn spawn(launch: &Launch, mut command: Command) -> ChildServer {
        let log = tempfile::Builder::new()
            .prefix(&format!("{}-", launch.name))
            .suffix(".log")
            .tempfile()
            .expect("cannot create a server log file");
        let stdout = log.reopen().expect("cannot open the server log file");
        let stderr = stdout.try_clone().expect("cannot open the server log file");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", launch.name));
        let stdin = child.stdin.take();
        ChildServer {
            child,
            name: launch.name.to_owned(),
            base_url: String::new(),
            token: launch.token.to_owned(),
            log,
            _stdin: stdin,
        }
    }

    /// Waits until the child prints that it listens, then until ServiceProviderConfig answers
    /// 200 at the base URL it printed.
    ///
    /// The banner comes first so that a server of another test which took the same port in the
    /// meantime is never mistaken for this one: the banner is printed only after the bind.
    fn wait_ready(&mut self, launch: &Launch) -> Startup {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut base_url = None;
        loop {
            if let Some(_status) = self.child.try_wait().expect("cannot poll a server child") {
                let log = self.log_text();
                let port_taken = match launch.port {
                    Port::Picked { taken } => taken.iter().any(|text| log.contains(text)),
                    Port::FromBanner => false,
                };
                return Startup::Exited { port_taken };
            }
            if base_url.is_none() {
                base_url = banner_url(&self.log_text(), launch.banner);
            }
            if let Some(url) = &base_url
                && self.probe(url)
            {
                return Startup::Ready(url.clone());
            }
            if Instant::now() >= deadline {
                return Startup::TimedOut;
            }
            std::thread::sleep(POLL_EVERY);
        }
    }

    /// Whether `GET {base_url}/ServiceProviderConfig` answers 200 now.
    fn probe(&self, base_url: &str) -> bool {
        let url = format!("{base_url}/ServiceProviderConfig");
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

    /// The base URL the server printed (`http://127.0.0.1:PORT/…`), without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn port(&self) -> u16 {
        reqwest::Url::parse(&self.base_url)
            .ok()
            .and_then(|url| url.port())
            .unwrap_or_else(|| panic!("{}: no port in {}", self.name, self.base_url))
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
    /// `count` until `totalResults` are read. Panics on any answer but 200 with a ListResponse.
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

impl Drop for ChildServer {
    fn drop(&mut self) {
        // Both servers are the child itself (the venv's script is exec'd by Python, server.js
        // runs in node): no grandchildren to reap.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that `server` listens, drops it, and asserts that nothing listens on its port then.
pub fn assert_drop_stops_it<S: std::ops::Deref<Target = ChildServer>>(server: S) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()));
    TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("listening");
    drop(server);
    let error = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .expect_err("nothing listens after drop");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// The base URL on the first log line holding `banner`: the text after it, up to white space.
fn banner_url(log: &str, banner: &str) -> Option<String> {
    log.lines().find_map(|line| {
        let (_, rest) = line.split_once(banner)?;
        let url = rest.split_whitespace().next()?;
        Some(url.trim_end_matches('/').to_owned())
    })
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("cannot read a bound address")
        .port()
}
