//! The README against the program: every command it shows names subcommands and flags that
//! exist (and parses, when it is a concrete command rather than a synopsis), every file it links
//! to is in the repository (and every section it links to in another Markdown file is there),
//! and the demo's numbers are what the demo prints.

use std::{path::Path, process::Command};

use clap::{CommandFactory, Parser};
use hris_emulators::serve::Cli as EmulatorsCli;
use hris_operator::cli::{Cli, plugin::PluginCli};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// How a shown command starts, and the program that answers it.
const PROGRAMS: [(&str, Program); 5] = [
    ("hris-operator ", Program::Cli),
    ("cargo run -- ", Program::Cli),
    ("kubectl hris ", Program::Plugin),
    ("hris-emulators ", Program::Emulators),
    ("cargo run -p hris-emulators -- ", Program::Emulators),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Program {
    Cli,
    Plugin,
    /// The emulators' binary, from the workspace's test equipment.
    Emulators,
}

/// A command shown in the README: where, which program, its words.
#[derive(Debug)]
struct Shown {
    line: usize,
    program: Program,
    words: Vec<String>,
    /// Shown inline in prose, where naming a subcommand alone is a reference to it.
    inline: bool,
}

/// The command in `text`, if it starts like one: its program and words, without a trailing
/// comment, redirection or `&`.
fn command_in(text: &str) -> Option<(Program, Vec<String>)> {
    let text = text.trim().trim_start_matches("$ ");
    let (prefix, program) = PROGRAMS.iter().find(|(p, _)| text.starts_with(p))?;
    let mut rest = &text[prefix.len()..];
    for end in [" # ", " > ", " &"] {
        if let Some(at) = rest.find(end) {
            rest = &rest[..at];
        }
    }
    Some((*program, split_words(rest.trim_end_matches('&'))))
}

/// Splits like a shell: whitespace separates words, quotes group them.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        words.push(word);
    }
    words
}

/// Every command the README shows: lines of code blocks (fenced or indented), and inline code
/// spans (which may wrap across lines).
fn shown_commands(readme: &str) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut fenced = false;
    let mut prose = String::new();
    let mut prose_lines = Vec::new();
    let lines: Vec<&str> = readme.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let number = index + 1;
        index += 1;
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.starts_with("    ") {
            let mut text = line.to_owned();
            while text.ends_with('\\') && index < lines.len() {
                text.pop();
                text.push(' ');
                text.push_str(lines[index].trim());
                index += 1;
            }
            if let Some((program, words)) = command_in(&text) {
                shown.push(Shown {
                    line: number,
                    program,
                    words,
                    inline: false,
                });
            }
            continue;
        }
        prose.push_str(line);
        prose.push('\n');
        prose_lines.push(number);
    }
    // Inline code spans: the text between pairs of backticks, within a paragraph.
    for (offset, paragraph) in paragraphs(&prose) {
        let mut at = offset;
        for (index, piece) in paragraph.split('`').enumerate() {
            if index % 2 == 1 {
                let span = piece.split_whitespace().collect::<Vec<_>>().join(" ");
                if let Some((program, words)) = command_in(&span) {
                    shown.push(Shown {
                        line: prose_lines[prose[..at].matches('\n').count()],
                        program,
                        words,
                        inline: true,
                    });
                }
            }
            at += piece.len() + 1;
        }
    }
    shown
}

/// The paragraphs of `text` (separated by blank lines), with their byte offsets.
fn paragraphs(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, _) in text.match_indices("\n\n") {
        out.push((start, &text[start..at]));
        start = at + 2;
    }
    out.push((start, &text[start..]));
    out
}

fn clap_command(program: Program) -> clap::Command {
    let mut command = match program {
        Program::Cli => Cli::command(),
        Program::Plugin => PluginCli::command(),
        Program::Emulators => EmulatorsCli::command(),
    };
    // Propagates global flags into the subcommands, as parsing does.
    command.build();
    command
}

/// A placeholder such as `FILE`, `NS/NAME`, `<api>` or `YYYY-MM-DD`.
fn is_placeholder(word: &str) -> bool {
    word.starts_with('<')
        || (word.chars().any(|c| c.is_ascii_uppercase())
            && !word.chars().any(|c| c.is_ascii_lowercase()))
}

