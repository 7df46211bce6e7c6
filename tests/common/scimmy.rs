//! A SCIM 2.0 server built on the third-party SCIMMY library (npm `scimmy` with its Express
//! routers `scimmy-routers`), for integration tests: `tests/scimmy/server.js`, whose header says
//! what SCIMMY offers and what it doesn't. `tests/python-tools.sh` installs the packages pinned by
//! tests/scimmy/package-lock.json into `$HRIS_TEST_VENV/scimmy/node_modules`. Started, awaited
//! and stopped by [`super::child_server`].

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::child_server::{ChildServer, Launch, Port, venv};

/// What the server prints once it listens: `SCIMMY server on http://HOST:PORT/scim/v2`. Started
/// on port 0, it reports the port it bound there.
const LAUNCH: Launch = Launch {
    name: "scimmy",
    banner: "SCIMMY server on ",
    port: Port::FromBanner,
    token: "",
};

/// The SCIMMY server, started on 127.0.0.1 and a port of its choosing, stopped on drop (and
/// exiting by itself when the test process dies: it watches its standard input). Everything
/// else is [`ChildServer`]'s.
pub struct ScimmyServer(ChildServer);

/// `tests/scimmy/server.js`.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scimmy/server.js")
}

impl ScimmyServer {
    /// Starts a server accepting `token` as a static bearer token, on the packages installed in
    /// `$HRIS_TEST_VENV/scimmy`, and waits until it answers. Panics, with the server's log, if it
    /// doesn't.
    pub fn start(token: &str) -> ScimmyServer {
        Self::start_in(&venv(), token)
    }

    /// [`ScimmyServer::start`] with the packages installed in the virtualenv `venv`.
    pub fn start_in(venv: &Path, token: &str) -> ScimmyServer {
        let modules = venv.join("scimmy").join("node_modules");
        if !modules.join("scimmy").is_dir() {
            panic!(
                "SCIMMY not found in $HRIS_TEST_VENV ({}): run tests/python-tools.sh",
                venv.display()
            );
        }
        let launch = Launch { token, ..LAUNCH };
        ScimmyServer(ChildServer::start(&launch, |port| {
            let mut command = Command::new("node");
            command
                .arg(script())
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--token", token])
                .env("NODE_PATH", &modules);
            command
        }))
    }
}

impl Deref for ScimmyServer {
    type Target = ChildServer;

    fn deref(&self) -> &ChildServer {
        &self.0
    }
}
