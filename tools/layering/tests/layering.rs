//! The workspace obeys its layering: no crate depends on a higher layer, every crate is
//! in the table, and no product crate depends on test tooling.

use std::process::Command;

#[test]
fn no_crate_depends_on_a_higher_layer() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The directory `cargo test` runs us from, read at run time: a build cache reused by a
    // checkout elsewhere would carry the compile-time path of another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let manifest = format!("{dir}/../../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .args(["--manifest-path", manifest.as_str()])
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        other => panic!("cargo metadata failed: {other:?}"),
    };
    let meta: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!("cargo metadata printed no JSON: {e}"),
    };
    let v = match suanli_layering::violations(&meta) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert!(
        v.is_empty(),
        "layering violations:\n{}",
        v.iter()
            .map(|v| v.0.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
