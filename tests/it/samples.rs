//! Every sample in `config/samples` runs as its header comment says. The test reads the
//! `hris-emulators …` and `hris-operator …` lines of the header and runs them from the
//! repository root: each emulator line is served in this process by the emulator crate's own
//! command line and start function (what the `hris-emulators` binary runs), on a free port
//! instead of its fixed one, which the test then writes into a copy of the manifest; every
//! `hris-operator` line must exit 0 without a warning, a simulation must plan work, and a
//! simulation after `apply` must find nothing left to do.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use clap::Parser;
use hris_emulators::serve::{Cli as EmulatorCli, Serving, start};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixed port each emulator listens on by default, which its samples point at.
fn default_port(emulator: &str) -> u16 {
    match emulator {
        "scim" => 8090,
        "graph" => 8091,
        "google" => 8092,
        "slack" => 8093,
        "merge" => 8101,
        "bamboohr" => 8102,
        "personio" => 8103,
        "hibob" => 8104,
        "afas" => 8105,
        "workday" => 8106,
        other => panic!("a sample starts an unknown emulator `{other}`"),
    }
}

/// Which program a header line runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Program {
    /// `hris-emulators …`: an emulator, served in the background.
    Emulators,
    /// `hris-operator …`.
    Operator,
}

/// A command line of a sample's header comment: the program, its arguments, and whether the
/// line runs in the background (`&`).
#[derive(Debug, PartialEq)]
pub(crate) struct HeaderCommand {
    pub(crate) program: Program,
    pub(crate) args: Vec<String>,
    background: bool,
}

/// The `hris-emulators …` and `hris-operator …` command lines of a sample's header comment.
pub(crate) fn header_commands(text: &str) -> Vec<HeaderCommand> {
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .filter_map(|line| {
            let line = line.trim_start_matches('#').trim();
            [
                ("hris-emulators ", Program::Emulators),
                ("hris-operator ", Program::Operator),
            ]
            .into_iter()
            .find_map(|(prefix, program)| Some((program, line.strip_prefix(prefix)?)))
        })
        .map(|(program, command)| {
            let command = command.split("  #").next().unwrap_or_default().trim();
            let (command, background) = match command.strip_suffix('&') {
                Some(rest) => (rest.trim(), true),
                None => (command, false),
            };
            let args = command.split_whitespace().map(str::to_owned).collect();
            HeaderCommand {
                program,
                args,
                background,
            }
        })
        .collect()
}

/// The emulators a sample runs against, served by this process until the test ends, however
/// it ends.
struct Emulators {
    // Declared first, so they stop before the runtime that serves them goes.
    serving: Vec<Serving>,
    runtime: tokio::runtime::Runtime,
}

