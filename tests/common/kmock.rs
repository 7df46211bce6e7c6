//! The `kmock` Kubernetes API emulator (PyPI, pinned in tests/python-requirements.txt), served by
//! tests/kmock/serve.py on 127.0.0.1 and a free port, and the controller binary run against it.
//! Both processes stop when their handle drops.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::child_server::venv;

/// How long a process may take to say it is ready.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A running kmock server.
pub struct Kmock {
    child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The file it logs every request to, one JSON line each.
    log: tempfile::TempPath,
}

/// One request kmock served, as its log has it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct LoggedRequest {
    /// GET, POST, PUT, PATCH, DELETE.
    pub method: String,
    /// The URL path.
    pub path: String,
    /// The query parameters.
    #[serde(default)]
    pub query: std::collections::HashMap<String, String>,
    /// Whether it carried an Authorization header (the kubeconfig's token does; `client()`
    /// sends none).
    pub auth: bool,
    /// A server-side apply that created its object.
    #[serde(default)]
    pub created: bool,
}

impl Kmock {
    /// Starts the emulator and waits for its "listening on" line.
    pub fn start() -> Self {
        let python = venv().join("bin/python");
        assert!(
            python.exists(),
            "{} is missing: run tests/python-tools.sh (tests/run.sh does) to install kmock",
            python.display()
        );
        let log = tempfile::NamedTempFile::new()
            .expect("cannot make the request log")
            .into_temp_path();
        let mut child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kmock/serve.py"))
            .arg(&log)
            // The server stops when this pipe closes, so it never outlives the test.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start tests/kmock/serve.py");
        let lines = line_channel(child.stdout.take().expect("stdout is piped"));
        let url = wait_for_line(&lines, |line| {
            line.strip_prefix("listening on ").map(str::to_owned)
        })
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("kmock did not start within {START_DEADLINE:?}")
        });
        Kmock { child, url, log }
    }

    /// Every request served so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        std::fs::read_to_string(&self.log)
            .expect("cannot read the request log")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a request log line is JSON"))
            .collect()
    }

    /// A kubeconfig file pointing at the emulator.
    pub fn kubeconfig(&self, dir: &Path) -> std::path::PathBuf {
        kubeconfig(&self.url, dir)
    }

    /// A client of the emulator.
    pub fn client(&self) -> kube::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = kube::Config::new(self.url.parse().expect("the URL is valid"));
        kube::Client::try_from(config).expect("cannot build a client")
    }
}

/// A kubeconfig file `dir/kubeconfig` whose one context (`kmock`) points at `server`.
pub fn kubeconfig(server: &str, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kmock\n  cluster: {{server: \"{server}\"}}\n\
             users:\n- name: kmock\n  user: {{token: kmock}}\ncontexts:\n- name: kmock\n  \
             context: {{cluster: kmock, user: kmock, namespace: default}}\ncurrent-context: kmock\n"
        ),
    )
    .expect("cannot write the kubeconfig");
    path
}

impl Drop for Kmock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The controller binary, running against a kubeconfig.
pub struct ControllerProcess {
    child: Child,
    /// Where `/metrics` listens, `http://ADDR`.
    pub metrics: String,
    /// Where `/healthz` and `/readyz` listen, `http://ADDR`.
    pub health: String,
    lines: mpsc::Receiver<String>,
}

impl ControllerProcess {
    /// Starts `hris-operator controller` with `args` and `envs`, on free ports, and waits for
    /// the line naming them.
    pub fn start(kubeconfig: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args([
                "controller",
                "--metrics-addr",
                "127.0.0.1:0",
                "--health-addr",
                "127.0.0.1:0",
            ])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,kube=warn")
            .env_remove("POD_NAMESPACE")
            .env_remove("HRIS_SYNC_IMAGE")
            .env_remove("HRIS_SYNC_IMAGE_PULL_SECRETS")
            .env_remove("HRIS_SYNC_POD_SETTINGS")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the controller");
        let lines = line_channel(child.stderr.take().expect("stderr is piped"));
        let addresses = wait_for_line(&lines, |line| {
            let field = |name: &str| {
                let start = line.find(&format!("{name}="))? + name.len() + 1;
                let rest = &line[start..];
                Some(rest.split_whitespace().next()?.to_owned())
            };
            Some((field("metrics")?, field("health")?))
        });
        let Some((metrics, health)) = addresses else {
            let _ = child.kill();
            panic!("the controller did not open its ports within {START_DEADLINE:?}");
        };
        ControllerProcess {
            child,
            metrics: format!("http://{metrics}"),
            health: format!("http://{health}"),
            lines,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to the start deadline) for a log line containing `needle`; false when none came.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        wait_for_line(&self.lines, |line| line.contains(needle).then_some(())).is_some()
    }

    /// Sends `signal` (`TERM`, `INT`, …) and waits up to `bound` for the exit, killing the
    /// process after that. Returns how it ended, how long it took and the lines it printed.
    pub fn stop_with(mut self, signal: &str, bound: Duration) -> Stopped {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let signalled = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("cannot wait for the controller")
            {
                break Some(status);
            }
            if signalled.elapsed() > bound {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let after = signalled.elapsed();
        Stopped {
            exited: status.is_some(),
            code: status.and_then(|s| s.code()),
            after,
            lines: self.lines.iter().collect(),
        }
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited with success, and the
    /// log lines it printed.
    pub fn terminate(mut self) -> (bool, Vec<String>) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + START_DEADLINE;
        let status = loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("cannot wait for the controller")
            {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the controller did not stop within {START_DEADLINE:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let lines = self.lines.iter().collect();
        (status.success(), lines)
    }
}

/// How a signalled controller ended.
#[derive(Debug)]
pub struct Stopped {
    /// It exited by itself within the bound (else it was killed).
    pub exited: bool,
    /// Its exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// From the signal to the exit (or the kill).
    pub after: Duration,
    /// The log lines not read before, to the end of its output.
    pub lines: Vec<String>,
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards the lines of a pipe to a channel, from a thread.
fn line_channel(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            eprintln!("  | {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line `pick` accepts, within the start deadline.
fn wait_for_line<T>(
    lines: &mpsc::Receiver<String>,
    mut pick: impl FnMut(&str) -> Option<T>,
) -> Option<T> {
    let deadline = std::time::Instant::now() + START_DEADLINE;
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        let line = lines.recv_timeout(left).ok()?;
        if let Some(found) = pick(&line) {
            return Some(found);
        }
    }
}
