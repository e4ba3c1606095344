//! Syncs 2,000 NetSuite POs × 10 lines from scratch into an empty ION, against both simulators
//! with 20 ms latency per request and NetSuite's account concurrency limit of 5. Prints wall
//! time, requests per PO to each side, and the pipelining ratio: wall time ÷ the bound the run's
//! own requests allow (per side: requests ÷ that side's in-flight cap × latency; the larger).
//! Targets (issue #5): ≤ 0.02 NetSuite and ≤ 2.5 ION requests per PO, ratio ≤ 1.5.
//!
//! Latency is the simulators' answer time (`sandbox::faults::RoundTrip`): a request is answered
//! no sooner than 20 ms after it arrived, the simulator's handling included, as the bound
//! assumes. Everything runs on this machine's cores: the daemon, and both simulators on a
//! runtime of their own.
//!
//! Run: `cargo bench --bench sync_po` (env `SYNC_BENCH_POS` changes the PO count).

use std::sync::Arc;
use std::time::{Duration, Instant};

use netsuite_ion_sync::plan::model::MappingConfig;
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::faults::FaultConfig;
use netsuite_ion_sync::sandbox::harness::{self, Harness, KeySource};
use netsuite_ion_sync::sandbox::ion::{Kind, SimConfig as IonConfig};
use netsuite_ion_sync::sandbox::netsuite::{
    ItemSpec, LineSpec, PoSpec, SimConfig as NsConfig, VendorSpec,
};
use netsuite_ion_sync::store::Store;
use netsuite_ion_sync::sync::{CycleOptions, Engine, SyncSettings};

/// The daemon's own allocator (`src/main.rs`), so the bench measures what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LATENCY: Duration = Duration::from_millis(20);
const NS_CAP: usize = 5;
const ION_CAP: usize = 16;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let pos: usize = std::env::var("SYNC_BENCH_POS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20 } else { 2000 });
    // `RUST_LOG=info` shows the sync's own log (timestamps per page and group) for diagnosis.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The simulators stand for remote services, which are other processes: they get their own
    // runtime (threads), so they share the cores with the daemon but not its task queues.
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("simulators' runtime");
    let sims = sim_rt.block_on(start_simulators());
    rt.block_on(run(pos, &sims));
}

/// Both simulators with the latency, NetSuite's concurrency limit, and the tests' fixture key.
async fn start_simulators() -> Harness {
    let faults = FaultConfig {
        latency: LATENCY,
        ..Default::default()
    };
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/netsuite");
    Harness::start(harness::Options {
        netsuite: NsConfig {
            concurrency_limit: 5,
            faults: faults.clone(),
            ..Default::default()
        },
        ion: IonConfig {
            faults,
            ..Default::default()
        },
        key: KeySource::from_files(
            &fixtures.join("auth-cert.pem"),
            &fixtures.join("auth-key.pem"),
        )
        .expect("fixture key pair"),
        ..Default::default()
    })
    .await
    .expect("simulators")
}