impl Emulators {
    fn new() -> Self {
        Emulators {
            serving: Vec::new(),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// Serves `hris-emulators ARGS` on a free port; returns the port it took, as its first
    /// line names it.
    fn start(&mut self, args: &[String]) -> u16 {
        let mut args = args.to_vec();
        match args.iter().position(|a| a == "--port") {
            Some(i) => args[i + 1] = "0".into(),
            None => args.extend(["--port".into(), "0".into()]),
        }
        // Paths in a header are relative to the repository root, where it says to run them.
        if let Some(i) = args.iter().position(|a| a == "--service-account-key") {
            args[i + 1] = repo().join(&args[i + 1]).display().to_string();
        }
        let cli = EmulatorCli::try_parse_from(
            std::iter::once("hris-emulators".into()).chain(args.clone()),
        )
        .unwrap_or_else(|error| panic!("hris-emulators {}: {error}", args.join(" ")));
        let serving = self
            .runtime
            .block_on(start(cli.emulator))
            .unwrap_or_else(|error| panic!("hris-emulators {}: {error}", args.join(" ")));
        let first_line = serving.first_line().to_owned();
        self.serving.push(serving);
        let port = first_line
            .split("127.0.0.1:")
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|digits| digits.parse().ok());
        port.unwrap_or_else(|| panic!("{args:?}: no address in its first line: {first_line:?}"))
    }
}

/// A copy of the manifest in `dir` with the emulators' ports replaced and relative `path:`
/// values made absolute (they are relative to the manifest's folder).
fn manifest_copy(sample: &Path, ports: &[(u16, u16)], dir: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(sample).unwrap();
    for (fixed, actual) in ports {
        text = text.replace(
            &format!("127.0.0.1:{fixed}"),
            &format!("127.0.0.1:{actual}"),
        );
    }
    let folder = sample.parent().unwrap();
    let text: String = text
        .split_inclusive('\n')
        .map(|line| match line.find("path: ") {
            Some(at) if !line.trim_start().starts_with('#') => {
                let value_start = at + "path: ".len();
                let value: String = line[value_start..]
                    .chars()
                    .take_while(|c| !matches!(c, ',' | '}' | ' ' | '\n'))
                    .collect();
                let absolute = folder.join(&value);
                line.replacen(
                    &format!("path: {value}"),
                    &format!("path: {}", absolute.display()),
                    1,
                )
            }
            _ => line.to_owned(),
        })
        .collect();
    let copy = dir.join(sample.file_name().unwrap());
    std::fs::write(&copy, text).unwrap();
    copy
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn changes(summary: &Value) -> u64 {
    [
        "created",
        "updated",
        "deactivated",
        "deleted",
        "reactivated",
    ]
    .iter()
    .map(|name| summary["counts"][name].as_u64().unwrap_or(0))
    .sum()
}

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn assert_clean(args: &[String], output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "hris-operator {}\nstdout:\n{}\nstderr:\n{stderr}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        !stderr.contains("warning"),
        "hris-operator {}: {stderr}",
        args.join(" ")
    );
}

/// Runs one sample's header commands; returns which commands ran.
fn run_sample(relative: &str) -> Vec<String> {
    let sample = repo().join(relative);
    let text = std::fs::read_to_string(&sample).unwrap();
    let commands = header_commands(&text);
    assert!(
        commands
            .iter()
            .any(|c| c.program == Program::Operator && c.args[0] == "simulate"),
        "{relative}: the header shows no simulate command"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut emulators = Emulators::new();
    let mut ports = Vec::new();
    for command in commands.iter().filter(|c| c.program == Program::Emulators) {
        assert!(
            command.background,
            "{relative}: `hris-emulators {}` must end with &",
            command.args.join(" ")
        );
        ports.push((
            default_port(&command.args[0]),
            emulators.start(&command.args),
        ));
    }
    let copy = manifest_copy(&sample, &ports, dir.path());
    let mut ran = Vec::new();
    for (index, args) in commands
        .iter()
        .filter(|c| c.program == Program::Operator)
        .map(|c| &c.args)
        .enumerate()
    {
        let file = args.iter().position(|a| a == "-f").map(|i| i + 1);
        assert_eq!(
            file.map(|i| repo().join(&args[i])),
            Some(sample.clone()),
            "{relative}: `{}` does not run this sample",
            args.join(" ")
        );
        let mut args = args.clone();
        args[file.unwrap()] = copy.display().to_string();
        let out = dir.path().join(format!("out-{index}"));
        if matches!(args[0].as_str(), "simulate" | "apply") {
            args.extend(["--out".into(), out.display().to_string()]);
        }
        let output = run(&args);
        assert_clean(&args, &output);
        match args[0].as_str() {
            "fields" => assert!(
                String::from_utf8_lossy(&output.stdout).starts_with("FIELD"),
                "{relative}: fields printed no table"
            ),
            "simulate" => assert!(
                changes(&summary(&out)) > 0,
                "{relative}: the simulation plans nothing: {:#}",
                summary(&out)
            ),
            "apply" => {
                assert_eq!(summary(&out)["result"], "Succeeded", "{relative}");
                let mut again = args.clone();
                again[0] = "simulate".into();
                let last = again.len() - 1;
                again[last] = dir.path().join("again").display().to_string();
                let output = run(&again);
                assert_clean(&again, &output);
                let after = summary(&dir.path().join("again"));
                assert_eq!(changes(&after), 0, "{relative} after apply: {after:#}");
            }
            other => panic!("{relative}: unexpected command {other}"),
        }
        ran.push(args[0].clone());
    }
    ran
}

const SAMPLES: [&str; 16] = [
    "config/samples/demo/connection.yaml",
    "config/samples/scim/connection.yaml",
    "config/samples/sources/afas.yaml",
    "config/samples/sources/bamboohr.yaml",
    "config/samples/sources/csv-bamboohr-export.yaml",
    "config/samples/sources/csv-excel-export.yaml",
    "config/samples/sources/csv.yaml",
    "config/samples/sources/entra-group.yaml",
    "config/samples/sources/google-orgunit.yaml",
    "config/samples/sources/hibob.yaml",
    "config/samples/sources/merge.yaml",
    "config/samples/sources/personio.yaml",
    "config/samples/sources/slack-channels.yaml",
    "config/samples/sources/workday.yaml",
    "config/samples/targets/entra-id.yaml",
    "config/samples/targets/google-workspace.yaml",
];

#[test]
fn every_sample_is_run_by_this_test() {
    let mut found = Vec::new();
    let mut folders = vec![repo().join("config/samples")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("secrets") {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                found.push(path.strip_prefix(repo()).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    assert_eq!(found, SAMPLES);
}

#[test]
fn the_header_parser_reads_background_lines_and_drops_comments() {
    let commands = header_commands(
        "# A sample.\n#   hris-emulators scim &      # or any SCIM server\n\
         #   hris-operator simulate -f x.yaml --as-of 2026-11-22\napiVersion: v1\n\
         #   hris-operator apply -f ignored.yaml\n",
    );
    assert_eq!(
        commands,
        [
            HeaderCommand {
                program: Program::Emulators,
                args: vec!["scim".to_owned()],
                background: true,
            },
            HeaderCommand {
                program: Program::Operator,
                args: ["simulate", "-f", "x.yaml", "--as-of", "2026-11-22"]
                    .map(str::to_owned)
                    .to_vec(),
                background: false,
            },
        ]
    );
}

macro_rules! sample_tests {
    ($($name:ident: $index:expr, [$($command:literal),*];)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(run_sample(SAMPLES[$index]), [$($command),*]);
        }
    )*};
}

sample_tests! {
    demo_runs_as_written: 0, ["simulate"];
    scim_runs_as_written: 1, ["simulate", "apply"];
    afas_runs_as_written: 2, ["fields", "simulate", "apply"];
    bamboohr_runs_as_written: 3, ["fields", "simulate", "apply"];
    csv_bamboohr_export_runs_as_written: 4, ["fields", "simulate", "apply"];
    csv_excel_export_runs_as_written: 5, ["fields", "simulate", "apply"];
    csv_runs_as_written: 6, ["fields", "simulate", "apply"];
    entra_group_runs_as_written: 7, ["fields", "simulate", "apply"];
    google_orgunit_runs_as_written: 8, ["fields", "simulate", "apply"];
    hibob_runs_as_written: 9, ["fields", "simulate", "apply"];
    merge_runs_as_written: 10, ["fields", "simulate", "apply"];
    personio_runs_as_written: 11, ["fields", "simulate", "apply"];
    slack_channels_runs_as_written: 12, ["fields", "simulate", "apply"];
    workday_runs_as_written: 13, ["fields", "simulate", "apply"];
    entra_id_runs_as_written: 14, ["simulate", "apply"];
    google_workspace_runs_as_written: 15, ["simulate", "apply"];
}
