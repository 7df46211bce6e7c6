//! The controller binary stops on SIGTERM and SIGINT, exiting 0 within its shutdown deadline,
//! whatever state it is in: with or without leader election, against an API server that never
//! answered (a port where nothing listens) or one that answered and then went away (kmock,
//! stopped under the running controller).
//!
//! Readiness is read from the controller's log, line by line; no sleep stands in for it.

use crate::common;

use std::time::Duration;

use common::kmock::{ControllerProcess, Kmock, Stopped, kubeconfig};
use hris_operator::controller::operator::SHUTDOWN_DEADLINE;

/// The deadline, plus what starting and ending a process may take on a loaded machine.
fn bound() -> Duration {
    SHUTDOWN_DEADLINE + Duration::from_secs(3)
}

/// An address on 127.0.0.1 where nothing listens: connections to it are refused.
fn refused_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn assert_clean_exit(stopped: &Stopped, signal: &str) {
    assert!(
        stopped.exited,
        "the controller was still running {:?} after SIG{signal} and had to be killed; its \
         last lines: {:#?}",
        stopped.after, stopped.lines
    );
    assert_eq!(
        stopped.code,
        Some(0),
        "exit after SIG{signal}: {:#?}",
        stopped.lines
    );
    assert!(stopped.after < bound(), "{:?}", stopped.after);
}

/// Starts the controller against `server`, waiting for the line that names its ports (it has
/// started) and then for `ready_line`, if any.
fn start(
    dir: &std::path::Path,
    server: &str,
    args: &[&str],
    ready_line: Option<&str>,
) -> ControllerProcess {
    let controller = ControllerProcess::start(&kubeconfig(server, dir), args, &[]);
    if let Some(line) = ready_line {
        assert!(
            controller.wait_for_log(line),
            "the controller never logged `{line}`"
        );
    }
    controller
}

#[test]
fn sigterm_stops_a_controller_whose_api_server_never_answered() {
    let dir = tempfile::tempdir().unwrap();
    // The line that says the listing is being retried: the controller is past its start and
    // stuck on the API server, where it used to ignore SIGTERM.
    let controller = start(
        dir.path(),
        &refused_server(),
        &[],
        Some("cannot list HrisConnections yet"),
    );
    let stopped = controller.stop_with("TERM", bound());
    assert_clean_exit(&stopped, "TERM");
    assert!(
        stopped.lines.iter().any(|l| l.contains("stopped")),
        "{:#?}",
        stopped.lines
    );
}

#[test]
fn sigint_stops_a_controller_whose_api_server_never_answered() {
    let dir = tempfile::tempdir().unwrap();
    let controller = start(
        dir.path(),
        &refused_server(),
        &[],
        Some("cannot list HrisConnections yet"),
    );
    assert_clean_exit(&controller.stop_with("INT", bound()), "INT");
}

#[test]
fn sigterm_stops_a_standby_whose_api_server_never_answered() {
    let dir = tempfile::tempdir().unwrap();
    let controller = start(
        dir.path(),
        &refused_server(),
        &["--leader-elect"],
        Some("could not read or take the leader Lease"),
    );
    assert_clean_exit(&controller.stop_with("TERM", bound()), "TERM");
}

#[test]
fn sigterm_stops_a_controller_whose_api_server_went_away() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().unwrap();
    let controller = start(
        dir.path(),
        &kmock.url,
        &["--namespaces", "people"],
        Some("connections listed; ready"),
    );
    drop(kmock);
    assert_clean_exit(&controller.stop_with("TERM", bound()), "TERM");
}

#[test]
fn sigterm_stops_a_leader_whose_api_server_went_away() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().unwrap();
    let controller = start(
        dir.path(),
        &kmock.url,
        &["--leader-elect", "--namespaces", "people"],
        Some("became the leader"),
    );
    drop(kmock);
    assert_clean_exit(&controller.stop_with("TERM", bound()), "TERM");
}