async fn run(pos: usize, sims: &Harness) {
    let (ns, ion_sim) = (&sims.ns, &sims.ion);

    // NetSuite: 50 vendors, 300 items; ION: the matching parts, no suppliers yet.
    let vendors: Vec<i64> = (0..50)
        .map(|k| {
            ns.create_vendor(VendorSpec {
                entity_id: format!("V{k}"),
                company_name: Some(format!("Vendor {k}")),
            })
            .expect("vendor")
        })
        .collect();
    let items: Vec<i64> = (0..300)
        .map(|k| {
            ion_sim.add_part(&format!("PART-{k}"), "A");
            ns.create_item(ItemSpec {
                item_id: format!("PART-{k}"),
                item_type: "InvtPart".into(),
                ..Default::default()
            })
            .expect("item")
        })
        .collect();
    for k in 0..pos {
        ns.create_purchase_order(PoSpec {
            vendor: vendors[k % vendors.len()],
            memo: Some(format!("bench PO {k}")),
            lines: (0..10)
                .map(|j| LineSpec {
                    item: items[(k * 7 + j) % items.len()],
                    quantity: (1 + j) as f64,
                    rate: 1.5,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .expect("PO");
    }

    let mut nss = sims.netsuite_settings(Backoff::fast());
    nss.max_in_flight = NS_CAP;
    let mut is = sims.ion_settings(Backoff::fast());
    is.max_in_flight = ION_CAP;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = SyncSettings::new(MappingConfig::default());
    settings.apply_concurrency = std::env::var("SYNC_BENCH_APPLY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ION_CAP * 2);
    let engine = Engine::new(
        sims.context(
            nss,
            is,
            Arc::new(Store::open(dir.path()).expect("store")),
            settings,
        )
        .expect("context"),
    );
    // Tokens are fetched before timing (they are not per-PO work).
    engine
        .context()
        .netsuite
        .check_login()
        .await
        .expect("NetSuite login");
    engine.context().ion.me().await.expect("ION login");
    ns.reset_counters();
    ion_sim.reset_counters();

    let perf = PerfControl::from_env();
    perf.send("enable");
    let cpu_before = process_cpu();
    let started = Instant::now();
    let sum = engine
        .po_cycle(CycleOptions::default())
        .await
        .expect("cycle");
    let wall = started.elapsed();
    perf.send("disable");
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    assert_eq!(sum.failed, 0, "{sum}");
    assert_eq!(
        ion_sim.ids(Kind::PurchaseOrder).len(),
        pos,
        "every PO created"
    );

    let c = ns.counters();
    let ns_requests: u64 = c
        .requests
        .iter()
        .filter(|(k, _)| **k != "token")
        .map(|(_, v)| v)
        .sum();
    let ion_requests = ion_sim.graphql_requests();
    let ns_bound = ns_requests as f64 / NS_CAP as f64 * LATENCY.as_secs_f64();
    let ion_bound = ion_requests as f64 / ION_CAP as f64 * LATENCY.as_secs_f64();
    let bound = ns_bound.max(ion_bound);
    println!(
        "sync_po: {pos} POs x 10 lines from scratch, latency {LATENCY:?}, NetSuite cap {NS_CAP} (limit 5), ION cap {ION_CAP}"
    );
    println!("  {sum}");
    println!("  wall time            {:.2} s", wall.as_secs_f64());
    println!(
        "  NetSuite requests    {ns_requests} = {:.4} per PO (target <= 0.02); 429s {}",
        ns_requests as f64 / pos as f64,
        c.concurrency_rejections
    );
    println!(
        "  ION requests         {ion_requests} = {:.3} per PO (target <= 2.5); max in flight {}",
        ion_requests as f64 / pos as f64,
        ion_sim.max_in_flight()
    );
    println!("  ION by operation     {:?}", ion_sim.request_counts());
    println!(
        "  ION simulator busy   {:.2} s (executing under its state lock: the server's serialised share)",
        ion_sim.busy().as_secs_f64()
    );
    if let Some(cpu) = cpu {
        println!(
            "  CPU during the run   {cpu:.2} s on {} cores (daemon and both simulators share them)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    println!(
        "  bound                {bound:.2} s (NetSuite {ns_bound:.2} s, ION {ion_bound:.2} s)"
    );
    println!(
        "  pipelining ratio     {:.2} (target <= 1.5)",
        wall.as_secs_f64() / bound
    );
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`), if readable.
fn process_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// `SYNC_BENCH_PERF_CTL=<fifo>`: tells `perf record -D -1 --control fifo:<fifo>` to sample the
/// timed cycle only, not the set-up (`perf` reads `enable` / `disable` from that fifo).
struct PerfControl(Option<std::fs::File>);

impl PerfControl {
    fn from_env() -> PerfControl {
        PerfControl(
            std::env::var_os("SYNC_BENCH_PERF_CTL")
                .and_then(|p| std::fs::OpenOptions::new().write(true).open(p).ok()),
        )
    }

    fn send(&self, command: &str) {
        use std::io::Write as _;
        if let Some(mut f) = self.0.as_ref() {
            let _ = writeln!(f, "{command}");
        }
    }
}