/// Checks a command shown as a synopsis (`[optional]`, `a|b` alternatives, placeholders)
/// against `command`: every subcommand and flag exists, a flag's value is given when it takes
/// one (and is one of its values, when it has a fixed set), positionals are not too many, and
/// required arguments are shown. `reference`: a subcommand named alone in prose, where only
/// the names count.
fn check_synopsis(
    command: &clap::Command,
    words: &[String],
    reference: bool,
) -> Result<(), String> {
    let mut positionals = 0;
    let mut given: Vec<String> = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let word = words[index].trim_matches(['[', ']']);
        index += 1;
        if word.is_empty() || word == "|" || word == "..." {
            continue;
        }
        let flag = if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (long, None),
            };
            let arg = command
                .get_arguments()
                .find(|a| a.get_long() == Some(name))
                .ok_or_else(|| format!("`{}` has no flag --{name}", command.get_name()))?;
            Some((arg, value))
        } else if word.starts_with('-') && word.chars().count() == 2 {
            let short = word.chars().nth(1).unwrap();
            let arg = command
                .get_arguments()
                .find(|a| a.get_short() == Some(short))
                .ok_or_else(|| format!("`{}` has no flag {word}", command.get_name()))?;
            Some((arg, None))
        } else {
            None
        };
        if let Some((arg, inline)) = flag {
            given.push(arg.get_id().to_string());
            if arg.get_action().takes_values() {
                let value = match inline {
                    Some(value) => value,
                    None => {
                        let value = words.get(index).map(|w| w.trim_matches(['[', ']']));
                        index += 1;
                        value
                            .filter(|v| !v.starts_with('-'))
                            .ok_or_else(|| format!("--{} needs a value", arg.get_id()))?
                            .to_owned()
                    }
                };
                let allowed = arg.get_possible_values();
                if !allowed.is_empty() && !is_placeholder(&value) {
                    for alternative in value.split('|') {
                        if !allowed.iter().any(|p| p.matches(alternative, false)) {
                            return Err(format!("--{} takes no `{alternative}`", arg.get_id()));
                        }
                    }
                }
            } else if inline.is_some() {
                return Err(format!("--{} takes no value", arg.get_id()));
            }
            continue;
        }
        if command.has_subcommands() {
            // `<api>`: any of them, which cannot be checked further.
            if word.starts_with('<') {
                return Ok(());
            }
            for name in word.split('|') {
                let sub = command.find_subcommand(name).ok_or_else(|| {
                    format!("`{}` has no subcommand `{name}`", command.get_name())
                })?;
                check_synopsis(sub, &words[index..], reference)
                    .map_err(|e| format!("{name}: {e}"))?;
            }
            return Ok(());
        }
        positionals += 1;
    }
    if reference && positionals == 0 && given.is_empty() {
        return Ok(());
    }
    if command.has_subcommands() && command.is_subcommand_required_set() {
        return Err(format!("`{}` needs a subcommand", command.get_name()));
    }
    let accepted = command.get_positionals().count();
    if positionals > accepted {
        return Err(format!(
            "`{}` takes {accepted} positional arguments, {positionals} shown",
            command.get_name()
        ));
    }
    let mut shown_positionals = positionals;
    for arg in command.get_arguments().filter(|a| a.is_required_set()) {
        let present = if arg.is_positional() {
            let ok = shown_positionals > 0;
            shown_positionals = shown_positionals.saturating_sub(1);
            ok
        } else {
            given.contains(&arg.get_id().to_string())
        };
        if !present {
            return Err(format!(
                "`{}` requires {} but it is not shown",
                command.get_name(),
                arg.get_long()
                    .map_or_else(|| arg.get_id().to_string(), |l| format!("--{l}"))
            ));
        }
    }
    Ok(())
}

/// Whether the words are a concrete command (no synopsis notation) that must parse as is.
fn is_concrete(words: &[String]) -> bool {
    !words
        .iter()
        .any(|w| w.contains(['[', ']', '|', '<', '>']) || w == "...")
}

