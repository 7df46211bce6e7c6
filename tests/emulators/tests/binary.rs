//! The `hris-emulators` binary as a person runs it: it names every emulator, serves one on the
//! port asked for and says where in its first line, and stops on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    net::TcpStream,
    process::{Command, Stdio},
};

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hris-emulators"))
}

#[test]
fn help_names_every_emulator() {
    let output = binary().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for name in [
        "scim", "graph", "google", "slack", "merge", "bamboohr", "personio", "hibob", "afas",
        "workday",
    ] {
        assert!(
            help.lines().any(|line| line.trim_start().starts_with(name)),
            "{name} missing from:\n{help}"
        );
    }
}

#[test]
fn serves_on_the_port_its_first_line_names_until_stopped() {
    let mut child = binary()
        .args(["scim", "--port", "0", "--token", "by-hand"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .strip_prefix("SCIM emulator on http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    assert!(
        line.ends_with("/scim/v2 (bearer token `by-hand`)\n"),
        "{line:?}"
    );
    TcpStream::connect(&address).expect("the emulator listens where it says");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_port_in_use_is_an_error_that_says_what_to_change() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = binary().args(["merge", "--port", &port]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: "))
            && stderr.contains("(choose another with --port)"),
        "{stderr}"
    );
}
