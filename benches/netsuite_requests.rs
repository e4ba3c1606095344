//! Requests per 1,000 changed POs (10 lines each) for a full read, SuiteQL pages versus the
//! naive "list ids, then one GET per PO" pattern, against the simulator over loopback HTTP.
//!
//! Run: `cargo bench --bench netsuite_requests`. Prints a small table; the request counts are
//! deterministic, the timings are indicative (loopback, in-memory SQLite).

use std::time::{Duration, Instant};

use netsuite_ion_sync::netsuite::{Client, PoCursor};
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::harness::{self, KeySource};
use netsuite_ion_sync::sandbox::netsuite::{
    ItemSpec, LineSpec, PoSpec, SimConfig, SimHandle, VendorSpec,
};
use serde::Deserialize;

/// The daemon's own allocator (`src/main.rs`), so the bench measures what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POS: usize = 1000;
const LINES: usize = 10;

fn seed(sim: &SimHandle) {
    let vendors: Vec<i64> = (0..50)
        .map(|n| {
            sim.create_vendor(VendorSpec {
                entity_id: format!("V{n}"),
                company_name: Some(format!("Vendor {n}")),
            })
            .expect("vendor")
        })
        .collect();
    let items: Vec<i64> = (0..100)
        .map(|n| {
            sim.create_item(ItemSpec {
                item_id: format!("PART-{n}"),
                item_type: "InvtPart".into(),
                ..Default::default()
            })
            .expect("item")
        })
        .collect();
    for n in 0..POS {
        if n % 100 == 0 {
            sim.advance(Duration::from_secs(1));
        }
        sim.create_purchase_order(PoSpec {
            vendor: vendors[n % vendors.len()],
            lines: (0..LINES)
                .map(|k| LineSpec {
                    item: items[(n + k) % items.len()],
                    quantity: 5.0,
                    rate: 1.0,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .expect("po");
    }
}

fn total_requests(sim: &SimHandle) -> u64 {
    sim.counters().requests.values().sum()
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

async fn run() {
    for latency_ms in [0u64, 50] {
        run_with_latency(Duration::from_millis(latency_ms)).await;
    }
}

async fn run_with_latency(latency: Duration) {
    let (sim, credentials) = harness::start_netsuite(
        SimConfig {
            start_time: Some(chrono::Utc::now()),
            ..SimConfig::default()
        },
        KeySource::Generate,
    )
    .await
    .expect("simulator");
    seed(&sim);
    let client = Client::new(harness::netsuite_settings(
        &sim,
        &credentials,
        Backoff::default(),
    ))
    .expect("client");
    client.check_login().await.expect("login");
    // Server-side latency per request, standing in for NetSuite's round trip.
    sim.set_faults(netsuite_ion_sync::sandbox::faults::FaultConfig {
        latency,
        ..Default::default()
    });

    // SuiteQL: header pages, lines in batches, vendors and items in batches.
    sim.reset_counters();
    let started = Instant::now();
    let headers = client
        .po_headers_changed_since(&PoCursor::start(), &[], 1000)
        .await
        .expect("headers");
    let ids: Vec<i64> = headers.iter().map(|h| h.id).collect();
    let lines = client.po_lines(&ids, &[]).await.expect("lines");
    let mut vendor_ids: Vec<i64> = headers.iter().filter_map(|h| h.vendor_id).collect();
    vendor_ids.sort_unstable();
    vendor_ids.dedup();
    let mut item_ids: Vec<i64> = lines.iter().filter_map(|l| l.item_id).collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    let vendors = client.vendors(&vendor_ids).await.expect("vendors");
    let items = client.items(&item_ids, &[]).await.expect("items");
    let suiteql_time = started.elapsed();
    let suiteql_requests = total_requests(&sim);
    assert_eq!((headers.len(), lines.len()), (POS, POS * LINES));
    assert_eq!((vendors.len(), items.len()), (50, 100));

    // Naive: list the changed ids (SuiteQL, 1,000 a page), then one GET per PO.
    sim.reset_counters();
    let started = Instant::now();
    let page = client
        .suiteql_page::<IdRow>(
            "SELECT t.id AS id FROM transaction t WHERE t.type = 'PurchOrd' ORDER BY t.id",
            1000,
            0,
        )
        .await
        .expect("ids");
    let mut naive_lines = 0;
    for row in &page.items {
        let id: i64 = row.id.parse().expect("id");
        naive_lines += client
            .get_purchase_order(id)
            .await
            .expect("po")
            .lines()
            .len();
    }
    let naive_time = started.elapsed();
    let naive_requests = total_requests(&sim);
    assert_eq!(naive_lines, POS * LINES);

    println!(
        "\nfull read of {POS} changed POs x {LINES} lines (loopback simulator, {} ms added per \
         request, max_in_flight 2, naive GETs sequential)",
        latency.as_millis()
    );
    println!("{:<34} {:>10} {:>12}", "pattern", "requests", "wall time");
    println!(
        "{:<34} {:>10} {:>10.0}ms",
        "SuiteQL keyset + batched lines",
        suiteql_requests,
        suiteql_time.as_secs_f64() * 1000.0
    );
    println!(
        "{:<34} {:>10} {:>10.0}ms",
        "naive: id list + GET per PO",
        naive_requests,
        naive_time.as_secs_f64() * 1000.0
    );
    println!(
        "requests per 1,000 POs: {} vs {} ({:.0}x fewer)",
        suiteql_requests,
        naive_requests,
        naive_requests as f64 / suiteql_requests.max(1) as f64
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: both just run.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}
