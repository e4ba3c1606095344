//! Creating a PO with 20 lines through the client against the simulator on loopback: wall time,
//! and (printed once) the round trips it takes. Run: `cargo bench --bench ion_create_po`.

use criterion::{Criterion, criterion_group, criterion_main};
use netsuite_ion_sync::ion::{AttributeValue, NewLine, NewPurchaseOrder, PoStatus};
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::harness;
use netsuite_ion_sync::sandbox::ion::SimConfig;

/// The daemon's own allocator (`src/main.rs`), so the bench measures what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn new_po(n: usize, supplier: i64, part: i64, status: PoStatus) -> NewPurchaseOrder {
    NewPurchaseOrder {
        supplier_id: Some(supplier),
        status: Some(status),
        attributes: vec![
            AttributeValue::new("Netsuite PO Number", format!("PO{n}")),
            AttributeValue::new("Netsuite RecordID", n.to_string()),
        ],
        lines: (0..20)
            .map(|k| NewLine {
                part_id: Some(part),
                quantity: 1.0 + k as f64,
                cost: Some(3.0),
                attributes: vec![AttributeValue::new("ns_line_id", k as i64 + 1)],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn create_po_with_20_lines(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (sim, client, supplier, part) = rt.block_on(async {
        let sim = harness::start_ion(SimConfig::default(), true)
            .await
            .expect("simulator");
        let client =
            netsuite_ion_sync::ion::Client::new(harness::ion_settings(&sim, Backoff::fast()))
                .expect("client");
        client.me().await.expect("token");
        let supplier = sim.add_supplier("Bench Supplier");
        let part = sim.add_part("BENCH-1", "A");
        (sim, client, supplier, part)
    });
    for status in [PoStatus::Draft, PoStatus::Ordered] {
        sim.reset_counters();
        rt.block_on(client.create_purchase_order(&new_po(0, supplier, part, status)))
            .expect("create");
        eprintln!(
            "create PO with 20 lines ({status:?}): {} round trips {:?}",
            sim.graphql_requests(),
            sim.request_counts()
        );
    }
    let mut n = 1;
    c.bench_function("ion_create_po_20_lines_ordered", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(client.create_purchase_order(&new_po(n, supplier, part, PoStatus::Ordered)))
                .expect("create")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = create_po_with_20_lines
}
criterion_main!(benches);
