//! The `file` target at scale: 100,000 creates in one batch (as a run's first sync sends them),
//! then one batch renaming every user (new email and externalId: each checked for uniqueness
//! and moved in the indexes).
//!
//! `cargo bench --bench file_target` — times each batch from the call to the stored file
//! (load, apply, atomic write); `FILE_TARGET_BENCH_USERS=N` changes the count. Exits non-zero
//! when the creates take 5 s or more.

use std::time::{Duration, Instant};

use hris_operator::{
    connectors::target::file::FileTarget,
    sync::{
        model::{Attr, AttrChange, Attributes, NewUser},
        ports::target::{Target, TargetOp},
    },
};
use serde_json::json;

const BAR: Duration = Duration::from_secs(5);

fn new_user(n: usize) -> NewUser {
    let mut attributes = Attributes::default();
    attributes.set(
        "department".into(),
        json!(["Engineering", "Sales", "People"][n % 3]),
    );
    attributes.set("costCenter".into(), json!(format!("CC-{}", n % 400)));
    NewUser {
        external_id: format!("acme:E{n:07}").into(),
        email: format!("first{n}.last{n}@acme.example").into(),
        first_name: format!("First{n}").into(),
        last_name: format!("Last{n}").into(),
        preferred_language: Some("sv".into()),
        active: true,
        manager: (n >= 1000).then(|| format!("u{:06}", n % 1000 + 1).into()),
        attributes,
    }
}

fn rename(n: usize) -> TargetOp {
    let text = |value: String| Some(json!(value));
    TargetOp::Update {
        id: format!("u{:06}", n + 1).into(),
        version: Some("1".into()),
        changes: vec![
            AttrChange {
                attr: Attr::Email,
                before: None,
                after: text(format!("f{n}.l{n}@acme.example")),
            },
            AttrChange {
                attr: Attr::ExternalId,
                before: None,
                after: text(format!("acme:P{n:07}")),
            },
        ],
    }
}

async fn timed(target: &FileTarget, ops: Vec<TargetOp>) -> Duration {
    let count = ops.len();
    let start = Instant::now();
    let results = target.apply(ops).await;
    let elapsed = start.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!((results.len(), failed), (count, 0), "every write succeeds");
    elapsed
}

#[tokio::main]
async fn main() {
    let users: usize = std::env::var("FILE_TARGET_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("users.json");
    let target = FileTarget::new(path.clone());

    let creates = timed(
        &target,
        (0..users).map(|n| TargetOp::Create(new_user(n))).collect(),
    )
    .await;
    let size = std::fs::metadata(&path).expect("the stored file").len();
    println!(
        "creates: {users} in one batch into an empty file: {:.3} s ({:.1} MB written)",
        creates.as_secs_f64(),
        size as f64 / 1e6
    );
    let renames = timed(&target, (0..users).map(rename).collect()).await;
    println!(
        "renames: {users} (email and externalId each) in one batch: {:.3} s",
        renames.as_secs_f64()
    );
    let listed = target.list_users(&[]).await.expect("list").len();
    assert_eq!(listed, users);
    if creates >= BAR {
        eprintln!("{users} creates took {creates:?}, over the {BAR:?} bar");
        std::process::exit(1);
    }
}
