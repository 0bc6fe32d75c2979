//! The layering rule of `ARCHITECTURE.md`, as data and a check.
//!
//! Owns: [`LAYERS`] (every workspace crate and its layer) and [`violations`], which reads
//! `cargo metadata` output and lists each dependency of a workspace crate on a crate of a
//! higher layer, each workspace crate missing from the table, and each product crate
//! (layers 1–4) that depends on test tooling (layer 5 `tools/`).
//!
//! Invariant: a lower layer never imports a higher one. Where to start: the test in
//! `tests/layering.rs` runs `cargo metadata` on this workspace and fails on any violation;
//! a new crate must be added to [`LAYERS`] (and to the code map) before it builds green.

use serde_json::Value;

/// The layers, bottom first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// Ids, money, time, keys, hashes, canonical encodings. No I/O.
    Primitives = 1,
    /// Pure deterministic cores: ledger engine, identity, credentials, trade, market,
    /// platform domain. No I/O, no clock reads, no randomness except by parameter.
    Core = 2,
    /// Stores and networking: block store and node runtime, channel controller, ledger
    /// client, the platform's SQL store and its service layer.
    Store = 3,
    /// The edge: HTTP APIs, web pages, the platform ↔ ledger bridge.
    Edge = 4,
    /// The binary and test tooling (benchmarks, demos, browser harness).
    Tools = 5,
}

/// Every workspace crate and its layer.
pub const LAYERS: &[(&str, Layer)] = &[
    ("suanli-primitives", Layer::Primitives),
    ("suanli-ledger", Layer::Core),
    ("suanli-vc", Layer::Core),
    ("suanli-abe", Layer::Core),
    ("suanli-identity", Layer::Core),
    ("suanli-trade", Layer::Core),
    ("suanli-market", Layer::Core),
    ("suanli-platform-domain", Layer::Core),
    ("suanli-node", Layer::Store),
    ("suanli-channel-controller", Layer::Store),
    ("suanli-ledger-client", Layer::Store),
    ("suanli-platform-store", Layer::Store),
    ("suanli-platform-service", Layer::Store),
    ("suanli-node-http", Layer::Edge),
    ("suanli-platform-http", Layer::Edge),
    ("suanli-platform-web", Layer::Edge),
    ("suanli-bridge", Layer::Edge),
    ("suanli-agent", Layer::Edge),
    ("suanli", Layer::Tools),
    ("suanli-layering", Layer::Tools),
    ("suanli-tools", Layer::Tools),
    ("suanli-bench", Layer::Tools),
    ("suanli-demo", Layer::Tools),
    ("suanli-webtest", Layer::Tools),
    ("suanli-abe-bench", Layer::Tools),
];

/// The layer of a crate, if the table names it.
pub fn layer_of(name: &str) -> Option<Layer> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// Why `cargo metadata` output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayeringError {
    /// The output lacks the `packages` array of `--format-version 1`.
    #[error("cargo metadata output has no `packages` array")]
    NoPackages,
}

/// One breach of the layering rule, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

/// Every violation in `metadata` (`cargo metadata --format-version 1 --no-deps`). Only
/// normal and build dependencies count; dev-dependencies (tests) may reach up.
pub fn violations(metadata: &Value) -> Result<Vec<Violation>, LayeringError> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or(LayeringError::NoPackages)?;
    let members: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut out = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(own) = layer_of(name) else {
            out.push(Violation(format!(
                "{name} is not in the layer table (tools/layering/src/lib.rs LAYERS)"
            )));
            continue;
        };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or_default();
            if d["kind"].as_str() == Some("dev") || !members.contains(&dep) {
                continue;
            }
            match layer_of(dep) {
                Some(l) if l > own => out.push(Violation(format!(
                    "{name} (layer {}) depends on {dep} (layer {})",
                    own as u8, l as u8
                ))),
                Some(Layer::Tools) if own < Layer::Tools => {
                    out.push(Violation(format!("{name} depends on test tooling {dep}")))
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pkgs: Value) -> Value {
        serde_json::json!({ "packages": pkgs })
    }

    #[test]
    fn a_core_crate_depending_on_the_edge_is_caught() {
        let m = meta(serde_json::json!([
            {"name": "suanli-trade", "dependencies": [{"name": "suanli-platform-http", "kind": null}]},
            {"name": "suanli-platform-http", "dependencies": [{"name": "suanli-trade", "kind": null}]},
        ]));
        let v = violations(&m).unwrap_or_default();
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].0
                .contains("suanli-trade (layer 2) depends on suanli-platform-http")
        );
    }

    #[test]
    fn dev_dependencies_and_unknown_crates() {
        let m = meta(serde_json::json!([
            {"name": "suanli-ledger", "dependencies": [{"name": "suanli-node", "kind": "dev"}]},
            {"name": "suanli-node", "dependencies": []},
            {"name": "suanli-newthing", "dependencies": []},
        ]));
        let v = violations(&m).unwrap_or_default();
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].0.contains("suanli-newthing is not in the layer table"));
    }
}
