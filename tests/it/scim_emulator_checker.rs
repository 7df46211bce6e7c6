//! The SCIM emulator itself is checked by a third-party SCIM compliance checker (`scim2 test`,
//! PyPI scim2-cli), so the client is tested against something that behaves like a real server.

use crate::common;

use hris_emulators::scim::{ScimConfig, ScimEmulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_passes_the_scim2_compliance_checker() {
    let scim2 = common::child_server::venv().join("bin/scim2");
    assert!(
        scim2.exists(),
        "{} not found: run tests/python-tools.sh",
        scim2.display()
    );
    let emulator = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    let output = tokio::process::Command::new(&scim2)
        .args(["--url", &emulator.base_url()])
        .args(["-h", "Authorization: Bearer test-token", "test"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scim2 test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let successes = stdout.matches("SUCCESS").count();
    assert!(successes >= 70, "{successes} checks succeeded:\n{stdout}");
    assert!(!stdout.contains("ERROR"), "{stdout}");
    assert!(!stdout.contains("SKIPPED"), "{stdout}");
}
