//! The kmock Kubernetes API emulator (tests/kmock/serve.py, installed by
//! tests/python-tools.sh) and a kubeconfig pointing at it, for the controller benches.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A child process killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts kmock (logging every request to `log` when given); returns it and its URL.
pub fn start(log: Option<&Path>) -> (Killed, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var_os("HRIS_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let mut command = Command::new(venv.join("bin/python"));
    command.arg(root.join("tests/kmock/serve.py"));
    if let Some(log) = log {
        command.arg(log);
    }
    let mut kmock = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tests/python-tools.sh first: it installs kmock");
    let mut line = String::new();
    BufReader::new(kmock.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("kmock prints its address")
        .to_owned();
    (Killed(kmock), url)
}

/// Writes a kubeconfig for `url` into `dir` and returns its path.
pub fn kubeconfig(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster: {{server: \"{url}\"}}\n\
             users:\n- name: k\n  user: {{token: k}}\ncontexts:\n- name: k\n  context: {{cluster: k, \
             user: k, namespace: default}}\ncurrent-context: k\n"
        ),
    )
    .unwrap();
    path
}

/// The controller binary running against `kubeconfig`, its log level from `BENCH_LOG`.
pub fn controller(kubeconfig: &Path) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args([
            "controller",
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}
