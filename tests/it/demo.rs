//! The bundled demo through the real binary: `simulate` plans every kind of change, `apply`
//! makes them, and a second `simulate` plans none. Also: exit codes, a failed source, the
//! safeguard and its approval.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

const AS_OF: &str = "2026-11-22";

fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/samples/demo");
    for name in ["connection.yaml", "employees.csv", "directory.json"] {
        std::fs::copy(demo.join(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn hris(args: &[&str], manifest: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(args)
        .arg("-f")
        .arg(manifest)
        .args(["--as-of", AS_OF, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn count(summary: &Value, name: &str) -> u64 {
    summary["counts"][name].as_u64().unwrap()
}

fn csv_rows(path: PathBuf) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn simulate_on_the_demo_plans_every_kind_of_change_and_writes_the_reports() {
    let dir = demo_copy();
    let manifest = dir.path().join("connection.yaml");
    let directory_before = std::fs::read(dir.path().join("directory.json")).unwrap();
    let out = dir.path().join("out");
    let output = hris(&["simulate"], &manifest, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let summary = summary(&out);
    for name in [
        "created",
        "updated",
        "deactivated",
        "deleted",
        "unchanged",
        "skipped",
        "conflicts",
        "errors",
    ] {
        assert!(count(&summary, name) > 0, "{name} is zero: {summary:#}");
    }
    assert_eq!(summary["result"], "Succeeded");
    assert_eq!(summary["mode"], "Simulate");
    assert_eq!(summary["asOf"], AS_OF);
    assert!(
        stdout.contains(&format!("created {:>12}", count(&summary, "created"))),
        "{stdout}"
    );
    for name in [
        "created.csv",
        "updated.csv",
        "deactivated.csv",
        "deleted.csv",
        "conflicts.csv",
        "skipped.csv",
        "errors.csv",
    ] {
        assert!(out.join(name).is_file(), "{name} written");
    }
    // A simulation never writes to the target.
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        directory_before
    );

    // Every row of every report says what became of it: in a simulation everything is planned,
    // but a row that could not be read, which failed in the simulation too.
    assert_eq!(
        outcomes(&out),
        [
            ("created.csv", vec!["planned"]),
            ("updated.csv", vec!["planned"]),
            ("deactivated.csv", vec!["planned"]),
            ("deleted.csv", vec!["planned"]),
            ("conflicts.csv", vec!["planned"]),
            ("skipped.csv", vec!["planned"]),
            ("errors.csv", vec!["failed"]),
        ]
    );

    // Every conflict kind shows up, by employee.
    let conflicts: Vec<(String, String)> = csv_rows(out.join("conflicts.csv"))
        .iter()
        .map(|r| (r[1].to_owned(), r[3].to_owned()))
        .collect();
    for expected in [
        ("E1220", "EmailTaken"),
        ("E1221", "DuplicateEmail"),
        ("E1222", "DuplicateEmail"),
        ("E1096", "MultipleMatches"),
        ("E1127", "DuplicateEmployeeId"),
    ] {
        assert!(
            conflicts.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {conflicts:?}"
        );
    }
    // Adoption, reactivation and an alias are updates.
    let updated = csv_rows(out.join("updated.csv"));
    let reason_of = |id: &str| {
        updated
            .iter()
            .find(|r| &r[2] == id)
            .map(|r| r[5].to_owned())
            .unwrap_or_default()
    };
    assert_eq!(reason_of("E1109"), "Adopted");
    assert_eq!(reason_of("E1122"), "Reactivated");
    assert!(
        updated
            .iter()
            .any(|r| &r[2] == "E1124" && &r[6] == "department" && &r[8] == "People")
    );
    // A pre-hire is created inactive; a new hire's manager is another new hire.
    let created = csv_rows(out.join("created.csv"));
    let row = |id: &str| created.iter().find(|r| &r[2] == id).unwrap().clone();
    assert_eq!((&row("E1203")[6], &row("E1203")[8]), ("false", "PreHire"));
    assert_eq!(&row("E1202")[7], "acme-hris:E1201");
    // Unreadable rows are reported by line, and their managed user is left alone.
    let errors = csv_rows(out.join("errors.csv"));
    let lines: Vec<&str> = errors.iter().map(|r| &r[2]).collect();
    assert_eq!(lines, ["113", "220", "221"]);
    let touched = |file: &str| csv_rows(out.join(file)).iter().any(|r| &r[2] == "E1113");
    assert!(!touched("updated.csv") && !touched("deactivated.csv") && !touched("deleted.csv"));
}

#[test]
fn apply_then_simulate_plans_zero_changes_and_a_second_apply_writes_nothing() {
    let dir = demo_copy();
    let manifest = dir.path().join("connection.yaml");
    let applied = hris(&["apply"], &manifest, &dir.path().join("applied"));
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    let first = summary(&dir.path().join("applied"));
    assert_eq!(first["mode"], "Apply");
    assert!(count(&first, "created") > 0);
    // People in a conflict or skipped were left as they were, and say so.
    assert_eq!(
        outcomes(&dir.path().join("applied")),
        [
            ("created.csv", vec!["applied"]),
            ("updated.csv", vec!["applied"]),
            ("deactivated.csv", vec!["applied"]),
            ("deleted.csv", vec!["applied"]),
            ("conflicts.csv", vec!["conflict"]),
            ("skipped.csv", vec!["skipped"]),
            ("errors.csv", vec!["failed"]),
        ]
    );

    let directory = std::fs::read(dir.path().join("directory.json")).unwrap();
    // The demo starts with one externalId on two users (its MultipleMatches case); apply adds
    // no other duplicate.
    assert_eq!(duplicated_external_ids(&directory), vec!["acme-hris:e1096"]);

    let again = hris(&["simulate"], &manifest, &dir.path().join("again"));
    assert_eq!(again.status.code(), Some(0));
    let second = summary(&dir.path().join("again"));
    for name in ["created", "updated", "deactivated", "deleted"] {
        assert_eq!(count(&second, name), 0, "{name} after apply: {second:#}");
    }
    assert_eq!(count(&second, "conflicts"), count(&first, "conflicts"));

    let reapplied = hris(&["apply"], &manifest, &dir.path().join("reapplied"));
    assert_eq!(reapplied.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        directory
    );
}

/// Each report CSV whose first column is `outcome`, with the distinct outcomes of its rows.
fn outcomes(out: &Path) -> Vec<(&'static str, Vec<&'static str>)> {
    hris_operator::sync::report::REPORT_FILES
        .into_iter()
        .filter(|name| name.ends_with(".csv"))
        .map(|name| {
            let mut reader = csv::Reader::from_path(out.join(name)).unwrap();
            assert_eq!(&reader.headers().unwrap()[0], "outcome", "{name}");
            let mut seen: Vec<&str> = reader
                .records()
                .map(|r| {
                    let outcome = &r.unwrap()[0];
                    [
                        "planned", "applied", "failed", "withheld", "conflict", "skipped",
                    ]
                    .into_iter()
                    .find(|known| *known == outcome)
                    .unwrap_or_else(|| panic!("{name}: unknown outcome `{outcome}`"))
                })
                .collect();
            seen.sort_unstable();
            seen.dedup();
            (name, seen)
        })
        .collect()
}

fn duplicated_external_ids(directory: &[u8]) -> Vec<String> {
    let users: Value = serde_json::from_slice(directory).unwrap();
    let mut ids: Vec<String> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["externalId"].as_str().map(str::to_lowercase))
        .collect();
    ids.sort_unstable();
    let mut duplicated: Vec<String> = ids
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].clone())
        .collect();
    duplicated.dedup();
    duplicated
}

#[test]
fn the_demo_directory_starts_with_exactly_one_duplicated_external_id() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/samples/demo/directory.json");
    assert_eq!(
        duplicated_external_ids(&std::fs::read(demo).unwrap()),
        vec!["acme-hris:e1096"]
    );
}

#[test]
fn a_failed_source_changes_nothing_and_exits_1() {
    let dir = demo_copy();
    std::fs::remove_file(dir.path().join("employees.csv")).unwrap();
    let before = std::fs::read(dir.path().join("directory.json")).unwrap();
    let output = hris(
        &["apply"],
        &dir.path().join("connection.yaml"),
        &dir.path().join("out"),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("reading the source failed"), "{stderr}");
    assert!(stderr.contains("Nothing was changed"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        before
    );
}

#[test]
fn a_bad_csv_header_is_invalid_input_and_exits_2() {
    let dir = demo_copy();
    std::fs::write(
        dir.path().join("employees.csv"),
        "id,firstName,lastName,employmentStatus,departmnt\n1,A,B,Active,x\n",
    )
    .unwrap();
    let output = hris(
        &["simulate"],
        &dir.path().join("connection.yaml"),
        &dir.path().join("out"),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("`departmnt` is not a canonical field")
    );
}

#[test]
fn the_safeguard_withholds_removals_exits_3_and_approval_lets_that_plan_through() {
    let dir = demo_copy();
    let manifest = dir.path().join("connection.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let strict = text.replace("removals: {maxPercent: 40}", "removals: {maxPercent: 5}");
    assert_ne!(strict, text, "the demo sets removals: {{maxPercent: 40}}");
    std::fs::write(&manifest, strict).unwrap();

    let simulated = hris(&["simulate"], &manifest, &dir.path().join("sim"));
    assert_eq!(simulated.status.code(), Some(3));
    let sim = summary(&dir.path().join("sim"));
    assert_eq!(sim["result"], "Withheld");
    assert_eq!((count(&sim, "deactivated"), count(&sim, "deleted")), (0, 0));
    let stdout = String::from_utf8_lossy(&simulated.stdout);
    let hash = sim["planHash"].as_str().unwrap().to_owned();
    assert!(stdout.contains(&format!("--approve {hash}")), "{stdout}");

    // Applying withholds the removals but makes the creates and updates, and names the hash
    // of what is left.
    let applied = hris(&["apply"], &manifest, &dir.path().join("apply"));
    assert_eq!(applied.status.code(), Some(3));
    let apply = summary(&dir.path().join("apply"));
    assert!(count(&apply, "created") > 0);
    assert_eq!(
        (count(&apply, "deactivated"), count(&apply, "deleted")),
        (0, 0)
    );
    let remainder = apply["planHash"].as_str().unwrap().to_owned();
    assert_ne!(remainder, hash);
    let withheld = csv_rows(dir.path().join("apply/deleted.csv"));
    assert!(!withheld.is_empty() && withheld.iter().all(|r| &r[0] == "withheld"));

    // Approving a different hash changes nothing; approving the named one lets exactly it through.
    let wrong = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["apply", "--approve", &hash, "--as-of", AS_OF, "-f"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path().join("wrong"))
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(3));
    let approved = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["apply", "--approve", &remainder, "--as-of", AS_OF, "-f"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path().join("approved"))
        .output()
        .unwrap();
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&approved.stdout)
    );
    let done = summary(&dir.path().join("approved"));
    assert_eq!(count(&done, "created"), 0);
    assert!(count(&done, "deleted") > 0 && count(&done, "deactivated") > 0);
}
