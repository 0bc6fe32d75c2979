//! The `suanli` command line: the edge of the system. Each subcommand group lives in its
//! own module under `cmd/`; this file only parses arguments and dispatches.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "suanli", version, about = "suanli (算力): a computing-power exchange")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ed25519 key files.
    #[command(subcommand)]
    Key(cmd::key::KeyCmd),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Key(c)) => cmd::key::run(c),
        None => {
            eprintln!("no command given; try `suanli --help`");
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
