//! The module graph of `src/` has no import cycle, and no process imports another.
//!
//! Every `crate::…`, `super::…` and `self::…` path of every file under `src/` (comments and
//! string literals aside; test modules included) is an edge from the file's module to the module
//! the path names. Two graphs are checked for cycles:
//!
//! - the top-level modules (`cli`, `contract`, `controller`, `sync`, …), and
//! - the files of `src/controller/`, its `mod.rs` counting as one more file.
//!
//! The processes of the binary — the controller (`controller`), the sync Job (`sync_job`) and
//! the kubectl side (`kubectl`) — share what they must agree on through `contract` and never
//! import one another.
//!
//! A failure names the cycle or the import, with the file and line of each edge. It was seen to
//! fail on temporary violations added to the tree: `use crate::kubectl::Which;` in
//! `src/controller/prune.rs` gave `controller imports the process module kubectl
//! (src/controller/prune.rs:12)`, and `use super::reconcile::ReconcileError;` in
//! `src/controller/status.rs` gave `import cycle among the files of src/controller/:
//! controller::finished_runs → controller::status → controller::reconcile →
//! controller::finished_runs (…)` with the place of each edge. The cases at the end of this file
//! run the same checks on small made-up trees, so a check that stopped finding anything would
//! fail too.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// The modules of the three processes.
const PROCESSES: &[&str] = &["controller", "sync_job", "kubectl"];

/// Folders whose files are checked as nodes of their own.
const FILE_LEVEL: &[&str] = &["controller"];

/// Edges allowed to close a cycle while work in progress removes them. Once an edge is gone its
/// entry must go too, so that it cannot come back unnoticed. None today: the sync core owns its
/// Source and Target ports and compiles the schedule's cadence itself, so it imports neither
/// the connectors nor the controller.
const PENDING: &[(&str, &str)] = &[];

#[test]
fn no_import_cycle_and_no_process_importing_another() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_sources(&root, &root, &mut files);
    assert!(files.len() > 50, "read {} files under src/", files.len());
    let problems = check(&files, PENDING);
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// `(path relative to src/, text)` of every `.rs` file under `dir`, but the binary's `main.rs`
/// (it reaches the library through `hris_operator::`, like any other crate).
fn collect_sources(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_sources(root, &path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).expect("under src/").to_path_buf();
            if relative != Path::new("main.rs") {
                let text = std::fs::read_to_string(&path).expect("a readable source file");
                files.push((relative, text));
            }
        }
    }
}

/// An edge of the module graph, with where it was found.
#[derive(Clone, Debug)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

/// Everything wrong with the tree of `files` (paths relative to `src/`), as messages.
fn check(files: &[(PathBuf, String)], pending: &[(&str, &str)]) -> Vec<String> {
    let modules: Vec<Vec<String>> = files.iter().map(|(path, _)| module_of(path)).collect();
    let top_level: BTreeSet<String> = modules.iter().filter_map(|m| m.first().cloned()).collect();
    let known: BTreeSet<Vec<String>> = modules.iter().cloned().collect();
    let mut edges = Vec::new();
    for ((path, text), module) in files.iter().zip(&modules) {
        for (target, line) in paths_in(text, module) {
            let from = node(module, &known);
            let to = node(&target, &known);
            if let (Some(from), Some(to)) = (from, to)
                && from != to
                && top_level.contains(top(&to))
            {
                edges.push(Edge {
                    from,
                    to,
                    at: format!("src/{}:{line}", path.display()),
                });
            }
        }
    }

    let mut problems = Vec::new();
    let top_edges: Vec<Edge> = edges
        .iter()
        .filter(|e| top(&e.from) != top(&e.to))
        .map(|e| Edge {
            from: top(&e.from).to_owned(),
            to: top(&e.to).to_owned(),
            at: e.at.clone(),
        })
        .collect();
    for (from, to) in pending {
        if !top_edges.iter().any(|e| e.from == *from && e.to == *to) {
            problems.push(format!(
                "{from} no longer imports {to}: remove ({from:?}, {to:?}) from PENDING"
            ));
        }
    }
    for edge in &top_edges {
        if PROCESSES.contains(&edge.from.as_str()) && PROCESSES.contains(&edge.to.as_str()) {
            problems.push(format!(
                "{} imports the process module {} ({})",
                edge.from, edge.to, edge.at
            ));
        }
    }
    let checked: Vec<Edge> = top_edges
        .into_iter()
        .filter(|e| !pending.contains(&(e.from.as_str(), e.to.as_str())))
        .collect();
    problems.extend(cycles(&checked, "top-level modules"));
    for folder in FILE_LEVEL {
        let inside: Vec<Edge> = edges
            .iter()
            .filter(|e| top(&e.from) == *folder && top(&e.to) == *folder)
            .cloned()
            .collect();
        problems.extend(cycles(&inside, &format!("the files of src/{folder}/")));
    }
    problems.dedup();
    problems
}

