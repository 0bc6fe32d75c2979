//! The `suanli` command line: the edge of the system. Each subcommand group lives in its
//! own module under `cmd/`; this file only parses arguments and dispatches.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "suanli",
    version,
    about = "suanli (算力): a computing-power exchange"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Walk the whole flow on a fresh embedded node and platform (the default command).
    Demo(cmd::demo::DemoArgs),
    /// Run a ledger node (identity and trade chains) with its HTTP API.
    Node(cmd::node::NodeArgs),
    /// Offline tools over a node's data directory.
    #[command(subcommand)]
    Chain(cmd::chain::ChainCmd),
    /// Benchmarks that print figures with a same-run baseline.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCmd),
    /// Run the operations platform: web consoles at / and the HTTP API under /api/v1.
    Serve(cmd::serve::ServeArgs),
    /// The web consoles' tools: `screenshots` regenerates docs/screenshots.
    #[command(subcommand)]
    Web(cmd::web::WebCmd),
    /// Operations-platform maintenance: `reconcile` journal vs chain settlement credits.
    #[command(subcommand)]
    Ops(cmd::ops::OpsCmd),
    /// DIDs on the identity chain (did:suanli) and did:key resolution.
    #[command(subcommand)]
    Did(cmd::identity::DidCmd),
    /// The genesis authority's Authority-Issuer list.
    #[command(subcommand)]
    Issuer(cmd::identity::IssuerCmd),
    /// CPT (credential template) registry.
    #[command(subcommand)]
    Cpt(cmd::identity::CptCmd),
    /// Verifiable credentials (eddsa-jcs-2022): issue, verify, revoke.
    #[command(subcommand)]
    Vc(cmd::identity::VcCmd),
    /// Verifiable presentations bound to a verifier's challenge and domain.
    #[command(subcommand)]
    Vp(cmd::identity::VpCmd),
    /// KYC: applicants sign their claims, the authority or an admitted issuer issues.
    #[command(subcommand)]
    Kyc(cmd::identity::KycCmd),
    /// The trade chain: enrolment, modes, offers, orders, contracts, check-ins, closes,
    /// ratings, histories and reputation.
    #[command(subcommand)]
    Trade(cmd::trade::TradeCmd),
    /// Service channels: open, bond, top-up, attach, run the controller, close, challenge,
    /// settle.
    #[command(subcommand)]
    Channel(cmd::channel::ChannelCmd),
    /// Ed25519 key files.
    #[command(subcommand)]
    Key(cmd::key::KeyCmd),
    /// Data-driven scheduling: the market simulator and the optimal-transport solver.
    #[command(subcommand)]
    Sched(cmd::sched::SchedCmd),
    // --- supply (issue 16, supply helper)
    /// A supplier's resources, trade modes and offers over the platform's API.
    #[command(subcommand)]
    Supplier(cmd::supplier::SupplierCmd),
    /// The supplier agent: `keygen --out FILE`, or run with `--config FILE`.
    Agent(cmd::agent::AgentArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The demo narrates on stdout; its servers' logs stay at warnings unless RUST_LOG says
    // otherwise.
    let quiet = matches!(cli.command, None | Some(Command::Demo(_)));
    cmd::init_logging(if quiet { "warn" } else { "info" });
    let result = match cli.command {
        Some(Command::Demo(a)) => cmd::demo::run(a),
        None => cmd::demo::run(cmd::demo::DemoArgs::default()),
        Some(Command::Node(a)) => cmd::node::run(a),
        Some(Command::Chain(c)) => cmd::chain::run(c),
        Some(Command::Bench(c)) => cmd::bench::run(c),
        Some(Command::Serve(a)) => cmd::serve::run(a),
        Some(Command::Web(c)) => cmd::web::run(c),
        Some(Command::Ops(c)) => cmd::ops::run(c),
        Some(Command::Did(c)) => cmd::identity::run_did(c),
        Some(Command::Issuer(c)) => cmd::identity::run_issuer(c),
        Some(Command::Cpt(c)) => cmd::identity::run_cpt(c),
        Some(Command::Vc(c)) => cmd::identity::run_vc(c),
        Some(Command::Vp(c)) => cmd::identity::run_vp(c),
        Some(Command::Kyc(c)) => cmd::identity::run_kyc(c),
        Some(Command::Trade(c)) => cmd::trade::run(c),
        Some(Command::Channel(c)) => cmd::channel::run(c),
        Some(Command::Key(c)) => cmd::key::run(c),
        Some(Command::Sched(c)) => cmd::sched::run(c),
        Some(Command::Supplier(c)) => cmd::supplier::run(c),
        Some(Command::Agent(a)) => cmd::agent::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
