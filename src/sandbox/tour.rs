//! `netsuite-ion-sync sandbox` (SPEC §7): the whole system on this machine.
//!
//! Both simulators start on `127.0.0.1:0` with sample data, the daemon's real engines (the
//! NetSuite → ION PO cycle and the ION → NetSuite receipts cycle) run against them with a
//! [`Config`] built here (no config file, generated credentials, a temporary store), and a
//! scripted tour walks one purchase order through its life: create, approve, edit, receive,
//! fix a missing part, close, and a second PO deleted.
//!
//! Each step prints what was done in NetSuite or ION, which cycle ran, and what changed, **read
//! back from the simulators and the store**, never from the engine's own summary alone. Every
//! step then checks its expectation; the exit code is 0 only when all of them held, so the tour
//! doubles as an end-to-end test (`tests/sandbox_tour.rs`).
//!
//! Time: both simulated clocks are frozen at start and moved explicitly ([`Tour::advance`]),
//! so the receipt settle delay passes without sleeping.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::config::{
    Config, IonConfig, LogFormat, MappingConfig, NetSuiteConfig, RawMapping, ScheduleConfig,
    SecretRef,
};
use crate::sandbox::faults::FaultConfig;
use crate::sandbox::ion::{self as ion_sim, Kind};
use crate::sandbox::netsuite::{self as ns_sim, ItemSpec, LineSpec, NetSuiteSim, PoSpec};
use crate::sync::receipts::ReceiptSync;
use crate::sync::{Context, CycleOptions, Engine};

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

/// The `--faults` mix: transient failures a client must retry through, a few percent each.
/// Timeouts and resets after the request was applied are left out: they are safe too (see the
/// fault tests), but they resolve over later cycles, which a one-cycle-per-step tour cannot show.
fn fault_mix(seed: u64) -> FaultConfig {
    FaultConfig {
        seed,
        rate_429: 0.03,
        rate_500: 0.03,
        rate_reset_before_apply: 0.03,
        rate_malformed: 0.02,
        ..Default::default()
    }
}

/// The item the tour's PO orders that has no ION part at first (the missing-part warning).
const MISSING_PART: &str = "SENSOR-X1";
/// The vendor the tour's PO is for; not in ION, so the daemon creates the supplier.
const NEW_VENDOR: &str = "Orbital Springs";
/// Settle delay of the receipts leg in the sandbox (the SPEC default).
const SETTLE: Duration = Duration::from_secs(60);

/// Runs the sandbox on its own runtime; the binary's `main` calls this without loading any
/// configuration file.
pub fn run(opts: SandboxOptions) -> ExitCode {
    init_logging();
    crate::cli::block_on(async {
        match sandbox(opts).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(crate::cli::EXIT_FAILURE),
            Err(e) => {
                eprintln!("netsuite-ion-sync sandbox: {e:#}");
                ExitCode::from(crate::cli::EXIT_FAILURE)
            }
        }
    })
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

async fn sandbox(opts: SandboxOptions) -> Result<bool> {
    let dir = TempDir::new()?;
    let mut tour = Tour::start(&dir.0, opts.faults).await?;
    tour.script().await;
    let ok = tour.finish();
    if opts.keep {
        tour.keep(&dir.0).await?;
    }
    Ok(ok)
}

/// Builds the daemon's configuration against the two simulators: what an admin would write in
/// the TOML file, with the secrets held in memory instead of files.
fn sandbox_config(
    ns: &ns_sim::SimHandle,
    ion: &ion_sim::SimHandle,
    certificate_id: String,
    private_key: SecretString,
    store_path: PathBuf,
) -> Config {
    let m = RawMapping::default();
    Config {
        netsuite: NetSuiteConfig {
            account_id: ns.account_id().to_owned(),
            base_url: ns.base_url(),
            client_id: ns.client_id().to_owned(),
            certificate_id,
            private_key: SecretRef::Env("(generated by sandbox)", private_key),
            max_in_flight: 2,
            request_timeout: Duration::from_secs(20),
        },
        ion: IonConfig {
            api_url: ion.api_url(),
            token_url: ion.token_url(),
            client_id: ion.client_id().to_owned(),
            client_secret: SecretRef::Env(
                "(generated by sandbox)",
                SecretString::from(ion.client_secret().to_owned()),
            ),
            max_in_flight: 4,
            request_timeout: Duration::from_secs(20),
        },
        schedule: ScheduleConfig {
            netsuite_poll: Duration::from_secs(60),
            ion_receipts_poll: Duration::from_secs(60),
            full_reconcile: "0 30 2 * * *".into(),
            receipt_settle: SETTLE,
            overlap: Duration::from_secs(600),
        },
        mapping: MappingConfig {
            part_number_field: m.part_number_field,
            revision_field: None,
            supplier_name_field: m.supplier_name_field,
            non_receivable_item_types: m.non_receivable_item_types,
            purchase_order_attributes: m.purchase_order_attributes,
            purchase_order_line_attributes: m.purchase_order_line_attributes,
        },
        store_path,
        log_format: LogFormat::Human,
        origins: BTreeMap::new(),
    }
}

