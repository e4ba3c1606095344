//! `netsuite-ion-sync sandbox`: the whole system on this machine.
//!
//! Both simulators start on `127.0.0.1:0` with sample data, the daemon's real engines (the
//! NetSuite → ION PO cycle and the ION → NetSuite receipts cycle) run against them with a
//! [`Config`] built here (no config file, generated credentials, a temporary store), and a
//! scripted tour walks one purchase order through its life: create, approve, edit, receive,
//! fix a missing part, close, and a second PO deleted.
//!
//! Each step prints what was done in NetSuite or ION, which cycle ran, and what changed, **read
//! back from the simulators and the store**, never from the engine's own summary alone. Every
//! step then checks its expectation; [`run`] is true only when all of them held, so the tour
//! doubles as an end-to-end test (`tests/it/sandbox_tour.rs`).
//!
//! Time: both simulated clocks are frozen at start and moved explicitly ([`Tour::advance`]),
//! so the receipt settle delay passes without sleeping.
//!
//! The product's demo, not a simulator: it lives beside [`crate::sandbox`], which it drives.
//! It knows nothing of the command line: `cli` runs it and maps its outcome to an exit code,
//! and passes the text rendering of `status` it prints at the end ([`StatusText`]).
//! Files: `setup` (simulators, sample data, the daemon's configuration, `--keep`), `cycles`
//! (the daemon's two cycles as the poll loops run them), `readback` (what ION and the store
//! hold, printed), `script` (the steps).

mod cycles;
mod readback;
mod script;
mod setup;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::sandbox::{ion as ion_sim, netsuite as ns_sim};
use crate::store::StatusReport;
use crate::sync::Engine;
use crate::sync::receipts::ReceiptSync;

/// Options of the `sandbox` command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SandboxOptions {
    /// After the tour, leave both simulators running, print their URLs and a config file that
    /// points the daemon at them, and wait for Ctrl-C.
    #[arg(long)]
    pub keep: bool,
    /// Inject seeded transient faults (429, 500, connection resets before anything is applied,
    /// malformed JSON) into both simulators, to watch the daemon retry through them. The same
    /// seed replays the same faults.
    #[arg(long, value_name = "SEED")]
    pub faults: Option<u64>,
}

/// The item the tour's PO orders that has no ION part at first (the missing-part warning).
const MISSING_PART: &str = "SENSOR-X1";
/// The vendor the tour's PO is for; not in ION, so the daemon creates the supplier.
const NEW_VENDOR: &str = "Orbital Springs";
/// Settle delay of the receipts leg in the sandbox (the daemon's default).
const SETTLE: Duration = Duration::from_secs(60);

/// How the closing summary renders the store's status: the `status` command's text form,
/// passed in by the command line so that the tour does not depend on it.
pub type StatusText = fn(&StatusReport, &str, &Path) -> String;

/// Runs the tour: starts everything in a temporary folder, runs the script, prints the
/// summary and, with `--keep`, waits for Ctrl-C. True when every check held; `Err` when the
/// sandbox could not be set up or kept running.
pub async fn run(opts: SandboxOptions, status_text: StatusText) -> Result<bool> {
    init_logging();
    let dir = TempDir::new()?;
    let mut tour = Tour::start(&dir.0, opts.faults).await?;
    tour.script().await;
    let ok = tour.finish(status_text);
    if opts.keep {
        tour.keep(&dir.0).await?;
    }
    Ok(ok)
}

/// The daemon's logs go to stderr at `warn` unless `RUST_LOG` says otherwise, so the tour on
/// stdout stays readable and the warnings an admin would act on (missing parts) still show.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// A temporary folder for the store (and, with `--keep`, credentials), removed on drop.
/// Own code rather than `tempfile`, which is only a dev-dependency.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!(
            "netsuite-ion-sync-sandbox-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// NetSuite internal ids of the sample items and the tour's own records.
struct NsIds {
    items: BTreeMap<&'static str, i64>,
    sample_pos: Vec<i64>,
}

/// The running sandbox: both simulators, the daemon's engines, the clocks and the checks.
struct Tour {
    ns: ns_sim::SimHandle,
    ion: ion_sim::SimHandle,
    config: Config,
    /// `None` once `--keep` released the store (its process lock) for the user's own commands.
    engine: Option<Engine>,
    receipts: Option<ReceiptSync>,
    ids: NsIds,
    /// NetSuite id of the tour's vendor (created in step 1, reused in step 7).
    vendor: Option<i64>,
    /// The simulated "now" both simulators are frozen at.
    now: DateTime<Utc>,
    /// `--faults`: cycles are repeated until they come out clean.
    faults: bool,
    step: usize,
    checks: usize,
    failed: Vec<String>,
}

impl Tour {
    // ---- output and checks ----

    fn heading(&mut self, title: &str) {
        self.step += 1;
        out(format_args!("\n{}. {title}", self.step));
    }

    /// What a person (or the tour) did on one side.
    fn did(&self, side: &str, what: impl std::fmt::Display) {
        out(format_args!("   {side}: {what}"));
    }

    /// One expectation: printed either way, remembered when it fails.
    fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        let what = what.into();
        self.checks += 1;
        if ok {
            out(format_args!("   ✓ {what}"));
        } else {
            out(format_args!("   ✗ {what}"));
            self.failed.push(format!("step {}: {what}", self.step));
        }
        ok
    }

    /// Moves both simulated clocks forward.
    fn advance(&mut self, by: Duration) {
        self.ns.advance(by);
        self.ion.advance_clock(by);
        self.now += chrono::Duration::from_std(by).unwrap_or_default();
    }

    // ---- the end ----

    /// The closing summary; true when every check held.
    fn finish(&mut self, status_text: StatusText) -> bool {
        out(format_args!("\nSummary"));
        if let Some(engine) = &self.engine {
            let store = &engine.context().store;
            match store.status() {
                Ok(report) => {
                    for line in status_text(&report, "store", store.path()).lines() {
                        out(format_args!("   {line}"));
                    }
                }
                Err(e) => out(format_args!("   store status unavailable: {e}")),
            }
            if let Ok(links) = store.po_links() {
                out(format_args!("   purchase order links:"));
                for l in links {
                    out(format_args!(
                        "     {:<8} NetSuite {:<4} ↔ ION {:<5} {} lines",
                        l.tran_id,
                        l.ns_po_id,
                        l.ion_po_id,
                        l.line_map.len()
                    ));
                }
            }
        }
        let c = self.ns.counters();
        out(format_args!(
            "   requests: NetSuite {} (token {}, SuiteQL {}, record GET {}, transform {}); ION GraphQL {}",
            c.requests.values().sum::<u64>(),
            c.requests_to("token"),
            c.requests_to("suiteql"),
            c.requests_to("record.get"),
            c.requests_to("record.transform"),
            self.ion.graphql_requests()
        ));
        if self.failed.is_empty() {
            out(format_args!("\ntour: all {} checks held", self.checks));
            true
        } else {
            out(format_args!(
                "\ntour: {} of {} checks FAILED:",
                self.failed.len(),
                self.checks
            ));
            for f in &self.failed {
                out(format_args!("   ✗ {f}"));
            }
            false
        }
    }
}

/// One line of tour output on stdout, flushed at once so it interleaves sensibly with the
/// daemon's log lines on stderr. A closed stdout (`| head`) is not an error worth a panic.
fn out(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{args}");
    let _ = stdout.flush();
}
