//! Shared harness of the binary's end-to-end tests: the built `suanli` and a node
//! started on an OS-chosen port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn suanli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_suanli"))
}

/// Starts a node on an OS-chosen port and returns it with its base URL.
pub fn start_node(data: &Path) -> (Child, String) {
    let mut child = suanli()
        .args([
            "node",
            "--listen",
            "127.0.0.1:0",
            "--block-interval-ms",
            "3",
            "--data",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}
