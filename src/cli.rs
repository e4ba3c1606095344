//! The command line (SPEC §7, §10): `netsuite-ion-sync [--config PATH] <command>`.
//!
//! Exit codes are a contract: 0 success, 1 something failed (details in the log), 2 bad usage
//! or configuration. Only commands that work exist; each later capability adds its own.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError, Environment};
use crate::store::{self, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "netsuite-ion-sync",
    version,
    about = "Keeps NetSuite purchasing and ION receiving in step."
)]
pub struct Cli {
    /// Configuration file [default: $NSION_CONFIG, else /etc/netsuite-ion-sync/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Checkpoints, link counts, last cycle per loop and open problems.
    Status {
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One NetSuite → ION purchase-order cycle, then exit (1 if anything failed).
    Once {
        /// Print the planned changes on both sides and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Reconcile one purchase order now, whatever the checkpoints say.
    Resync {
        /// NetSuite internal id or tranId (e.g. `PO1042`).
        po: String,
        /// Print the planned changes on both sides and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The whole system on this machine: NetSuite and ION simulators with sample data, the
    /// daemon against them, and a scripted tour of what it does (needs no config file).
    Sandbox(crate::sandbox::tour::SandboxOptions),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, where each value came from, and whether the secrets
    /// can be read (never their content).
    Check,
}

/// Exit code for bad usage or configuration.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for "something failed".
pub const EXIT_FAILURE: u8 = 1;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // `sandbox` builds its own configuration (simulators, a temporary store, generated
    // credentials): it must work without a config file.
    if let Command::Sandbox(opts) = cli.command {
        return crate::sandbox::tour::run(opts);
    }
    let env = Environment::from_process();
    let path = crate::config::resolve_path(cli.config.as_deref(), &env);
    let config = match Config::load_with(&path, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("netsuite-ion-sync: {} ({})", e, path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    crate::telemetry::init(config.log_format);
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check,
        } => config_check(&config, &path),
        Command::Status { json } => status(&config, json),
        Command::Once { dry_run } => sync_command(&config, None, dry_run),
        Command::Resync { po, dry_run } => sync_command(&config, Some(po), dry_run),
        Command::Sandbox(opts) => crate::sandbox::tour::run(opts),
    }
}

/// `once` (`po` = None) and `resync <po>`: one engine run on a fresh runtime. Plans are
/// printed on stdout in a dry run; everything else goes to the log.
fn sync_command(config: &Config, po: Option<String>, dry_run: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netsuite-ion-sync: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    runtime.block_on(async {
        let mut ctx = match crate::sync::Context::from_config(config) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("netsuite-ion-sync: {e:#}");
                return ExitCode::from(EXIT_FAILURE);
            }
        };
        let mapped = !ctx.settings.mapping.po_attributes.is_empty()
            || !ctx.settings.mapping.line_attributes.is_empty();
        if mapped && let Err(e) = ctx.load_attribute_types().await {
            tracing::error!(error = %format!("{e:#}"), "reading ION attribute definitions failed");
            return ExitCode::from(EXIT_FAILURE);
        }
        let receipts = crate::sync::ReceiptSync::from_context(&ctx).with_schedule(&config.schedule);
        let engine = crate::sync::Engine::new(ctx);
        let result = match &po {
            None => engine.po_cycle(crate::sync::CycleOptions { dry_run }).await,
            Some(po) => engine.resync_po(po, dry_run).await,
        };
        // `once` runs both directions; `resync <PO>` is about one PO's data only.
        let receipts_ok = match &po {
            Some(_) => true,
            None => match receipts.receipts_cycle(chrono::Utc::now(), dry_run).await {
                Ok(sum) => {
                    for plan in &sum.planned {
                        println!(
                            "would create item receipt {} from NetSuite PO {} ({} lines received)",
                            plan.external_id,
                            plan.ns_po_id,
                            plan.lines.iter().filter(|l| l.item_receive).count()
                        );
                    }
                    println!("receipts: {sum}");
                    sum.ok()
                }
                Err(e) => {
                    tracing::error!(error = %e, "receipts cycle failed");
                    eprintln!("netsuite-ion-sync: receipts: {e}");
                    false
                }
            },
        };
        match result {
            Ok(sum) => {
                for plan in &sum.plans {
                    print!("{}", crate::sync::po_sync::render_plan(plan));
                }
                println!("{sum}");
                if sum.failed == 0 && receipts_ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_FAILURE)
                }
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "sync failed");
                eprintln!("netsuite-ion-sync: {e:#}");
                ExitCode::from(EXIT_FAILURE)
            }
        }
    })
}

