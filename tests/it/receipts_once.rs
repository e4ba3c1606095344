//! `once` runs both directions: the real binary against both simulators.

use crate::support::sync::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_syncs_the_po_then_mirrors_a_settled_receipt() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let config = s.write_config(dir.path());
    let v = s.vendor("Acme Metals");
    let bolt = s.part("BOLT-10");
    let ns_po = s.po(v, "B", vec![line(bolt, 4.0), line(bolt, 3.0)]);
    let once = |dry: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"));
        c.arg("--config").arg(&config).arg("once");
        if dry {
            c.arg("--dry-run");
        }
        c.output().expect("binary runs")
    };
    let out = tokio::task::block_in_place(|| once(false));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let po = s.ion_po(ns_po);
    let line0 = s.ion_line(&po, s.ns.po_lines(ns_po)[0].line_id).unwrap();

    // Received ten minutes ago (ION's clock), so the 60 s settle delay has passed.
    s.ion
        .set_clock(chrono::Utc::now() - chrono::Duration::minutes(10));
    s.ion
        .receive(&[(line0["id"].as_i64().unwrap(), 4.0)])
        .unwrap();
    s.ion.use_real_clock();

    let out = tokio::task::block_in_place(|| once(true));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("would create item receipt ion-receipt-"),
        "{stdout}"
    );
    assert!(s.ns.item_receipts().is_empty(), "dry run sends nothing");

    let out = tokio::task::block_in_place(|| once(false));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipts = s.ns.item_receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].po_id, ns_po);
    assert_eq!(receipts[0].lines.len(), 1);
    let out = tokio::task::block_in_place(|| once(false));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.ns.item_receipts().len(), 1, "exactly once");
}
