//! `powerpole preview` as a person runs it: the real binary, its output and its exit code.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::process::{Command, Output};

fn powerpole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[test]
fn preview_shows_the_user_name_and_privileges_a_request_would_create() {
    let out = powerpole(&[
        "preview",
        "--email",
        "Keisuke.Owato@example.com",
        "--permission",
        "dml",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("db user:     keisuke.owato\n"), "{stdout}");
    assert!(
        stdout.contains("SELECT, SHOW VIEW, INSERT, UPDATE, DELETE\n"),
        "{stdout}"
    );
}

#[test]
fn preview_refuses_a_hostile_email_with_a_clear_error() {
    let out = powerpole(&["preview", "--email", "\"'; DROP USER root; --\"@x"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("the e-mail address was refused"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid email"), "{stderr}");
}

#[test]
fn preview_refuses_an_unknown_level() {
    let out = powerpole(&[
        "preview",
        "--email",
        "a@example.com",
        "--permission",
        "ADMIN",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("expected READ, DML or DDL")
    );
}