#[test]
fn every_command_the_readme_shows_exists_with_its_flags() {
    let shown = shown_commands(&readme());
    // The README shows commands of both programs, in blocks and inline.
    assert!(shown.len() > 20, "{shown:#?}");
    assert!(shown.iter().any(|s| s.program == Program::Plugin));
    assert!(shown.iter().any(|s| s.program == Program::Emulators));
    assert!(shown.iter().any(|s| s.inline));
    let mut problems = Vec::new();
    for command in &shown {
        let clap = clap_command(command.program);
        if let Err(problem) = check_synopsis(&clap, &command.words, command.inline) {
            problems.push(format!(
                "README.md:{}: {problem}: {:?}",
                command.line, command.words
            ));
            continue;
        }
        let reference = command.inline
            && command.words.iter().all(|w| !w.starts_with('-'))
            && check_synopsis(&clap, &command.words, false).is_err();
        if is_concrete(&command.words) && !reference {
            let name = clap.get_name().to_owned();
            let argv = std::iter::once(name).chain(command.words.iter().cloned());
            let parsed = match command.program {
                Program::Cli => Cli::try_parse_from(argv).map(drop),
                Program::Plugin => PluginCli::try_parse_from(argv).map(drop),
                Program::Emulators => EmulatorsCli::try_parse_from(argv).map(drop),
            };
            if let Err(error) = parsed {
                problems.push(format!(
                    "README.md:{}: {:?} does not parse: {}",
                    command.line,
                    command.words,
                    error.render()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_synopsis_check_catches_what_drifts() {
    let cli = clap_command(Program::Cli);
    let plugin = clap_command(Program::Plugin);
    let emulators = clap_command(Program::Emulators);
    let words = |text: &str| split_words(text);
    assert!(check_synopsis(&cli, &words("check -f FILE"), false).is_err());
    assert!(check_synopsis(&cli, &words("simulate -f FILE [--dry-run]"), false).is_err());
    assert!(check_synopsis(&cli, &words("simulate [--out DIR]"), false).is_err());
    assert!(check_synopsis(&cli, &words("sync --mode simulate|plan"), false).is_err());
    assert!(check_synopsis(&plugin, &words("status NAME"), false).is_err());
    assert!(check_synopsis(&plugin, &words("approve"), true).is_ok());
    assert!(check_synopsis(&emulators, &words("<api>"), false).is_ok());
    assert!(check_synopsis(&emulators, &words("scim --employees 3"), false).is_err());
    // The emulators are not part of the product's command line.
    assert!(check_synopsis(&cli, &words("emulate <api>"), false).is_err());
}

#[test]
fn every_file_the_readme_links_to_is_in_the_repository() {
    let readme = readme();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for (number, line) in readme.lines().enumerate() {
        if line.contains("../") {
            problems.push(format!(
                "README.md:{}: points outside the repository: {line}",
                number + 1
            ));
        }
        for target in line
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            if target.starts_with("http")
                || target.starts_with('#')
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (file, section) = match target.split_once('#') {
                Some((file, section)) => (file, Some(section)),
                None => (target, None),
            };
            let path = root.join(file);
            if !path.exists() {
                problems.push(format!("README.md:{}: no file {file}", number + 1));
            } else if let Some(section) = section.filter(|_| file.ends_with(".md")) {
                let text = std::fs::read_to_string(&path).unwrap();
                if !heading_anchors(&text)
                    .iter()
                    .any(|anchor| anchor == section)
                {
                    problems.push(format!(
                        "README.md:{}: {file} has no heading with the anchor #{section}",
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The anchors GitHub gives the headings of a Markdown text: lower case, spaces as `-`, other
/// punctuation dropped.
fn heading_anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut anchors = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        let Some(title) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if fenced || !line.starts_with('#') {
            continue;
        }
        anchors.push(
            title
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect(),
        );
    }
    anchors
}

#[test]
fn heading_anchors_are_github_s() {
    assert_eq!(
        heading_anchors("# A b\n```\n# not a heading\n```\n### SCIM 2.0 target\n#hashtag\n"),
        ["a-b", "scim-20-target"]
    );
}

#[test]
fn the_demo_numbers_in_the_readme_are_what_the_demo_prints() {
    let readme = readme();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["simulate", "-f", "config/samples/demo/connection.yaml"])
        .args(["--as-of", "2026-11-22", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let printed: Vec<&str> = stdout.lines().collect();

    // The sample output under "What a run shows": every line but the elision is printed.
    let section = &readme[readme.find("## What a run shows").unwrap()..];
    let block = section.split("```").nth(1).unwrap();
    for line in block
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "...")
    {
        assert!(
            printed.contains(&line),
            "README line not printed by the demo: {line:?}\n{stdout}"
        );
    }

    // The introduction's numbers: employees read, rows unreadable, users in the directory.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    let intro = &readme[readme.find("the bundled demo").unwrap()..];
    let intro = &intro[..intro.find("directory").unwrap()];
    let numbers: Vec<u64> = intro
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(
        numbers,
        [
            summary["sourceEmployees"].as_u64().unwrap(),
            summary["counts"]["errors"].as_u64().unwrap(),
            summary["targetUsers"].as_u64().unwrap(),
        ],
        "{intro}"
    );
}

#[test]
fn the_seat_limit_example_in_the_readme_is_what_the_demo_prints_with_that_limit() {
    let readme = readme();
    let section = &readme[readme.find("### Seat limit").unwrap()..];
    let example = section.split("```").nth(3).unwrap();
    let limit: String = section[section.find("The demo with `seatLimit: ").unwrap() + 26..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // The demo folder with the limit added to its safeguards.
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/samples/demo");
    for file in ["employees.csv", "directory.json", "connection.yaml"] {
        std::fs::copy(demo.join(file), dir.path().join(file)).unwrap();
    }
    let manifest = dir.path().join("connection.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let anchor = "  safeguards:\n";
    assert!(text.contains(anchor), "the demo has safeguards");
    let limited = text.replace(anchor, &format!("{anchor}    seatLimit: {limit}\n"));
    std::fs::write(&manifest, limited).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["simulate", "-f"])
        .arg(&manifest)
        .args(["--as-of", "2026-11-22", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let printed: Vec<&str> = stdout.lines().collect();
    for line in example
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "...")
    {
        assert!(
            printed.contains(&line),
            "README line not printed by the demo with seatLimit {limit}: {line:?}\n{stdout}"
        );
    }
}

/// Runs every concrete command of the README that can run on this machine: `crd`, `version`,
/// the emulators (served in-process on a free port instead of the fixed one shown), and
/// `simulate` / `apply` / `fields` on a file in the repository — directly when it needs no
/// server, or, when it does, by finding the same command in that sample's header, which
/// `samples::` runs against the emulators. Commands that need a cluster (`kubectl hris`,
/// `controller`, `sync`, `report`) are only parsed (above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_local_command_the_readme_shows_runs_here() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = Vec::new();
    let mut problems = Vec::new();
    for command in shown_commands(&readme()) {
        if command.inline || !is_concrete(&command.words) {
            continue;
        }
        let words = &command.words;
        let at = format!("README.md:{}: {}", command.line, words.join(" "));
        match (command.program, words[0].as_str()) {
            (Program::Emulators, _) => {
                let mut args = words.clone();
                match args.iter().position(|a| a == "--port") {
                    Some(i) => args[i + 1] = "0".into(),
                    None => args.extend(["--port".into(), "0".into()]),
                }
                let cli = EmulatorsCli::try_parse_from(
                    std::iter::once("hris-emulators".to_owned()).chain(args),
                )
                .unwrap();
                match hris_emulators::serve::start(cli.emulator).await {
                    Ok(serving) => assert!(serving.first_line().contains("127.0.0.1:"), "{at}"),
                    Err(error) => problems.push(format!("{at}: {error}")),
                }
            }
            (Program::Cli, "crd" | "version") => {
                let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
                    .args(words)
                    .current_dir(root)
                    .output()
                    .unwrap();
                if !output.status.success() || output.stdout.is_empty() {
                    problems.push(format!("{at}: {:?}", output.status));
                }
            }
            (Program::Cli, "simulate" | "apply" | "fields") => {
                let file = words
                    .iter()
                    .position(|w| w == "-f")
                    .map(|i| root.join(&words[i + 1]))
                    .unwrap_or_else(|| panic!("{at}: no -f FILE"));
                let header = std::fs::read_to_string(&file).unwrap_or_default();
                let header_commands = crate::samples::header_commands(&header);
                let in_header = header_commands.iter().any(|shown| {
                    shown.program == crate::samples::Program::Operator && &shown.args == words
                });
                let needs_a_server = header_commands
                    .iter()
                    .any(|shown| shown.program == crate::samples::Program::Emulators);
                if needs_a_server {
                    if !in_header {
                        problems.push(format!(
                            "{at}: needs an emulator, and the sample's header (run by samples::) \
                             does not show this command"
                        ));
                    }
                    continue;
                }
                let out = tempfile::tempdir().unwrap();
                let mut args = words.clone();
                if words[0] != "fields" {
                    args.extend(["--out".into(), out.path().display().to_string()]);
                }
                if words[0] == "apply" {
                    problems.push(format!(
                        "{at}: an apply on a file in the repository changes it"
                    ));
                    continue;
                }
                let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
                    .args(&args)
                    .current_dir(root)
                    .output()
                    .unwrap();
                if output.status.code() != Some(0) {
                    problems.push(format!(
                        "{at}: {:?}\n{}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
            }
            _ => continue,
        }
        ran.push(at);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The demo, the SCIM trial (emulator and apply), crd and version at least.
    assert!(ran.len() >= 5, "{ran:#?}");
}
