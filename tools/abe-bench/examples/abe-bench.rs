//! Stand-alone run of the bench until `suanli bench abe` is wired in the CLI:
//! `cargo run --release -p suanli-abe-bench --example abe-bench -- [--json]`.

fn main() -> Result<(), suanli_abe_bench::BenchError> {
    let json = std::env::args().any(|a| a == "--json");
    suanli_abe_bench::run(json)
}
