//! The real third-party SCIM server `scim2-server` (PyPI, pinned in tests/python-requirements.txt)
//! for integration tests, installed by `tests/python-tools.sh` into `$HRIS_TEST_VENV` (default
//! `<repo>/.venv`). Started, awaited and stopped by [`super::child_server`].
//!
//! Behaviour of the server worth knowing is written down in tests/it/scim2_server_harness.rs.

use std::ops::Deref;
use std::path::Path;
use std::process::Command;

use super::child_server::{ChildServer, Launch, Port, venv};

/// What the server prints once it listens (`Serving SCIM on http://HOST:PORT/v2`). It prints
/// the port it was given, so the harness picks a free one (the server cannot report one it
/// chose itself).
const LAUNCH: Launch = Launch {
    name: "scim2-server",
    banner: "Serving SCIM on ",
    port: Port::Picked {
        taken: &["Address already in use", "Errno 98"],
    },
    token: "",
};

/// The real third-party scim2-server (PyPI), started on 127.0.0.1 and a free port, stopped on
/// drop. Everything else is [`ChildServer`]'s.
pub struct Scim2Server(ChildServer);

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
        let launch = Launch { token, ..LAUNCH };
        Scim2Server(ChildServer::start(&launch, |port| {
            let mut command = Command::new(&program);
            command
                .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
                .args(["--bearer-token", token])
                .env("PYTHONUNBUFFERED", "1");
            command
        }))
    }
}

impl Deref for Scim2Server {
    type Target = ChildServer;

    fn deref(&self) -> &ChildServer {
        &self.0
    }
}
