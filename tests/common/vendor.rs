//! The vendors' own artifacts as judges: the scripts in `tests/vendor/` (one per API) run the
//! vendor's SDK against an emulator (`sdk`) and check a request log against the vendor's schema
//! (`requests`, served to the tests by one `serve` process per API). They run on the Python of
//! `$HRIS_TEST_VENV`, where `tests/python-tools.sh` installs the pinned SDKs.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Output, Stdio};
use std::sync::Mutex;

use serde_json::Value;

use super::child_server::venv;

/// The checker script of `api` (`graph`, `google`, `merge`).
pub fn script(api: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vendor")
        .join(format!("{api}.py"))
}

fn python() -> PathBuf {
    let python = venv().join("bin/python");
    assert!(
        python.is_file(),
        "no Python in $HRIS_TEST_VENV ({}): run tests/python-tools.sh",
        venv().display()
    );
    python
}

/// Runs `tests/vendor/<api>.py ARGS…` to its end, without blocking the caller's runtime (an
/// emulator the script talks to may be served on it).
pub async fn run(api: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(python())
        .arg(script(api))
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script(api).display()))
}

/// What a run said, for a failure message.
pub fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `tests/vendor/<api>.py serve` process, kept for the whole test binary: the SDKs' imports
/// take seconds, a check of one log milliseconds. It ends when the test binary does (its stdin
/// closes).
struct Checker {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The checker of one API, started on first use.
type Slot = &'static Mutex<Option<Checker>>;

fn checker(api: &str) -> Slot {
    static CHECKERS: Mutex<Vec<(String, Slot)>> = Mutex::new(Vec::new());
    let mut checkers = CHECKERS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, slot)) = checkers.iter().find(|(name, _)| name == api) {
        return slot;
    }
    let slot: Slot = Box::leak(Box::new(Mutex::new(None)));
    checkers.push((api.to_owned(), slot));
    slot
}

fn start_checker(api: &str) -> Checker {
    let mut child = std::process::Command::new(python())
        .arg(script(api))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script(api).display()));
    Checker {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        _child: child,
    }
}

/// Checks a request log (an emulator's `request_log()`) against `api`'s vendor schema; the
/// problems the checker found, one per line, or an empty list.
pub async fn problems(api: &str, log: &Value) -> Vec<String> {
    let file = tempfile::Builder::new()
        .prefix(&format!("{api}-requests-"))
        .suffix(".json")
        .tempfile()
        .unwrap();
    std::fs::write(file.path(), serde_json::to_vec(log).unwrap()).unwrap();
    let path = file.path().to_string_lossy().into_owned();
    let api = api.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut slot = checker(&api).lock().unwrap_or_else(|p| p.into_inner());
        let checker = slot.get_or_insert_with(|| start_checker(&api));
        writeln!(checker.stdin, "{path}")
            .and_then(|()| checker.stdin.flush())
            .unwrap_or_else(|e| panic!("the {api} checker stopped reading: {e}"));
        let mut answer = String::new();
        checker.stdout.read_line(&mut answer).unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| {
            *slot = None;
            panic!("the {api} checker answered {answer:?} ({e}); its errors are above")
        });
        drop(file);
        answer["problems"]
            .as_array()
            .expect("a list of problems")
            .iter()
            .map(|p| p.as_str().unwrap_or_default().to_owned())
            .collect()
    })
    .await
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}

/// Panics, naming each request the vendor's schema does not know, unless the log is clean.
pub async fn judge(api: &str, log: &Value) {
    let requests = log["requests"].as_array().map_or(0, Vec::len);
    assert!(requests > 0, "an empty {api} request log judges nothing");
    let problems = problems(api, log).await;
    assert!(
        problems.is_empty(),
        "{api}: {} request problem(s) by the vendor's schema:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
