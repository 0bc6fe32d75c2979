//! `suanli agent …`: the supplier agent (`docs/supply.md` §3). `keygen` writes the agent's
//! key file and prints the public key the supplier delegates; `proof` prints the key's
//! proof of possession for the delegation; `--config FILE` runs the
//! agent on the real clock until ctrl-c or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Args, Subcommand};
use suanli_agent::Agent;
use suanli_agent::channels::SupplierChannels;
use suanli_agent::config::{Settings, read_token};
use suanli_agent::platform::HttpPlatform;
use suanli_agent::provision::ManualWorkOrders;
use suanli_agent::store::DoneStore;
use suanli_ledger_client::HttpLedger;
use suanli_primitives::{SecretKey, SystemClock};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub cmd: Option<AgentCmd>,
    /// The agent's configuration file (TOML; docs/supply.md §3.2).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Create the agent's key file (PKCS#8 PEM, mode 0600, never overwritten) and print
    /// the public key to delegate on the supplier console's agent keys page.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the key's proof of possession (hex) for a delegation: its signature of its
    /// consent to act for `--supplier` under `--fragment` (docs/trade.md §1.1), which the
    /// supplier gives with the public key when it delegates.
    Proof {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        supplier: String,
        #[arg(long, default_value = "agent-1")]
        fragment: String,
    },
}

pub fn run(a: AgentArgs) -> anyhow::Result<()> {
    match (a.cmd, a.config) {
        (Some(AgentCmd::Keygen { out }), _) => {
            let key = SecretKey::generate()?;
            key.save(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("{}", key.public());
            Ok(())
        }
        (
            Some(AgentCmd::Proof {
                key,
                supplier,
                fragment,
            }),
            _,
        ) => {
            let key = SecretKey::load(&key)?;
            let supplier = suanli_trade::PartyDid::parse(&supplier)
                .map_err(|e| anyhow::anyhow!("--supplier: {e}"))?;
            suanli_identity::Fragment::new(&fragment)
                .map_err(|e| anyhow::anyhow!("--fragment: {e}"))?;
            let proof = suanli_trade::op::agent_proof(&key, &supplier, &fragment);
            println!("{}", proof.to_hex());
            Ok(())
        }
        (None, Some(config)) => run_agent(&config),
        (None, None) => anyhow::bail!("give --config FILE, or `suanli agent keygen --out FILE`"),
    }
}

fn run_agent(config: &std::path::Path) -> anyhow::Result<()> {
    let s = Settings::load(config)?;
    let key = SecretKey::load(&s.key_file)?;
    let token = read_token("api token file", &s.api_token_file)?;
    let ledger = HttpLedger::with_token_file(&s.node_url, s.node_token_file.as_deref())?;
    let platform = Arc::new(HttpPlatform::new(&s.platform_url, token));
    tracing::info!(
        supplier = %s.supplier_did.as_str(),
        key = %key.public(),
        policy = ?s.policy,
        "supplier agent starting"
    );
    let agent = Agent {
        ledger: Arc::new(ledger),
        platform: platform.clone(),
        provisioner: Arc::new(ManualWorkOrders::new(platform)),
        supplier: s.supplier_did.clone(),
        key,
        key_fragment: s.key_fragment.clone(),
        policy: s.policy.clone(),
        store: DoneStore::open(&s.data_dir)?,
        clock: Arc::new(SystemClock),
        channels: SupplierChannels::own_runtime(&s.data_dir)?,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let interval_ms = s.poll_interval_secs.saturating_mul(1_000);
    let worker = std::thread::spawn(move || agent.run(interval_ms, &flag));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(suanli_platform_http::shutdown_signal());
    stop.store(true, Ordering::SeqCst);
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("the agent thread panicked"))
}
