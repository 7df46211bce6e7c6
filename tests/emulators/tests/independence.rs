//! The emulators judge the product, so they take nothing from it but the seed data model
//! (`hris_operator::sync::model`): an emulator keeps its own copy of every fact about its API.
//! And the product takes nothing from them: no emulator code is in `hris-operator`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    assert!(!files.is_empty(), "no Rust files under {}", dir.display());
    files
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn emulators_take_nothing_from_the_product_but_the_seed_model() {
    let mut problems = Vec::new();
    let mut seed_imports = 0;
    for file in rust_files(&crate_dir().join("src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("hris_operator::") {
                let rest = &line[at + "hris_operator::".len()..];
                if rest.starts_with("sync::model::") {
                    seed_imports += 1;
                } else {
                    problems.push(format!("{}:{}: {line}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        seed_imports > 0,
        "the scan found not even the seed model's imports"
    );
}

#[test]
fn the_product_holds_no_emulator() {
    let product = crate_dir().join("../../src");
    assert!(!product.join("emulators").exists());
    let mut problems = Vec::new();
    for file in rust_files(&product) {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("hris_emulators") || text.contains("emulators::") {
            problems.push(file.display().to_string());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