/// The module a file defines: `controller/job.rs` → `controller::job`, `controller/mod.rs` →
/// `controller`, `lib.rs` → the crate root.
fn module_of(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = path
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The node a module path falls in: its top-level module, or for a folder checked file by
/// file, the file (`controller::job`). `None` for the crate root.
fn node(path: &[String], known: &BTreeSet<Vec<String>>) -> Option<String> {
    let first = path.first()?;
    if FILE_LEVEL.contains(&first.as_str())
        && let Some(second) = path.get(1)
        && known.contains(&vec![first.clone(), second.clone()])
    {
        return Some(format!("{first}::{second}"));
    }
    Some(first.clone())
}

fn top(node: &str) -> &str {
    node.split("::").next().unwrap_or(node)
}

/// One message per cycle of the graph of `edges`: each strongly connected component of more
/// than one node, shown as one cycle through it with the place of each edge.
fn cycles(edges: &[Edge], graph: &str) -> Vec<String> {
    let mut next: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for edge in edges {
        next.entry(&edge.from)
            .or_default()
            .entry(&edge.to)
            .or_insert(&edge.at);
    }
    let nodes: BTreeSet<&str> = edges
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .collect();
    let reaches = |from: &str| -> BTreeSet<&str> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(node) = stack.pop() {
            for to in next.get(node).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(*to) {
                    stack.push(to);
                }
            }
        }
        seen
    };
    let mut reported: BTreeSet<&str> = BTreeSet::new();
    let mut messages = Vec::new();
    for &start in &nodes {
        if reported.contains(start) || !reaches(start).contains(start) {
            continue;
        }
        // The shortest way back to `start`, breadth first.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        'search: while let Some(node) = queue.pop_front() {
            for to in next.get(node).into_iter().flat_map(BTreeMap::keys) {
                if !came_from.contains_key(to) {
                    came_from.insert(to, node);
                    if *to == start {
                        break 'search;
                    }
                    queue.push_back(to);
                }
            }
        }
        let mut cycle = vec![start];
        let mut at = came_from[start];
        while at != start {
            cycle.push(at);
            at = came_from[at];
        }
        cycle.push(start);
        cycle.reverse();
        let places: Vec<String> = cycle
            .windows(2)
            .map(|pair| format!("{} → {} at {}", pair[0], pair[1], next[pair[0]][pair[1]]))
            .collect();
        messages.push(format!(
            "import cycle among {graph}: {} ({})",
            cycle.join(" → "),
            places.join("; ")
        ));
        // One message per group of modules that reach each other.
        let component = reaches(start);
        reported.extend(component.into_iter().filter(|n| reaches(n).contains(start)));
    }
    messages
}

/// A token of Rust source, comments and literals left out.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semicolon,
    Star,
    Other,
}

