//! The layers, held by a test: the sync core (`src/sync/`) names no outer layer and no
//! Kubernetes or HTTP crate, and reads no clock.
//!
//! Every file under `src/sync/` is read as code: comments (`//`, `///`, `//!`, `/* */`) and the
//! contents of string and character literals are blanked out first, so a doc comment or a
//! message may mention `reqwest` freely. Then every path the code names is resolved against the
//! file's module (`super::`, `self::`, inline `mod` blocks), `use` groups included
//! (`use crate::{connectors, crd::X}` names `crate::connectors` and `crate::crd::X`), and checked
//! against the rules below. A failure lists every offending file and line.
//!
//! To see it fail, break a rule in a core file and run `cargo test --test it architecture::`. With
//! `use crate::{connectors::ConnectorContext, sync::model};` added below the first line of
//! `src/sync/filter.rs`, and `let _today = jiff::Zoned::now().date();` (with the same call in a
//! comment above it) at the start of `lifecycle::settle_statuses`, it fails with
//!
//! ```text
//! src/sync/filter.rs:3: names crate::connectors::ConnectorContext: the core depends on no outer layer (crate::connectors)
//! src/sync/lifecycle.rs:142: names jiff::Zoned::now: the core reads no clock (Zoned::now): the caller passes the date or time in
//! ```
//!
//! and says nothing of the comment. The self-test at the end of this file runs the same check
//! on text breaking every rule, so the rules stay proven without touching the core.

use std::path::{Path, PathBuf};

/// Paths of the crate the core must not name, and why.
const OUTER_LAYERS: [&str; 7] = [
    "connectors",
    "controller",
    "crd",
    "contract",
    "sync_job",
    "kubectl",
    "cli",
];

/// Crates the core must not name: Kubernetes and HTTP.
const FORBIDDEN_CRATES: [&str; 5] = ["kube", "k8s_openapi", "reqwest", "axum", "hyper"];

/// Clocks: time is an argument of the core, never read by it.
const CLOCKS: [&str; 3] = ["Zoned", "Timestamp", "SystemTime"];

/// The one file of the core that reads the resource's types: it compiles a spec into the
/// core's own rules.
const READS_THE_CRD: &str = "src/sync/policy.rs";

/// One rule broken at one place.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    line: usize,
    path: String,
    rule: String,
}

