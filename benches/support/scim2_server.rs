//! The real third-party SCIM server `scim2-server` (installed by tests/python-tools.sh into
//! `$HRIS_TEST_VENV`, default `.venv`) set up for throughput measurements.
//!
//! Two settings differ from its command line's defaults, both made by a few lines of Python
//! run before its `cli.main()`:
//! - Its listening socket queues 128 waiting connections instead of Python's 5. The server
//!   speaks HTTP/1.0 (a new connection per request), so a short queue refuses connections as
//!   soon as a client is briefly faster than the server's accept loop.
//! - It announces no Bulk support (optional, RFC 7644 §3.7), so a client sends every write as
//!   a request of its own.
//!
//! It listens on a port the system picks (no race for a free port) and prints it once it
//! listens: that line is the readiness signal, no polling. It is stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

const PREPARE: &str = r#"
import sys
from scim2_server.testserver import cli

class Server(cli.ThreadingWSGIServer):
    request_queue_size = 128

    def server_activate(self):
        super().server_activate()
        print(f"listening on {self.server_port}", flush=True)

default_config = cli.load_default_service_provider_config

def config_without_bulk():
    config = default_config()
    config.bulk.supported = False
    return config

cli.ThreadingWSGIServer = Server
cli.load_default_service_provider_config = config_without_bulk
sys.argv[0] = "scim2-server"
sys.exit(cli.main())
"#;

/// A running scim2-server, killed when dropped.
pub struct Scim2Server {
    child: Child,
    port: u16,
    /// Kept open: the server prints its banner after the port, and a closed pipe would fail it.
    _stdout: BufReader<ChildStdout>,
}

impl Scim2Server {
    /// Starts the server accepting `token` and waits until it listens.
    pub fn start(token: &str) -> Scim2Server {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = std::env::var_os("HRIS_TEST_VENV")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv"));
        let mut child = Command::new(venv.join("bin/python"))
            .args(["-c", PREPARE])
            .args(["--hostname", "127.0.0.1", "--port", "0"])
            .args(["--bearer-token", token])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // One log line a request: not wanted, and a full pipe would stall the server.
            .stderr(Stdio::null())
            .spawn()
            .expect("run tests/python-tools.sh first: it installs scim2-server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let port = loop {
            line.clear();
            let read = stdout.read_line(&mut line).expect("scim2-server's output");
            if read == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!("scim2-server exited before it listened");
            }
            if let Some(port) = line.trim().strip_prefix("listening on ") {
                break port.parse().expect("a port number");
            }
        };
        Scim2Server {
            child,
            port,
            _stdout: stdout,
        }
    }

    /// `http://127.0.0.1:PORT/v2`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
