//! The integration tests, built as one test binary: each file of this folder is a module of it
//! (the tests of `faults.rs` are named `faults::…`; `cargo test --test it faults::` runs them).
//! One binary links the library and its dependencies once, where a binary per file linked them
//! once per file, and linking was most of the time the tests took to build.
//!
//! Cargo.toml sets `autotests = false`, so a new test file belongs here, with its `mod` line
//! below; a file Cargo.toml and this list do not name is never built (the test
//! `every_test_file_is_built` fails on one). The failing cases proptest saves for a module are in
//! `tests/proptest-regressions/<module>.txt`: where proptest puts them for a file whose folder
//! holds a `main.rs`.
//!
//! The helpers in `tests/common/` serve this binary and `tests/secret_logs.rs`, the one test that
//! stays a binary of its own: it installs a process-wide `tracing` subscriber at TRACE (a
//! subscriber set for one thread would miss what the runtime's other threads log) and then
//! searches everything the process logged for secrets. Here it would capture, and slow down,
//! every test running beside it, its verdict would depend on what those tests happen to log,
//! and a process takes one such subscriber only.
//!
//! Nothing else needs a process of its own: no test here sets an environment variable or the
//! working directory (the processes they start get theirs from their `Command`), installs a
//! global allocator, a global subscriber or a panic hook, or signals its own process; the
//! rustls crypto provider is installed where needed with `install_default`, whose second call
//! changes nothing.

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod architecture_modules;
mod bad_input;
mod cluster_e2e;
mod command_line;
mod controller_e2e;
mod crd;
mod demo;
mod directory_targets;
mod faults;
mod fields_command;
mod fuzz;
mod google_source;
mod graph_source;
mod notifications;
mod personal_data;
mod plan_rules;
mod plugin;
mod properties;
mod readme;
mod reconcile;
mod report_command;
mod safety_rules;
mod safety_scim2;
mod samples;
mod scim2_server_harness;
mod scim_emulator;
mod scim_emulator_checker;
mod scim_interop;
mod scim_sample;
mod scim_target;
mod scimmy_harness;
mod seat_limit;
mod shutdown;
mod slack_source;
mod source_conformance;
mod sync_run;
mod target_conformance;
mod time_rules;
mod vendor;

/// With `autotests = false`, Cargo builds only the `[[test]]` targets of Cargo.toml, and rustc
/// only the modules declared above: a test file outside both would silently never run.
#[test]
fn every_test_file_is_built() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rust_files = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".rs"))
            .collect();
        names.sort();
        names
    };
    let declared = include_str!("main.rs");
    for file in rust_files("tests/it") {
        let module = file.trim_end_matches(".rs");
        assert!(
            file == "main.rs" || declared.contains(&format!("\nmod {module};\n")),
            "tests/it/{file} is not declared in tests/it/main.rs"
        );
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for file in rust_files("tests") {
        assert!(
            manifest.contains(&format!("path = \"tests/{file}\"")),
            "tests/{file} is no [[test]] target of Cargo.toml"
        );
    }
}
