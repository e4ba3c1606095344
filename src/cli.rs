//! The command line: `netsuite-ion-sync [--config PATH] <command>`.
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
    /// Show what is linked to what: with no argument every PO and supplier link; with a
    /// NetSuite internal id, a tranId or an ION PO id, that PO's lines, receipts and problems.
    Links {
        /// NetSuite internal id, tranId (e.g. PO1042) or ION PO id.
        query: Option<String>,
    },
    /// Check the configuration, both logins, NetSuite permissions (SuiteQL, DeletedRecord),
    /// ION attribute definitions, the SuiteQL time-zone offset and clock skew; print what to fix.
    Doctor,
    /// One-time set-up in ION.
    Setup {
        #[command(subcommand)]
        command: SetupCommand,
    },
    /// The daemon: both poll loops and the scheduled full reconciliation, until SIGTERM
    /// (systemd notify: READY, STATUS, WATCHDOG, STOPPING).
    Run,
    /// One NetSuite → ION purchase-order cycle, then exit (1 if anything failed).
    Once {
        /// Print the planned changes on both sides and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Initial import of existing purchase orders: those NetSuite last modified on or after
    /// DATE, page by page (a progress line on a terminal), through the same path as a cycle.
    /// Moves the checkpoints so that `run` continues from there; interrupt it and run it again
    /// to resume. Exit 1 if any PO failed (kept as an open problem).
    Backfill {
        /// First day to import, YYYY-MM-DD, in the NetSuite account's time zone.
        #[arg(long, value_name = "DATE")]
        since: crate::sync::backfill::SinceDate,
        /// Print the planned changes per PO and change nothing (no ION write, no checkpoint).
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
    #[cfg(feature = "sandbox")]
    Sandbox(crate::tour::SandboxOptions),
    // Without the `sandbox` feature: hidden from `--help`; run, it says why it is missing.
    /// Not in this build (built without the `sandbox` feature).
    #[cfg(not(feature = "sandbox"))]
    #[command(hide = true)]
    Sandbox(NoSandbox),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// What `sandbox` accepts in a build without the simulators: anything, so that the command
/// can say why it is missing rather than clap rejecting `--keep` as an unknown option.
#[cfg(not(feature = "sandbox"))]
#[derive(Debug, Clone, clap::Args)]
pub struct NoSandbox {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Create the four custom attribute definitions the sync needs, where missing:
    /// PO "Netsuite PO Number" and "Netsuite RecordID", line "ns_line_id" and "Non-receivable".
    IonAttributes,
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
        return sandbox(opts);
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
        Command::Links { query } => links(&config, query.as_deref()),
        Command::Run => block_on(run_daemon(&config)),
        Command::Doctor => block_on(doctor(&config)),
        Command::Setup {
            command: SetupCommand::IonAttributes,
        } => block_on(setup_ion_attributes(&config)),
        Command::Once { dry_run } => sync_command(&config, None, dry_run),
        Command::Resync { po, dry_run } => sync_command(&config, Some(po), dry_run),
        Command::Backfill { since, dry_run } => block_on(backfill(
            &config,
            crate::sync::backfill::BackfillOptions { since, dry_run },
        )),
        Command::Sandbox(opts) => sandbox(opts),
    }
}

/// `sandbox`: the tour on its own runtime. Its outcome becomes the exit code here, so the tour
/// itself knows nothing of the command line.
#[cfg(feature = "sandbox")]
fn sandbox(opts: crate::tour::SandboxOptions) -> ExitCode {
    block_on(async {
        match crate::tour::run(opts, render_status).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(EXIT_FAILURE),
            Err(e) => {
                eprintln!("netsuite-ion-sync sandbox: {e:#}");
                ExitCode::from(EXIT_FAILURE)
            }
        }
    })
}

/// `sandbox` in a build without the simulators: a usage error that says how to get them.
#[cfg(not(feature = "sandbox"))]
fn sandbox(_: NoSandbox) -> ExitCode {
    eprintln!(
        "netsuite-ion-sync: this build has no sandbox (built without the `sandbox` feature); \
         build with the default features to get the simulators and the tour"
    );
    ExitCode::from(EXIT_USAGE)
}