/// One ION purchase-order line as the ION simulator holds it.
#[derive(Debug, Clone)]
struct IonLine {
    id: i64,
    part_number: String,
    quantity: f64,
    received: f64,
    status: String,
    ns_line_id: Option<i64>,
    non_receivable: Option<bool>,
    etag: String,
}

/// One ION purchase order as the ION simulator holds it.
#[derive(Debug, Clone)]
struct IonPo {
    id: i64,
    status: String,
    supplier: String,
    tran_id: String,
    record_id: String,
    etag: String,
    lines: Vec<IonLine>,
}

impl IonPo {
    fn line(&self, part_number: &str) -> Option<&IonLine> {
        self.lines.iter().find(|l| l.part_number == part_number)
    }
    fn parts(&self) -> BTreeSet<String> {
        self.lines.iter().map(|l| l.part_number.clone()).collect()
    }
    /// Every etag of the PO and its lines: equal before and after means ION was not written.
    fn etags(&self) -> Vec<String> {
        std::iter::once(self.etag.clone())
            .chain(self.lines.iter().map(|l| l.etag.clone()))
            .collect()
    }
}

/// An attribute's value by key, from a simulator snapshot's `attributes` list.
fn attr<'a>(snapshot: &'a Value, key: &str) -> Option<&'a Value> {
    snapshot
        .get("attributes")?
        .as_array()?
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(key))
        .and_then(|a| a.get("value"))
}

/// A scalar as text (attribute values may be strings or numbers).
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `10` rather than `10.0`, `2.5` as is.
fn qty(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q}")
    }
}