fn config_check(config: &Config, path: &Path) -> ExitCode {
    println!("configuration: {}", path.display());
    let rows = config.describe();
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    for (key, value, origin) in &rows {
        println!("  {key:<width$} = {value}    # {origin}");
    }
    let mut ok = true;
    for (key, secret) in [
        ("netsuite.private_key_file", &config.netsuite.private_key),
        ("ion.client_secret_file", &config.ion.client_secret),
    ] {
        match secret.load(key) {
            Ok(_) => println!("secret {key}: readable"),
            Err(e) => {
                ok = false;
                println!("secret {key}: NOT READABLE: {}", redact_io(&e));
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE)
    }
}

/// Config errors never contain secret content (only paths and variable names), so printing them
/// is safe; this exists to make that decision visible in one place.
fn redact_io(e: &ConfigError) -> String {
    e.to_string()
}

fn status(config: &Config, json: bool) -> ExitCode {
    let (report, source) = match Store::open(&config.store_path) {
        Ok(store) => match store.status() {
            Ok(r) => (r, "store".to_string()),
            Err(e) => return fail(&e),
        },
        Err(StoreError::Locked { pid, .. }) => {
            match store::read_status_snapshot(&config.store_path) {
                Ok(Some(r)) => (
                    r,
                    format!(
                        "snapshot of the running daemon{}",
                        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                    ),
                ),
                Ok(None) => {
                    eprintln!(
                        "netsuite-ion-sync: the daemon holds the store at {} and has not written a \
                         status snapshot yet; try again after its first cycle",
                        config.store_path.display()
                    );
                    return ExitCode::from(EXIT_FAILURE);
                }
                Err(e) => return fail(&e),
            }
        }
        Err(e) => return fail(&e),
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("netsuite-ion-sync: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
        return ExitCode::SUCCESS;
    }
    print!("{}", render_status(&report, &source, &config.store_path));
    ExitCode::SUCCESS
}

fn fail(e: &StoreError) -> ExitCode {
    eprintln!("netsuite-ion-sync: {e}");
    ExitCode::from(EXIT_FAILURE)
}

/// The text form of `status`, kept apart from I/O so it can be tested with data.
pub fn render_status(r: &store::StatusReport, source: &str, path: &Path) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "store: {} (schema {}, read from {source}, as of {})",
        path.display(),
        r.schema_version,
        r.generated_at.to_rfc3339()
    );
    let _ = writeln!(s, "checkpoints:");
    for name in store::Checkpoint::ALL.map(store::Checkpoint::name) {
        match r.checkpoints.get(name) {
            Some(c) => {
                let _ = writeln!(s, "  {name:<26} {} / id {}", c.at, c.id);
            }
            None => {
                let _ = writeln!(s, "  {name:<26} (not started)");
            }
        }
    }
    let _ = writeln!(
        s,
        "links: {} purchase orders, {} suppliers, {} item receipts ({} awaiting confirmation)",
        r.po_links, r.vendor_links, r.receipt_links, r.receipts_pending
    );
    let _ = writeln!(s, "last cycles:");
    if r.cycles.is_empty() {
        let _ = writeln!(s, "  (none yet)");
    }
    for c in &r.cycles {
        let _ = writeln!(
            s,
            "  {:<20} {} {} → {}: {}",
            c.loop_name,
            if c.ok { "ok    " } else { "FAILED" },
            c.started.to_rfc3339(),
            c.finished.to_rfc3339(),
            c.summary
        );
    }
    let count: usize = r.problems.iter().map(|p| p.problems.len()).sum();
    let _ = writeln!(s, "open problems: {count}");
    for po in &r.problems {
        let name = po
            .tran_id
            .clone()
            .unwrap_or_else(|| format!("NetSuite PO {}", po.ns_po_id));
        for p in &po.problems {
            let _ = writeln!(
                s,
                "  {name} (id {}): [{}] {}: {} (since {}, {} attempts)",
                po.ns_po_id,
                p.kind,
                p.subject,
                p.message,
                p.first_seen.to_rfc3339(),
                p.attempts
            );
        }
    }
    s
}
