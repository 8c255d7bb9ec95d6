//! The `sweep` binary as Lambda starts it with none of its variables: it refuses to start and
//! names every one it needs. (This test also makes `cargo test --workspace` build the binary the
//! deployed-shape harness runs.)

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

#[test]
fn without_its_variables_it_refuses_to_start_naming_them() {
    let (started, output) = powerpole_testkit::deployed::lambda::start_unconfigured(
        std::path::Path::new(env!("CARGO_BIN_EXE_powerpole-sweep")),
    )
    .unwrap();

    assert!(!started, "{output}");
    for var in [
        "POWERPOLE_TABLE",
        "POWERPOLE_SLACK_SECRET_ARN",
        "POWERPOLE_APPROVERS_CHANNEL",
        "POWERPOLE_CLUSTERS",
        "POWERPOLE_BASTION_LAUNCH_TEMPLATE",
        "POWERPOLE_STATE_MACHINE_ARN",
    ] {
        assert!(
            output.contains(&format!("{var} is not set")),
            "{var}: {output}"
        );
    }
}