/// The tokens of `text` with their line numbers.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let count_lines = |from: usize, to: usize, chars: &[char]| {
        chars[from..to.min(chars.len())]
            .iter()
            .filter(|c| **c == '\n')
            .count()
    };
    while i < chars.len() {
        let c = chars[i];
        let rest = |n: usize| chars.get(i + n).copied().unwrap_or('\0');
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && rest(1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && rest(1) == '*' {
            let (start, mut depth) = (i, 0);
            while i < chars.len() {
                if chars[i] == '/' && rest_at(&chars, i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && rest_at(&chars, i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i, &chars);
        } else if c == '"' {
            let start = i;
            i = end_of_string(&chars, i + 1, false, 0);
            line += count_lines(start, i, &chars);
            out.push((Token::Other, line));
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'), or a lifetime ('a).
            if rest(1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if rest(2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
            out.push((Token::Other, line));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && rest_at(&chars, i + hashes) == '"' {
                // A raw string: r"…", r#"…"#.
                let from = i;
                i = end_of_string(&chars, i + hashes + 1, true, hashes);
                line += count_lines(from, i, &chars);
                out.push((Token::Other, line));
            } else if matches!(word.as_str(), "b" | "c") && rest_at(&chars, i) == '"' {
                let from = i;
                i = end_of_string(&chars, i + 1, false, 0);
                line += count_lines(from, i, &chars);
                out.push((Token::Other, line));
            } else if word == "b" && rest_at(&chars, i) == '\'' {
                i += 1;
                if rest_at(&chars, i) == '\\' {
                    i += 1;
                }
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push((Token::Other, line));
            } else if word == "r" && hashes == 1 {
                // A raw identifier: r#type.
                i += 1;
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Token::Ident(chars[start..i].iter().collect()), line));
            } else {
                out.push((Token::Ident(word), line));
            }
        } else {
            let token = match c {
                ':' if rest(1) == ':' => {
                    i += 1;
                    Token::PathSep
                }
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                ';' => Token::Semicolon,
                '*' => Token::Star,
                _ => Token::Other,
            };
            out.push((token, line));
            i += 1;
        }
    }
    out
}

fn rest_at(chars: &[char], i: usize) -> char {
    chars.get(i).copied().unwrap_or('\0')
}

/// The index after a string literal whose text starts at `i`: in a plain string a backslash
/// escapes the next character; a raw one ends at `"` followed by `hashes` `#`.
fn end_of_string(chars: &[char], mut i: usize, raw: bool, hashes: usize) -> usize {
    while i < chars.len() {
        if chars[i] == '\\' && !raw {
            i += 2;
        } else if chars[i] == '"' && (0..hashes).all(|n| rest_at(chars, i + 1 + n) == '#') {
            return i + 1 + hashes;
        } else {
            i += 1;
        }
    }
    i
}

/// Every module path the source of `module` names, with its line: `crate::a::b`, `super::…`,
/// `self::…`, and paths through the file's own child modules (`mod x;` then `x::…`), `use`
/// trees followed to each leaf.
fn paths_in(text: &str, module: &[String]) -> Vec<(Vec<String>, usize)> {
    let tokens = tokens(text);
    let ident = |i: usize| match tokens.get(i) {
        Some((Token::Ident(word), _)) => Some(word.as_str()),
        _ => None,
    };
    let is = |i: usize, token: &Token| tokens.get(i).map(|(t, _)| t) == Some(token);
    let children: BTreeSet<&str> = (0..tokens.len())
        .filter(|&i| ident(i) == Some("mod") && is(i + 2, &Token::Semicolon))
        .filter_map(|i| ident(i + 1))
        .collect();
    // Inline modules (`mod tests { … }`) shift what `super` and `self` mean.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            Token::Ident(word) if word == "mod" && is(i + 2, &Token::Open) => {
                if let Some(name) = ident(i + 1) {
                    inline.push((name.to_owned(), depth + 1));
                }
            }
            Token::Ident(word)
                if is(i + 1, &Token::PathSep) && !is(i.wrapping_sub(1), &Token::PathSep) =>
            {
                let here: Vec<String> = module
                    .iter()
                    .cloned()
                    .chain(inline.iter().map(|(name, _)| name.clone()))
                    .collect();
                let base = match word.as_str() {
                    "crate" => Some((Vec::new(), i + 2)),
                    "self" => Some((here, i + 2)),
                    "super" => {
                        let mut base = here;
                        let mut at = i;
                        while ident(at) == Some("super") && is(at + 1, &Token::PathSep) {
                            base.pop();
                            at += 2;
                        }
                        Some((base, at))
                    }
                    child if inline.is_empty() && children.contains(child) => Some((here, i)),
                    _ => None,
                };
                if let Some((base, at)) = base {
                    let line = tokens[i].1;
                    let mut leaves = Vec::new();
                    i = use_tree(&tokens, at, base, &mut leaves);
                    found.extend(leaves.into_iter().map(|leaf| (leaf, line)));
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Follows a path or `use` tree from token `i` (`a::b`, `a::{b, c::d}`, `a::*`) under
/// `prefix`; adds each full path to `leaves` and returns the index after the tree.
fn use_tree(
    tokens: &[(Token, usize)],
    mut i: usize,
    mut prefix: Vec<String>,
    leaves: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match tokens.get(i).map(|(t, _)| t) {
            Some(Token::Ident(word)) => {
                if word != "self" {
                    prefix.push(word.clone());
                }
                i += 1;
                match tokens.get(i).map(|(t, _)| t) {
                    Some(Token::PathSep) => i += 1,
                    // `a as b`: the path is `a`.
                    Some(Token::Ident(word)) if word == "as" => {
                        leaves.push(prefix);
                        return i + 2;
                    }
                    _ => {
                        leaves.push(prefix);
                        return i;
                    }
                }
            }
            Some(Token::Open) => {
                i += 1;
                while let Some((token, _)) = tokens.get(i) {
                    match token {
                        Token::Close => return i + 1,
                        Token::Comma => i += 1,
                        _ => {
                            let after = use_tree(tokens, i, prefix.clone(), leaves);
                            // A `*` (or anything but a path) is a leaf of the prefix itself.
                            i = after.max(i + 1);
                        }
                    }
                }
                return i;
            }
            _ => {
                leaves.push(prefix);
                return i;
            }
        }
    }
}

fn tree(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
        .collect()
}

#[test]
fn a_cycle_between_top_level_modules_is_named_with_its_places() {
    let files = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "use crate::b::Thing;\n"),
        ("b/mod.rs", "mod inner;\n"),
        ("b/inner.rs", "fn f() {\n    crate::c::g();\n}\n"),
        ("c.rs", "use crate::{a::{self, Other}, b};\n"),
    ]);
    let problems = check(&files, &[]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("import cycle among top-level modules: a → b → c → a"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("b → c at src/b/inner.rs:2"),
        "{problems:?}"
    );
}