/// The code of `text` with comments and the contents of string and character literals
/// replaced by spaces, line breaks kept (so line numbers stay right).
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let keep_lines = |c: char| if c == '\n' { '\n' } else { ' ' };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep_lines(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (i == 0
                || !is_ident(chars[i - 1])
                || (chars[i - 1] == 'b' && (i < 2 || !is_ident(chars[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
            && raw_string_hashes(&chars[i + 1..]).is_some()
        {
            let hashes = raw_string_hashes(&chars[i + 1..]).unwrap_or(0);
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push('r');
            i += 1;
            for _ in 0..hashes + 1 {
                out.push(' ');
                i += 1;
            }
            while i < chars.len()
                && !chars[i..]
                    .iter()
                    .take(closing.len())
                    .copied()
                    .eq(closing.chars())
            {
                out.push(keep_lines(chars[i]));
                i += 1;
            }
            for _ in 0..closing.len().min(chars.len() - i) {
                out.push(' ');
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(keep_lines(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{1F600}'); a lifetime ('a) has no closing quote.
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(' ');
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The `#`s of a raw string starting at `rest` (just after the `r`): `"…"` has none,
/// `#"…"#` one; `None` when `rest` starts no raw string.
fn raw_string_hashes(rest: &[char]) -> Option<usize> {
    let hashes = rest.iter().take_while(|&&c| c == '#').count();
    (rest.get(hashes) == Some(&'"')).then_some(hashes)
}

/// A token of code: an identifier, or one punctuation mark that matters to paths.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSeparator,
    Open,
    Close,
    Comma,
    Semicolon,
    Star,
    Other,
}

/// The tokens of blanked code, each with its line (from 1).
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A raw identifier (r#type) is the identifier.
            if word == "r" && chars.get(i) == Some(&'#') {
                i += 1;
                continue;
            }
            tokens.push((Token::Ident(word), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((Token::PathSeparator, line));
            i += 2;
        } else {
            let token = match c {
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                ';' => Token::Semicolon,
                '*' => Token::Star,
                _ => Token::Other,
            };
            tokens.push((token, line));
            i += 1;
        }
    }
    tokens
}

/// A path the code names, its segments resolved where they are relative, with the line of
/// its last segment.
#[derive(Clone, Debug)]
struct NamedPath {
    segments: Vec<String>,
    line: usize,
}

/// The module path of a file under `src/`: `src/sync/plan/mod.rs` is `crate::sync::plan`.
fn module_of(file: &str) -> Vec<String> {
    let relative = file.trim_start_matches("src/").trim_end_matches(".rs");
    let mut module = vec!["crate".to_owned()];
    module.extend(
        relative
            .split('/')
            .filter(|part| !matches!(*part, "mod" | "lib" | "main"))
            .map(str::to_owned),
    );
    module
}

/// `segments` with a leading `crate`, `super` or `self` resolved against `module`.
fn resolve(segments: &[String], module: &[String]) -> Vec<String> {
    match segments.first().map(String::as_str) {
        Some("self") => module.iter().chain(&segments[1..]).cloned().collect(),
        Some("super") => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let kept = module.len().saturating_sub(ups).max(1);
            module[..kept]
                .iter()
                .chain(&segments[ups..])
                .cloned()
                .collect()
        }
        _ => segments.to_vec(),
    }
}

/// Reads a `use` tree at `tokens[*at..]` into every path it names.
fn use_tree(
    tokens: &[(Token, usize)],
    at: &mut usize,
    prefix: &[String],
    out: &mut Vec<NamedPath>,
) {
    let mut segments = prefix.to_vec();
    let mut line = tokens.get(*at).map_or(0, |t| t.1);
    loop {
        match tokens.get(*at) {
            Some((Token::PathSeparator, _)) => *at += 1,
            Some((Token::Ident(word), l)) if word != "as" => {
                segments.push(word.clone());
                line = *l;
                *at += 1;
            }
            Some((Token::Open, _)) => {
                *at += 1;
                while let Some((token, _)) = tokens.get(*at) {
                    match token {
                        Token::Close => {
                            *at += 1;
                            break;
                        }
                        Token::Comma => *at += 1,
                        _ => use_tree(tokens, at, &segments, out),
                    }
                }
                return;
            }
            Some((Token::Star, l)) => {
                out.push(NamedPath {
                    segments: segments.clone(),
                    line: *l,
                });
                *at += 1;
                return;
            }
            Some((Token::Ident(_), _)) => {
                // `as alias`: the path is named; the alias is not a segment.
                *at += 2;
                break;
            }
            _ => break,
        }
    }
    // `use a::{self, b}` names `a` itself.
    if segments.last().is_some_and(|s| s == "self") {
        segments.pop();
    }
    out.push(NamedPath { segments, line });
}

/// Every path a file's code names: in `use` declarations (groups flattened) and elsewhere,
/// resolved against the module each sits in.
fn named_paths(file: &str, code: &str) -> Vec<NamedPath> {
    let tokens = tokens(code);
    let file_module = module_of(file);
    // Inline modules (`mod tests { … }`) open a module inside the file's.
    let mut modules: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut paths = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        let module: Vec<String> = file_module
            .iter()
            .cloned()
            .chain(modules.iter().map(|(name, _)| name.clone()))
            .collect();
        match &tokens[at].0 {
            Token::Open => {
                depth += 1;
                at += 1;
            }
            Token::Close => {
                if modules.last().is_some_and(|(_, opened)| *opened == depth) {
                    modules.pop();
                }
                depth = depth.saturating_sub(1);
                at += 1;
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some((Token::Ident(name), _)), Some((Token::Open, _))) =
                    (tokens.get(at + 1), tokens.get(at + 2))
                {
                    modules.push((name.clone(), depth + 1));
                }
                at += 1;
            }
            Token::Ident(word) if word == "use" => {
                at += 1;
                let mut used = Vec::new();
                use_tree(&tokens, &mut at, &[], &mut used);
                paths.extend(used.into_iter().map(|path| NamedPath {
                    segments: resolve(&path.segments, &module),
                    line: path.line,
                }));
            }
            Token::Ident(_) | Token::PathSeparator => {
                let mut segments = Vec::new();
                let mut line = tokens[at].1;
                while let Some((token, l)) = tokens.get(at) {
                    match token {
                        Token::Ident(word) => {
                            segments.push(word.clone());
                            line = *l;
                        }
                        Token::PathSeparator => {}
                        _ => break,
                    }
                    at += 1;
                    // Two identifiers in a row are two paths (`let x`, `fn f`).
                    if let (Some((Token::Ident(_), _)), Some((Token::Ident(_), _))) =
                        (tokens.get(at - 1), tokens.get(at))
                    {
                        break;
                    }
                }
                paths.push(NamedPath {
                    segments: resolve(&segments, &module),
                    line,
                });
            }
            _ => at += 1,
        }
    }
    paths
}

/// The rule a path breaks in `file`, if any.
fn broken_rule(file: &str, segments: &[String]) -> Option<String> {
    let names = |expected: &[&str]| {
        segments.len() >= expected.len() && segments.iter().zip(expected).all(|(s, e)| s == e)
    };
    for layer in OUTER_LAYERS {
        if names(&["crate", layer]) && !(layer == "crd" && file == READS_THE_CRD) {
            return Some(format!(
                "the core depends on no outer layer (crate::{layer})"
            ));
        }
    }
    if let Some(first) = segments.first()
        && FORBIDDEN_CRATES.contains(&first.as_str())
    {
        return Some(format!(
            "the core depends on no Kubernetes or HTTP crate ({first})"
        ));
    }
    if names(&["tokio", "net"]) {
        return Some("the core does no network I/O (tokio::net)".into());
    }
    if let Some(clock) = segments
        .windows(2)
        .find(|pair| CLOCKS.contains(&pair[0].as_str()) && pair[1] == "now")
    {
        return Some(format!(
            "the core reads no clock ({}::now): the caller passes the date or time in",
            clock[0]
        ));
    }
    if segments.iter().any(|s| s == "task_local") {
        return Some("the core hides no state in a task-local: it takes arguments".into());
    }
    None
}

/// Every rule `text`, the content of `file` (a path such as `src/sync/plan/mod.rs`), breaks.
fn violations(file: &str, text: &str) -> Vec<Violation> {
    let code = blank_comments_and_literals(text);
    named_paths(file, &code)
        .into_iter()
        .filter_map(|path| {
            let rule = broken_rule(file, &path.segments)?;
            Some(Violation {
                line: path.line,
                path: path.segments.join("::"),
                rule,
            })
        })
        .collect()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn the_sync_core_names_no_outer_layer_no_kubernetes_or_http_crate_and_no_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join("src/sync"));
    assert!(
        files.len() > 10,
        "the core's files were not found: {files:?}"
    );
    let mut found = Vec::new();
    for path in &files {
        let file = path
            .strip_prefix(root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{file}: {e}"));
        for violation in violations(&file, &text) {
            found.push(format!(
                "{file}:{}: names {}: {}",
                violation.line, violation.path, violation.rule
            ));
        }
    }
    assert!(
        found.is_empty(),
        "the sync core breaks its layering:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_through_use_groups_and_relative_paths_and_ignores_comments_and_strings() {
    let text = r#"//! Mentions crate::connectors and reqwest in a doc comment: fine.
use std::sync::Arc;
use crate::{
    connectors::ConnectorContext,
    sync::model::Employee,
};
use super::super::controller;

/* A block comment naming kube::Api: fine. */
fn read() {
    let message = "kube::Api, crate::crd and Timestamp::now() in a string: fine";
    let quote = '"';
    let today = jiff::Timestamp::now();
    let client = reqwest::Client::new(); // a trailing comment naming axum: fine
}

tokio::task_local! {
    static DATE: u32;
}

mod tests {
    use super::super::super::cli::Cli;
    use crate::crd::HrisConnectionSpec;
}
"#;
    let found: Vec<(usize, String)> = violations("src/sync/filter.rs", text)
        .into_iter()
        .map(|v| (v.line, v.path))
        .collect();
    assert_eq!(
        found,
        [
            (4, "crate::connectors::ConnectorContext".to_owned()),
            (7, "crate::controller".to_owned()),
            (13, "jiff::Timestamp::now".to_owned()),
            (14, "reqwest::Client::new".to_owned()),
            (17, "tokio::task_local".to_owned()),
            (22, "crate::cli::Cli".to_owned()),
            (23, "crate::crd::HrisConnectionSpec".to_owned()),
        ]
    );
    // The compiled policy is the one place that reads the resource's types.
    assert!(violations(READS_THE_CRD, "use crate::crd::{self, Filter};").is_empty());
    assert_eq!(
        violations("src/sync/plan/mod.rs", "use crate::{crd::Filter, sync};").len(),
        1
    );
}