/// NetSuite's purchase-order status letters (SPEC §3.1).
fn status_name(letter: &str) -> &'static str {
    match letter {
        "A" => "Pending Supervisor Approval",
        "B" => "Pending Receipt",
        "C" => "Rejected by Supervisor",
        "D" => "Partially Received",
        "E" => "Pending Billing/Partially Received",
        "F" => "Pending Bill",
        "G" => "Fully Billed",
        "H" => "Closed",
        _ => "unknown",
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
    /// Starts both simulators with sample data and builds the daemon against them.
    async fn start(dir: &Path, faults: Option<u64>) -> Result<Tour> {
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
        let ns = NetSuiteSim::start(ns_sim::SimConfig {
            start_time: Some(now),
            ..Default::default()
        })
        .await
        .context("starting the NetSuite simulator")?;
        let ion = ion_sim::IonSim::start(ion_sim::SimConfig {
            faults: faults.map(fault_mix).unwrap_or_default(),
            ..Default::default()
        })
        .await
        .context("starting the ION simulator")?;
        ion.set_clock(now);

        // NetSuite: the sample account, plus an item ION will not know at first.
        let sample = ns.load_sample_data().map_err(|e| anyhow!(e))?;
        let names = [
            "WIDGET-100",
            "BOLT-M6",
            "LENS-25MM",
            "BRACKET-7",
            "INSTALL-SVC",
        ];
        // `load_sample_data` creates these five items in this order (and says so); a change
        // there must show up here rather than as a tour that silently orders the wrong items.
        if sample.items.len() != names.len() {
            anyhow::bail!(
                "the NetSuite simulator's sample data has {} items, the tour expects {}",
                sample.items.len(),
                names.len()
            );
        }
        let mut items: BTreeMap<&'static str, i64> = names
            .iter()
            .copied()
            .zip(sample.items.iter().copied())
            .collect();
        let sensor = ns
            .create_item(ItemSpec {
                item_id: MISSING_PART.into(),
                item_type: "InvtPart".into(),
                display_name: Some("pressure sensor".into()),
                ..Default::default()
            })
            .map_err(|e| anyhow!(e))?;
        items.insert(MISSING_PART, sensor);
        let (certificate_id, private_key) = ns.generate_key_pair().map_err(|e| anyhow!(e))?;
        if let Some(seed) = faults {
            // A different stream for each simulator, from the one seed.
            ns.set_faults(fault_mix(seed.wrapping_add(1)));
        }

        // ION: the four attribute definitions `setup ion-attributes` creates, and a part for
        // every sample item (none for the sensor).
        ion.define_required_attributes();
        for name in names {
            ion.add_part(name, "A");
        }

        let mut config = sandbox_config(&ns, &ion, certificate_id, private_key, dir.join("state"));
        if faults.is_some() {
            // The PO retry backoff is counted in poll intervals: keep the retries quick.
            config.schedule.netsuite_poll = Duration::from_secs(1);
        }
        let ctx = Context::from_config(&config).context("building the daemon")?;
        // Built the way `once` and `run` build it: from the PO sync's context.
        let mut receipts = ReceiptSync::from_context(&ctx).with_schedule(&config.schedule);
        // The account's time zone (no config key yet): item receipts are dated in it.
        receipts.tz = ns_sim::SimConfig::default().time_zone;
        let engine = Engine::new(ctx);

        let tour = Tour {
            ns,
            ion,
            config,
            engine: Some(engine),
            receipts: Some(receipts),
            ids: NsIds {
                items,
                sample_pos: sample.pos,
            },
            vendor: None,
            faults: faults.is_some(),
            now,
            step: 0,
            checks: 0,
            failed: Vec::new(),
        };
        out(format_args!(
            "netsuite-ion-sync sandbox: NetSuite simulator at {}, ION simulator at {}",
            tour.ns.base_url(),
            tour.ion.api_url()
        ));
        out(format_args!(
            "  NetSuite: 3 vendors, 6 items ({} has no ION part yet), {} sample POs; \
             M2M key pair generated, certificate {}",
            MISSING_PART,
            tour.ids.sample_pos.len(),
            tour.config.netsuite.certificate_id
        ));
        out(format_args!(
            "  ION: parts {}; the four sync attribute definitions; no suppliers",
            names.join(", ")
        ));
        if let Some(seed) = faults {
            out(format_args!(
                "  faults: seed {seed}: 429s, 500s, resets and malformed JSON injected on both sides"
            ));
        }
        out(format_args!(
            "  store: {} (temporary, removed at exit); daemon logs on stderr at warn (RUST_LOG overrides)",
            tour.config.store_path.display()
        ));
        Ok(tour)
    }

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

    // ---- the daemon ----

    /// One NetSuite → ION PO cycle, as the daemon's poll loop runs it. With `--faults`, a PO
    /// whose apply hit an injected fault is parked as an open problem and retried by the next
    /// cycles (as the poll loop would, after its backoff), until one comes out clean.
    async fn po_cycle(&mut self) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let attempts = if self.faults { 10 } else { 1 };
        for attempt in 1..=attempts {
            match engine.po_cycle(CycleOptions::default()).await {
                Ok(sum) => {
                    out(format_args!("   daemon: NetSuite → ION cycle: {sum}"));
                    if sum.failed == 0 && sum.deferred == 0 {
                        self.check(true, "the PO cycle applied every PO it read");
                        return;
                    }
                }
                Err(e) => {
                    out(format_args!(
                        "   daemon: NetSuite → ION cycle FAILED: {e:#}"
                    ));
                }
            }
            if attempt < attempts {
                // The retry backoff is the poll interval (1 s with --faults) doubling per
                // failure; wait it out for real, the store's problem timestamps are wall time.
                let wait = Duration::from_secs(1 << (attempt - 1).min(3));
                out(format_args!(
                    "   (injected faults: the next cycle retries in {} s)",
                    wait.as_secs()
                ));
                tokio::time::sleep(wait).await;
            }
        }
        self.check(false, "the PO cycle applied every PO it read");
    }

    /// One ION → NetSuite receipts cycle at the simulated now.
    async fn receipts_cycle(&mut self) -> Option<crate::sync::receipts::ReceiptSummary> {
        let receipts = self.receipts.as_ref()?;
        match receipts.receipts_cycle(self.now, false).await {
            Ok(sum) => {
                out(format_args!(
                    "   daemon: ION → NetSuite receipts cycle: {sum}"
                ));
                Some(sum)
            }
            Err(e) => {
                out(format_args!(
                    "   daemon: ION → NetSuite receipts cycle FAILED: {e}"
                ));
                None
            }
        }
    }

    /// Receipts cycles until one creates an item receipt. Without faults that is the first;
    /// with `--faults` an unconfirmed or failed transform is looked up by its `externalId` on
    /// later cycles and re-sent only after the resend grace, which the simulated clock skips.
    async fn receipts_until_created(&mut self) {
        let attempts = if self.faults { 6 } else { 1 };
        for attempt in 1..=attempts {
            let sum = self.receipts_cycle().await;
            let done = sum
                .as_ref()
                .is_some_and(|s| !s.created.is_empty() || !s.recovered.is_empty());
            if done || attempt == attempts {
                return;
            }
            let grace = self
                .receipts
                .as_ref()
                .map_or(Duration::ZERO, |r| r.resend_grace)
                + Duration::from_secs(1);
            out(format_args!(
                "   (injected faults: {} s later the daemon looks the externalId up and retries)",
                grace.as_secs()
            ));
            self.advance(grace);
        }
    }

    // ---- reading back ----

    /// The ION PO carrying `Netsuite RecordID` = `ns_po`, found by scanning the simulator (the
    /// natural key), not through the link table.
    fn ion_po(&self, ns_po: i64) -> Option<IonPo> {
        let want = ns_po.to_string();
        let id = self.ion.ids(Kind::PurchaseOrder).into_iter().find(|id| {
            self.ion
                .snapshot(Kind::PurchaseOrder, *id)
                .is_some_and(|s| text(attr(&s, "Netsuite RecordID")) == want)
        })?;
        let s = self.ion.snapshot(Kind::PurchaseOrder, id)?;
        let supplier = s
            .get("supplierId")
            .and_then(Value::as_i64)
            .and_then(|sid| self.ion.snapshot(Kind::Supplier, sid))
            .map(|sup| text(sup.get("name")))
            .unwrap_or_else(|| "(none)".into());
        let lines = self
            .ion
            .line_ids(id)
            .into_iter()
            .filter_map(|lid| self.ion.snapshot(Kind::PurchaseOrderLine, lid))
            .map(|l| IonLine {
                id: l.get("id").and_then(Value::as_i64).unwrap_or_default(),
                part_number: l
                    .get("partId")
                    .and_then(Value::as_i64)
                    .and_then(|p| self.ion.snapshot(Kind::Part, p))
                    .map(|p| text(p.get("partNumber")))
                    .unwrap_or_else(|| "(no part)".into()),
                quantity: number(l.get("quantity")).unwrap_or_default(),
                received: number(l.get("receivedQuantity")).unwrap_or_default(),
                status: text(l.get("status")),
                ns_line_id: number(attr(&l, "ns_line_id")).map(|n| n as i64),
                non_receivable: attr(&l, "Non-receivable").and_then(Value::as_bool),
                etag: text(l.get("_etag")),
            })
            .collect();
        Some(IonPo {
            id,
            status: text(s.get("status")),
            supplier,
            tran_id: text(attr(&s, "Netsuite PO Number")),
            record_id: text(attr(&s, "Netsuite RecordID")),
            etag: text(s.get("_etag")),
            lines,
        })
    }

    /// Prints an ION PO and its lines.
    fn show_ion_po(&self, po: &IonPo) {
        out(format_args!(
            "   ION now: purchase order {} {} for supplier \"{}\"; Netsuite PO Number = {}, \
             Netsuite RecordID = {}",
            po.id, po.status, po.supplier, po.tran_id, po.record_id
        ));
        for l in &po.lines {
            out(format_args!(
                "      line {:<5} {:<12} qty {:>4}  received {:>4}  {:<9} ns_line_id {}  Non-receivable {}",
                l.id,
                l.part_number,
                qty(l.quantity),
                qty(l.received),
                l.status,
                l.ns_line_id
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                l.non_receivable
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
            ));
        }
    }

    /// The ION PO of `ns_po`, printed; a failed check when there is none.
    fn expect_ion_po(&mut self, ns_po: i64) -> Option<IonPo> {
        let po = self.ion_po(ns_po);
        match &po {
            Some(po) => self.show_ion_po(po),
            None => {
                self.check(
                    false,
                    format!("ION has a purchase order with Netsuite RecordID {ns_po}"),
                );
            }
        }
        po
    }

    /// Open problems of a PO, from the store, printed.
    fn show_problems(&self, ns_po: i64) -> Vec<crate::store::Problem> {
        let problems = self
            .engine
            .as_ref()
            .and_then(|e| e.context().store.problems_of(ns_po).ok().flatten())
            .map(|p| p.problems)
            .unwrap_or_default();
        if problems.is_empty() {
            out(format_args!("   store: no open problems on this PO"));
        }
        for p in &problems {
            out(format_args!(
                "   store: open problem [{}] {}",
                p.kind, p.message
            ));
        }
        problems
    }

    fn ns_line_of(&self, ns_po: i64, index: usize) -> Option<i64> {
        self.ns.po_lines(ns_po).get(index).map(|l| l.line_id)
    }

    fn item(&self, name: &str) -> i64 {
        self.ids.items.get(name).copied().unwrap_or_default()
    }

    fn line_spec(&self, item: &str, quantity: f64, rate: f64) -> LineSpec {
        LineSpec {
            item: self.item(item),
            quantity,
            rate,
            ..Default::default()
        }
    }

    // ---- the script ----

    async fn script(&mut self) {
        self.step0_import().await;
        let Some(po) = self.step1_create().await else {
            out(format_args!(
                "\nPO2001 did not reach ION; the rest of the tour depends on it and is skipped"
            ));
            return;
        };
        self.step2_approve(po).await;
        self.step3_edit(po).await;
        self.step4_receive(po).await;
        self.step5_part(po).await;
        self.step6_close(po).await;
        self.step7_delete().await;
    }

    async fn step0_import(&mut self) {
        self.step = 0;
        out(format_args!(
            "\n0. First cycle: the sample account's existing purchase orders are imported"
        ));
        self.po_cycle().await;
        let linked: Vec<i64> = self
            .ids
            .sample_pos
            .clone()
            .into_iter()
            .filter(|p| self.ion_po(*p).is_some())
            .collect();
        let suppliers: Vec<String> = self.ion.suppliers().into_iter().map(|(_, n)| n).collect();
        out(format_args!(
            "   ION now: {} purchase orders; suppliers created: {}",
            self.ion.ids(Kind::PurchaseOrder).len(),
            suppliers.join(", ")
        ));
        let n = self.ids.sample_pos.len();
        self.check(
            linked.len() == n,
            format!("all {n} sample POs are in ION ({} found)", linked.len()),
        );
        self.check(
            suppliers.len() == 3,
            "one ION supplier per sample vendor (3)",
        );
    }

    async fn step1_create(&mut self) -> Option<i64> {
        self.heading("Create a purchase order in NetSuite (Pending Supervisor Approval)");
        self.advance(Duration::from_secs(60));
        let vendor = match self.ns.create_vendor(ns_sim::VendorSpec {
            entity_id: "V400".into(),
            company_name: Some(NEW_VENDOR.into()),
        }) {
            Ok(v) => v,
            Err(e) => {
                self.check(false, format!("NetSuite vendor created: {e}"));
                return None;
            }
        };
        self.vendor = Some(vendor);
        let spec = PoSpec {
            tran_id: Some("PO2001".into()),
            vendor,
            status: Some("A".into()),
            memo: Some("sandbox tour".into()),
            lines: vec![
                self.line_spec("WIDGET-100", 10.0, 4.5),
                self.line_spec("BOLT-M6", 200.0, 0.12),
                self.line_spec(MISSING_PART, 5.0, 38.0),
                self.line_spec("INSTALL-SVC", 1.0, 250.0),
            ],
            ..Default::default()
        };
        let po = match self.ns.create_purchase_order(spec) {
            Ok(po) => po,
            Err(e) => {
                self.check(false, format!("NetSuite PO created: {e}"));
                return None;
            }
        };
        self.did(
            "NetSuite",
            format!(
                "PO2001 (internal id {po}) for new vendor \"{NEW_VENDOR}\", status A: \
                 WIDGET-100 ×10, BOLT-M6 ×200, {MISSING_PART} ×5 (no ION part), \
                 INSTALL-SVC ×1 (a service)"
            ),
        );
        self.po_cycle().await;
        let ion_po = self.expect_ion_po(po)?;
        let problems = self.show_problems(po);
        let ns_lines: Vec<i64> = self.ns.po_lines(po).iter().map(|l| l.line_id).collect();
        self.check(ion_po.status == "DRAFT", "ION PO is DRAFT");
        let want: BTreeSet<String> = ["WIDGET-100", "BOLT-M6", "INSTALL-SVC"]
            .map(String::from)
            .into();
        self.check(
            ion_po.lines.len() == 3 && ion_po.parts() == want,
            format!(
                "ION PO has 3 lines (WIDGET-100, BOLT-M6, INSTALL-SVC), {MISSING_PART} left out"
            ),
        );
        self.check(
            ion_po.tran_id == "PO2001" && ion_po.record_id == po.to_string(),
            "PO attributes Netsuite PO Number and Netsuite RecordID are set",
        );
        self.check(
            ion_po
                .lines
                .iter()
                .all(|l| l.ns_line_id.is_some_and(|n| ns_lines.contains(&n))),
            "every ION line carries its NetSuite line id (ns_line_id)",
        );
        self.check(
            ion_po.line("INSTALL-SVC").and_then(|l| l.non_receivable) == Some(true)
                && ion_po.line("WIDGET-100").and_then(|l| l.non_receivable) == Some(false),
            "the service line is Non-receivable, the part lines are not",
        );
        let created = self
            .ion
            .suppliers()
            .iter()
            .filter(|(_, n)| n == NEW_VENDOR)
            .count();
        self.check(
            ion_po.supplier == NEW_VENDOR && created == 1,
            format!("supplier \"{NEW_VENDOR}\" was created in ION, once"),
        );
        self.check(
            problems
                .iter()
                .any(|p| p.kind == "missing_part" && p.message.contains(MISSING_PART)),
            format!("the missing part {MISSING_PART} is an open problem (and a warning on stderr)"),
        );
        Some(po)
    }

    async fn step2_approve(&mut self, po: i64) {
        self.heading("Approve it in NetSuite");
        self.advance(Duration::from_secs(60));
        if let Err(e) = self.ns.set_po_field(po, "status", Some("B")) {
            self.check(false, format!("NetSuite status set: {e}"));
            return;
        }
        self.did("NetSuite", "PO2001 status A → B (Pending Receipt)");
        self.po_cycle().await;
        let Some(ion_po) = self.expect_ion_po(po) else {
            return;
        };
        self.check(ion_po.status == "ORDERED", "ION PO is ORDERED");
        self.check(
            ion_po.lines.iter().all(|l| l.status == "ORDERED"),
            "its lines are ORDERED",
        );
    }

    async fn step3_edit(&mut self, po: i64) {
        self.heading("Edit a line and add one in NetSuite");
        self.advance(Duration::from_secs(60));
        let before = self.ion_po(po);
        let Some(bolt_line) = self.ns_line_of(po, 1) else {
            self.check(false, "NetSuite PO2001 has a second line");
            return;
        };
        if let Err(e) = self
            .ns
            .set_line_field(po, bolt_line, "quantity", json!(250))
        {
            self.check(false, format!("NetSuite line edited: {e}"));
            return;
        }
        let lens = self.line_spec("LENS-25MM", 2.0, 89.0);
        if let Err(e) = self.ns.add_line(po, lens) {
            self.check(false, format!("NetSuite line added: {e}"));
            return;
        }
        self.did(
            "NetSuite",
            "PO2001 BOLT-M6 quantity 200 → 250; line added: LENS-25MM ×2",
        );
        self.po_cycle().await;
        let Some(ion_po) = self.expect_ion_po(po) else {
            return;
        };
        self.check(
            ion_po.line("BOLT-M6").map(|l| l.quantity) == Some(250.0),
            "ION BOLT-M6 line quantity is 250",
        );
        self.check(
            ion_po.line("LENS-25MM").map(|l| l.quantity) == Some(2.0) && ion_po.lines.len() == 4,
            "ION has the new LENS-25MM line (4 lines)",
        );
        let kept = before.is_some_and(|b| {
            b.lines
                .iter()
                .all(|old| ion_po.lines.iter().any(|l| l.id == old.id))
        });
        self.check(
            kept && ion_po.status == "ORDERED",
            "lines were updated in place and the PO is back to ORDERED (draft round trip)",
        );
    }

    async fn step4_receive(&mut self, po: i64) {
        self.heading("Receive 2 of the lines in ION");
        self.advance(Duration::from_secs(60));
        let Some(ion_po) = self.ion_po(po) else {
            self.check(false, "ION PO exists");
            return;
        };
        let (Some(widget), Some(bolt)) = (ion_po.line("WIDGET-100"), ion_po.line("BOLT-M6")) else {
            self.check(false, "ION PO has WIDGET-100 and BOLT-M6 lines");
            return;
        };
        let (widget, bolt) = (widget.clone(), bolt.clone());
        match self.ion.receive(&[(widget.id, 10.0), (bolt.id, 100.0)]) {
            Ok(r) => self.did(
                "ION",
                format!(
                    "receipt {} saved: WIDGET-100 ×10 (all), BOLT-M6 ×100 (of 250)",
                    r.receipt_id
                ),
            ),
            Err(e) => {
                self.check(false, format!("received in ION: {e}"));
                return;
            }
        }
        let receipts_of = |tour: &Tour| -> Vec<ns_sim::ItemReceiptInfo> {
            tour.ns
                .item_receipts()
                .into_iter()
                .filter(|r| r.po_id == po)
                .collect()
        };

        self.advance(Duration::from_secs(20));
        out(format_args!(
            "   20 s later (the receipt may still be being filled in):"
        ));
        let early = self.receipts_cycle().await;
        if early.is_none() && self.receipts.is_none() {
            out(format_args!(
                "   receiving (ION → NetSuite) is not available in this build; steps skipped"
            ));
            return;
        }
        let mirrored = receipts_of(self).len();
        self.check(
            mirrored == 0,
            format!(
                "nothing mirrored inside the {} s settle delay",
                SETTLE.as_secs()
            ),
        );

        self.advance(SETTLE);
        out(format_args!(
            "   the settle delay has passed ({} s more):",
            SETTLE.as_secs()
        ));
        self.receipts_until_created().await;
        let found = receipts_of(self);
        for r in &found {
            let lines: Vec<String> = r
                .lines
                .iter()
                .map(|(l, q)| format!("line {l} ×{}", qty(*q)))
                .collect();
            out(format_args!(
                "   NetSuite now: itemReceipt {} externalId {}: {}",
                r.id,
                r.external_id.as_deref().unwrap_or("-"),
                lines.join(", ")
            ));
        }
        let status = self.ns.po_status(po).unwrap_or_default();
        out(format_args!(
            "   NetSuite now: PO2001 status {status} ({})",
            status_name(&status)
        ));
        let mut got: Vec<(i64, f64)> = found.first().map(|r| r.lines.clone()).unwrap_or_default();
        got.sort_by_key(|(l, _)| *l);
        let mut want = vec![
            (widget.ns_line_id.unwrap_or_default(), 10.0),
            (bolt.ns_line_id.unwrap_or_default(), 100.0),
        ];
        want.sort_by_key(|(l, _)| *l);
        self.check(
            found.len() == 1 && got == want,
            "one NetSuite itemReceipt with exactly the two received lines and quantities",
        );
        self.check(
            found
                .first()
                .and_then(|r| r.external_id.as_deref())
                .is_some_and(|x| x.starts_with("ion-receipt-")),
            "its externalId names the ION receipt",
        );
        self.check(
            matches!(status.as_str(), "D" | "E"),
            "NetSuite PO is Partially Received",
        );

        out(format_args!(
            "   the next PO cycle sees PO2001 changed in NetSuite (status, received quantities):"
        ));
        let before = self.ion_po(po).map(|p| p.etags());
        self.advance(Duration::from_secs(60));
        self.po_cycle().await;
        let after = self.ion_po(po);
        if let Some(p) = &after {
            self.show_ion_po(p);
        }
        self.check(
            before.is_some() && before == after.as_ref().map(IonPo::etags),
            "no spurious ION change: the PO and its lines keep their etags",
        );
    }

    async fn step5_part(&mut self, po: i64) {
        self.heading(&format!("Create the missing part {MISSING_PART} in ION"));
        self.advance(Duration::from_secs(60));
        let part = self.ion.add_part(MISSING_PART, "A");
        self.did(
            "ION",
            format!("part {MISSING_PART} rev A created (id {part})"),
        );
        self.po_cycle().await;
        let Some(ion_po) = self.expect_ion_po(po) else {
            return;
        };
        let problems = self.show_problems(po);
        self.check(
            ion_po.line(MISSING_PART).map(|l| l.quantity) == Some(5.0) && ion_po.lines.len() == 5,
            format!("the {MISSING_PART} line is in ION now (5 lines)"),
        );
        self.check(
            !problems.iter().any(|p| p.kind == "missing_part"),
            "the missing-part problem is resolved",
        );
        self.check(ion_po.status == "ORDERED", "ION PO is ORDERED again");
    }

    async fn step6_close(&mut self, po: i64) {
        self.heading("Close the PO in NetSuite");
        self.advance(Duration::from_secs(60));
        let before = self.ion_po(po);
        if let Err(e) = self.ns.close_purchase_order(po) {
            self.check(false, format!("NetSuite PO closed: {e}"));
            return;
        }
        let status = self.ns.po_status(po).unwrap_or_default();
        self.did(
            "NetSuite",
            format!("PO2001 closed: status {status} ({})", status_name(&status)),
        );
        self.po_cycle().await;
        let Some(ion_po) = self.expect_ion_po(po) else {
            return;
        };
        self.check(
            ion_po
                .lines
                .iter()
                .filter(|l| l.received == 0.0)
                .all(|l| l.status == "CANCELED"),
            "every unreceived ION line is CANCELED",
        );
        let kept = before.is_some_and(|b| {
            b.lines.iter().all(|old| {
                ion_po
                    .lines
                    .iter()
                    .any(|l| l.id == old.id && l.received == old.received)
            })
        }) && ion_po.line("WIDGET-100").map(|l| l.received) == Some(10.0)
            && ion_po.line("BOLT-M6").map(|l| l.received) == Some(100.0);
        self.check(
            kept,
            "received lines keep what was received (WIDGET-100 10, BOLT-M6 100): nothing is undone",
        );
        out(format_args!(
            "   (ION reports every line of a CANCELED purchase order as CANCELED; the received \
             quantities and inventory stay)"
        ));
    }

    async fn step7_delete(&mut self) {
        self.heading("A second PO is deleted in NetSuite");
        self.advance(Duration::from_secs(60));
        let Some(vendor) = self.vendor else { return };
        let spec = PoSpec {
            tran_id: Some("PO2002".into()),
            vendor,
            status: Some("B".into()),
            memo: Some("ordered by mistake".into()),
            lines: vec![self.line_spec("BOLT-M6", 50.0, 0.12)],
            ..Default::default()
        };
        let po = match self.ns.create_purchase_order(spec) {
            Ok(po) => po,
            Err(e) => {
                self.check(false, format!("NetSuite PO created: {e}"));
                return;
            }
        };
        self.did(
            "NetSuite",
            format!("PO2002 (internal id {po}) for \"{NEW_VENDOR}\" created, Pending Receipt: BOLT-M6 ×50"),
        );
        self.po_cycle().await;
        let Some(ion_po) = self.expect_ion_po(po) else {
            return;
        };
        self.check(ion_po.status == "ORDERED", "ION has PO2002, ORDERED");

        self.advance(Duration::from_secs(60));
        if let Err(e) = self.ns.delete_purchase_order(po) {
            self.check(false, format!("NetSuite PO deleted: {e}"));
            return;
        }
        self.did("NetSuite", "PO2002 deleted");
        self.po_cycle().await;
        let gone = self.ion.snapshot(Kind::PurchaseOrder, ion_po.id).is_none();
        out(format_args!(
            "   ION now: purchase order {} {}",
            ion_po.id,
            if gone {
                "no longer exists"
            } else {
                "still exists"
            }
        ));
        self.check(gone, "the ION PO is deleted");
        let linked = self
            .engine
            .as_ref()
            .and_then(|e| e.context().store.po_link(po).ok().flatten())
            .is_some();
        self.check(!linked, "the store no longer links PO2002");
    }

    // ---- the end ----

    /// The closing summary; true when every check held.
    fn finish(&mut self) -> bool {
        out(format_args!("\nSummary"));
        if let Some(engine) = &self.engine {
            let store = &engine.context().store;
            match store.status() {
                Ok(report) => {
                    for line in crate::cli::render_status(&report, "store", store.path()).lines() {
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

    /// `--keep`: releases the store, writes a config file for the user's own commands, prints
    /// where everything is, and waits for Ctrl-C.
    async fn keep(&mut self, dir: &Path) -> Result<()> {
        self.engine = None;
        self.receipts = None;
        let key = dir.join("auth-key.pem");
        let secret = dir.join("ion-client-secret");
        let pem = match self
            .config
            .netsuite
            .private_key
            .load("netsuite.private_key")
        {
            Ok(k) => k,
            Err(e) => return Err(anyhow!("{e}")),
        };
        write_private(&key, secrecy::ExposeSecret::expose_secret(&pem))?;
        write_private(&secret, self.ion.client_secret())?;
        let c = &self.config;
        let toml = format!(
            "# netsuite-ion-sync pointed at the sandbox simulators (valid while `sandbox --keep` runs)\n\
             [netsuite]\naccount_id = \"{}\"\nbase_url = \"{}\"\nclient_id = \"{}\"\n\
             certificate_id = \"{}\"\nprivate_key_file = \"{}\"\n\n\
             [ion]\napi_url = \"{}\"\ntoken_url = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_file = \"{}\"\n\n[store]\npath = \"{}\"\n",
            c.netsuite.account_id,
            c.netsuite.base_url.as_str().trim_end_matches('/'),
            c.netsuite.client_id,
            c.netsuite.certificate_id,
            key.display(),
            c.ion.api_url.as_str().trim_end_matches('/'),
            c.ion.token_url,
            c.ion.client_id,
            secret.display(),
            c.store_path.display(),
        );
        let config_path = dir.join("config.toml");
        std::fs::write(&config_path, toml)
            .with_context(|| format!("writing {}", config_path.display()))?;
        out(format_args!(
            "\nSimulators kept running (Ctrl-C to stop; everything under {} is removed then):",
            dir.display()
        ));
        out(format_args!("   NetSuite: {}", self.ns.base_url()));
        out(format_args!("   ION:      {}graphql", self.ion.api_url()));
        out(format_args!("   config:   {}", config_path.display()));
        out(format_args!(
            "   try:      netsuite-ion-sync --config {} status",
            config_path.display()
        ));
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        Ok(())
    }
}

/// Writes a credential readable by this user only.
fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// One line of tour output on stdout, flushed at once so it interleaves sensibly with the
/// daemon's log lines on stderr. A closed stdout (`| head`) is not an error worth a panic.
fn out(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{args}");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_found_by_key_and_read_as_text_or_number() {
        let snapshot = json!({"attributes": [
            {"key": "Netsuite RecordID", "value": "1006"},
            {"key": "ns_line_id", "value": 3},
            {"key": "Non-receivable", "value": true},
        ]});
        assert_eq!(text(attr(&snapshot, "Netsuite RecordID")), "1006");
        assert_eq!(number(attr(&snapshot, "ns_line_id")), Some(3.0));
        assert_eq!(number(attr(&snapshot, "Netsuite RecordID")), Some(1006.0));
        assert_eq!(attr(&snapshot, "Non-receivable"), Some(&json!(true)));
        assert_eq!(attr(&snapshot, "missing"), None);
        assert_eq!(text(None), "");
    }

    #[test]
    fn quantities_print_without_a_needless_fraction() {
        assert_eq!(qty(10.0), "10");
        assert_eq!(qty(2.5), "2.5");
    }
}