/// Runs an async command on a fresh multi-threaded runtime.
fn block_on(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => {
            eprintln!("netsuite-ion-sync: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn doctor(config: &Config) -> ExitCode {
    let checks = crate::doctor::run(config).await;
    for c in &checks {
        println!("{c}");
    }
    let failed = checks
        .iter()
        .filter(|c| c.verdict == crate::doctor::Verdict::Fail)
        .count();
    let warned = checks
        .iter()
        .filter(|c| c.verdict == crate::doctor::Verdict::Warn)
        .count();
    println!(
        "{} checks: {failed} failed, {warned} warnings",
        checks.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

async fn setup_ion_attributes(config: &Config) -> ExitCode {
    let client = match crate::clients::ion_client(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("netsuite-ion-sync: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match client.ensure_required_attributes().await {
        Ok(created) if created.is_empty() => {
            println!("all four ION attribute definitions already exist; nothing to do");
            ExitCode::SUCCESS
        }
        Ok(created) => {
            for r in &created {
                println!(
                    "created {:?} attribute `{}` ({:?})",
                    r.entity, r.key, r.attribute_type
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netsuite-ion-sync: setup ion-attributes failed: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// `once` (`po` = None) and `resync <po>`: one engine run on a fresh runtime. Plans are
/// printed on stdout in a dry run; everything else goes to the log.
/// Both sync legs from the configuration: the PO engine (with the ION types of mapped
/// attributes when any are mapped) and the receipts leg (in the account's measured time zone
/// when `with_receipts_zone`; `resync` skips that probe).
async fn build_legs(
    config: &Config,
    with_receipts_zone: bool,
) -> anyhow::Result<(crate::sync::Engine, crate::sync::ReceiptSync)> {
    let mut ctx = crate::sync::Context::from_config(config)?;
    let mapped = !ctx.settings.mapping.po_attributes.is_empty()
        || !ctx.settings.mapping.line_attributes.is_empty();
    if mapped {
        ctx.load_attribute_types()
            .await
            .map_err(|e| e.context("reading ION attribute definitions"))?;
    }
    let mut receipts = crate::sync::ReceiptSync::from_context(&ctx).with_schedule(&config.schedule);
    if with_receipts_zone {
        receipts.tz = crate::sync::daemon_work::account_time_zone(&ctx.netsuite).await;
    }
    Ok((crate::sync::Engine::new(ctx), receipts))
}

/// `run`: builds the engine and hands it to the daemon loop until SIGTERM/SIGINT.
async fn run_daemon(config: &Config) -> ExitCode {
    let (engine, receipts) = match build_legs(config, true).await {
        Ok(legs) => legs,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot start");
            eprintln!("netsuite-ion-sync: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let work = std::sync::Arc::new(crate::sync::daemon_work::SyncWork::new(engine, receipts));
    let timing = crate::daemon::Timing {
        netsuite_poll: config.schedule.netsuite_poll,
        ion_receipts_poll: config.schedule.ion_receipts_poll,
        full_reconcile: config.schedule.full_reconcile.clone(),
        stop_grace: std::time::Duration::from_secs(60),
    };
    match crate::daemon::run(work, timing, crate::daemon::termination_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "daemon failed");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn sync_command(config: &Config, po: Option<String>, dry_run: bool) -> ExitCode {
    block_on(async {
        let (engine, receipts) = match build_legs(config, po.is_none()).await {
            Ok(legs) => legs,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot start");
                eprintln!("netsuite-ion-sync: {e:#}");
                return ExitCode::from(EXIT_FAILURE);
            }
        };
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
                    let why = crate::telemetry::error_chain(&e);
                    tracing::error!(error = %why, "receipts cycle failed");
                    eprintln!("netsuite-ion-sync: receipts: {why}");
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

/// `backfill --since DATE [--dry-run]`: pages through NetSuite from DATE with a progress line
/// on a terminal (one log line per page otherwise); SIGINT/SIGTERM abandon it safely (every
/// completed page is recorded; running it again resumes).
async fn backfill(config: &Config, opts: crate::sync::backfill::BackfillOptions) -> ExitCode {
    use crate::sync::backfill::{self, PageReport};
    use crate::telemetry;

    let (engine, _receipts) = match build_legs(config, false).await {
        Ok(legs) => legs,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot start");
            eprintln!("netsuite-ion-sync: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let started = chrono::Utc::now();
    let terminal = telemetry::status_line_supported();
    let mut observer = |r: &PageReport<'_>| {
        if !r.plans.is_empty() {
            telemetry::above_status_line(|| {
                for plan in r.plans {
                    print!("{}", crate::sync::po_sync::render_plan(plan));
                }
            });
        }
        let p = r.progress;
        if terminal {
            telemetry::set_status_line(&backfill::progress_line(p));
        } else {
            tracing::info!(
                page = p.pages,
                read = p.read,
                total = ?p.total,
                applied = p.applied,
                unchanged = p.unchanged,
                failed = p.failed,
                deferred = p.deferred,
                reached = ?p.reached,
                dry_run = opts.dry_run,
                "backfill page done"
            );
        }
    };
    if terminal {
        telemetry::set_status_line(&format!(
            "backfill since {}: reading the first page…",
            opts.since
        ));
    }
    let outcome = tokio::select! {
        r = backfill::run(&engine, &opts, &mut observer) => Some(r),
        () = crate::daemon::termination_signal() => None,
    };
    telemetry::finish_status_line();
    match outcome {
        Some(Ok(sum)) => {
            println!("{sum}");
            if opts.dry_run {
                println!("dry run: nothing was changed");
            }
            if sum.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
        Some(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "backfill stopped");
            eprintln!(
                "netsuite-ion-sync: backfill stopped: {e:#}\n\
                 every completed page is recorded; run the same command again to resume"
            );
            ExitCode::from(EXIT_FAILURE)
        }
        None => {
            let message = "backfill interrupted; every completed page is recorded, run the same \
                           command again to resume";
            tracing::warn!("{message}");
            if !opts.dry_run {
                let store = &engine.context().store;
                let report = store::CycleReport {
                    loop_name: backfill::LOOP_NAME.into(),
                    started,
                    finished: chrono::Utc::now(),
                    ok: false,
                    summary: message.into(),
                };
                if let Err(e) = store.record_cycle(&report) {
                    tracing::warn!(error = %e, "cannot record the interrupted backfill");
                }
            }
            eprintln!("netsuite-ion-sync: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
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

fn links(config: &Config, query: Option<&str>) -> ExitCode {
    let store = match Store::open(&config.store_path) {
        Ok(s) => s,
        Err(e @ StoreError::Locked { .. }) => {
            eprintln!(
                "netsuite-ion-sync: {e}; `links` reads the store itself, so run it while the \
                 service is stopped (`status` works while it runs)"
            );
            return ExitCode::from(EXIT_FAILURE);
        }
        Err(e) => return fail(&e),
    };
    match render_links(&store, query) {
        Ok((text, found)) => {
            print!("{text}");
            if found {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
        Err(e) => fail(&e),
    }
}

/// The text of `links`; `found` is false when a query matched nothing.
pub fn render_links(store: &Store, query: Option<&str>) -> Result<(String, bool), StoreError> {
    use std::fmt::Write;
    let mut s = String::new();
    let Some(q) = query else {
        let links = store.po_links()?;
        let _ = writeln!(s, "purchase orders ({}):", links.len());
        for l in &links {
            let _ = writeln!(
                s,
                "  {:<14} NetSuite {:<10} ↔ ION PO {:<10} {} lines",
                l.tran_id,
                l.ns_po_id,
                l.ion_po_id,
                l.line_map.len()
            );
        }
        let vendors = store.vendor_links()?;
        let _ = writeln!(s, "suppliers ({}):", vendors.len());
        for v in &vendors {
            let _ = writeln!(
                s,
                "  NetSuite vendor {:<10} ↔ ION supplier {:<10} {}",
                v.ns_vendor_id, v.ion_supplier_id, v.name
            );
        }
        return Ok((s, true));
    };
    let found = store.find_po_links(q)?;
    if found.is_empty() {
        let _ = writeln!(s, "nothing linked matches {q:?}");
        return Ok((s, false));
    }
    for l in &found {
        let _ = writeln!(
            s,
            "{}: NetSuite purchase order {} ↔ ION purchase order {}",
            l.tran_id, l.ns_po_id, l.ion_po_id
        );
        let _ = writeln!(s, "  last applied NetSuite version: {}", l.last_lastmod);
        let _ = writeln!(s, "  lines (ns_line_id ↔ ION line):");
        for (ns, ion) in &l.line_map {
            let _ = writeln!(s, "    {ns:<10} ↔ {ion}");
        }
        let receipts = store.receipt_links_of_po(l.ns_po_id)?;
        if !receipts.is_empty() {
            let _ = writeln!(s, "  item receipts:");
            for r in &receipts {
                let state = match &r.state {
                    store::ReceiptState::Intended => {
                        "intended, outcome not yet confirmed".to_string()
                    }
                    store::ReceiptState::Created { item_receipt_id } => {
                        format!("NetSuite itemReceipt {item_receipt_id}")
                    }
                };
                let _ = writeln!(
                    s,
                    "    ION receipt {} batch {} ({}): {state}",
                    r.key.ion_receipt_id, r.key.batch, r.external_id
                );
            }
        }
        if let Some(p) = store.problems_of(l.ns_po_id)? {
            let _ = writeln!(s, "  open problems:");
            for p in &p.problems {
                let _ = writeln!(
                    s,
                    "    {} [{}] {}: {}",
                    p.level().name().to_uppercase(),
                    p.kind,
                    p.subject,
                    p.message
                );
            }
        }
    }
    Ok((s, true))
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
    if let Some(b) = &r.backfill {
        let _ = writeln!(
            s,
            "backfill since {}: unfinished, reached {} / id {} (as of {}); run `backfill --since {}` \
             again to resume",
            b.since,
            b.reached.at,
            b.reached.id,
            b.updated.to_rfc3339(),
            b.since
        );
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
    let errors = r
        .problems
        .iter()
        .flat_map(|po| &po.problems)
        .filter(|p| p.level() == store::Level::Error)
        .count();
    let _ = writeln!(
        s,
        "open problems: {count} ({errors} errors, {} warnings; errors first)",
        count - errors
    );
    for po in &r.problems {
        let name = po
            .tran_id
            .clone()
            .unwrap_or_else(|| format!("NetSuite PO {}", po.ns_po_id));
        for p in &po.problems {
            let _ = writeln!(
                s,
                "  {:<7} {name} (id {}): [{}] {}: {} (since {}, {} attempts)",
                p.level().name().to_uppercase(),
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