#[test]
fn a_cycle_between_controller_files_is_found_and_mod_rs_counts_as_a_file() {
    let files = tree(&[
        (
            "controller/mod.rs",
            "pub mod job;\npub mod status;\npub fn helper() {}\n",
        ),
        ("controller/job.rs", "use super::status::X;\n"),
        (
            "controller/status.rs",
            "fn f() { super::job::build(); crate::controller::helper(); }",
        ),
    ]);
    let problems = check(&files, &[]);
    assert_eq!(
        problems,
        [
            "import cycle among the files of src/controller/: controller::job → \
          controller::status → controller::job (controller::job → controller::status at \
          src/controller/job.rs:1; controller::status → controller::job at \
          src/controller/status.rs:1)"
        ]
    );
}

#[test]
fn a_process_importing_another_is_refused_even_without_a_cycle() {
    let files = tree(&[
        ("controller/mod.rs", "pub mod prune;\n"),
        ("controller/prune.rs", "use crate::kubectl::Which;\n"),
        ("kubectl/mod.rs", "use crate::contract::NAME;\n"),
        ("contract.rs", "pub const NAME: &str = \"x\";\n"),
    ]);
    assert_eq!(
        check(&files, &[]),
        ["controller imports the process module kubectl (src/controller/prune.rs:1)"]
    );
}

#[test]
fn comments_strings_and_test_modules_are_read_as_rust_reads_them() {
    let files = tree(&[
        (
            "a.rs",
            "//! See [`crate::b`].\n/* crate::b::X */\nconst S: &str = \"crate::b::X\";\n\
                  const R: &str = r#\"crate::b::\"X\"#;\nfn f<'a>(c: char) -> bool { c == '\"' }\n\
                  #[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        ("b.rs", "use crate::a::f;\n"),
    ]);
    assert_eq!(check(&files, &[]), Vec::<String>::new());
    // A pending edge that no longer exists is reported, so that the list only shrinks.
    assert_eq!(
        check(&files, &[("a", "b")]),
        ["a no longer imports b: remove (\"a\", \"b\") from PENDING"]
    );
}
