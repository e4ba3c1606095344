//! Both directions together: POs synced by the real PO engine, receipts mirrored by the
//! receipts engine on the same context. After an itemReceipt moves the NetSuite PO's status and
//! `lastmodifieddate`, the PO sync treats it as a normal update: no loop, no ION change.

use std::time::Duration;

use crate::support::sync::*;
use chrono::{DateTime, Utc};
use netsuite_ion_sync::sandbox::ion::Kind;
use netsuite_ion_sync::sync::ReceiptSync;
use serde_json::Value;

fn etags(s: &Sims, po: &Value) -> Vec<String> {
    let mut v = vec![po["_etag"].as_str().unwrap_or_default().to_string()];
    for l in s.ion_lines(po) {
        v.push(l["_etag"].as_str().unwrap_or_default().to_string());
    }
    v
}

#[tokio::test]
async fn item_receipts_move_the_netsuite_po_and_the_po_sync_changes_nothing_in_ion() {
    let s = Sims::default().await;
    s.ion.set_clock(t0());
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(&dir.path().join("state"), settings());
    let mut receipts = ReceiptSync::from_context(engine.context());
    receipts.tz = chrono_tz::America::Los_Angeles;
    let mut now: DateTime<Utc> = t0();
    let mut step = |by: u64| {
        s.ns.advance(Duration::from_secs(by));
        s.ion.advance_clock(Duration::from_secs(by));
        now += chrono::Duration::seconds(by as i64);
        now
    };

    let v = s.vendor("Acme Metals");
    let bolt = s.part("BOLT-10");
    let nut = s.part("NUT-3");
    let ns_po = s.po(v, "B", vec![line(bolt, 4.0), line(nut, 2.0)]);
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    let po = s.ion_po(ns_po);
    let ns_lines: Vec<i64> = s.ns.po_lines(ns_po).iter().map(|l| l.line_id).collect();
    let ion_line = |k: usize| {
        s.ion_line(&po, ns_lines[k]).unwrap()["id"]
            .as_i64()
            .unwrap()
    };

    // Partial receipt → Partially Received in NetSuite; ION stays ORDERED and untouched.
    let r1 = s.ion.receive(&[(ion_line(0), 4.0)]).unwrap();
    let t = step(61);
    let rs = receipts.receipts_cycle(t, false).await.unwrap();
    assert_eq!(rs.created.len(), 1, "{rs}");
    assert_eq!(s.ns.po_status(ns_po).as_deref(), Some("D"));
    step(60);
    let before = etags(&s, &s.ion_po(ns_po));
    let writes = ion_writes(&s);
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    assert_eq!(
        ion_writes(&s),
        writes,
        "no ION write for a receipt-driven NetSuite change"
    );
    assert_eq!(etags(&s, &s.ion_po(ns_po)), before);
    assert_eq!(s.ion_po(ns_po)["status"], "ORDERED");

    // The second receipt completes the PO → Pending Bill; ION (rolled up to RECEIVED) agrees.
    let r2 = s.ion.receive(&[(ion_line(1), 2.0)]).unwrap();
    let t = step(61);
    let rs = receipts.receipts_cycle(t, false).await.unwrap();
    assert_eq!(rs.created.len(), 1, "{rs}");
    assert_eq!(s.ns.po_status(ns_po).as_deref(), Some("F"), "Pending Bill");
    step(60);
    let before = etags(&s, &s.ion_po(ns_po));
    let writes = ion_writes(&s);
    for _ in 0..2 {
        let sum = cycle(&engine).await;
        assert_eq!(sum.failed, 0, "{sum}");
        step(60);
    }
    assert_eq!(ion_writes(&s), writes, "no loop, no spurious ION change");
    assert_eq!(etags(&s, &s.ion_po(ns_po)), before);
    assert_eq!(s.ion_po(ns_po)["status"], "RECEIVED");

    // And the receipts side stays quiet too.
    let t = step(61);
    let rs = receipts.receipts_cycle(t, false).await.unwrap();
    assert!(rs.created.is_empty() && rs.ok(), "{rs}");
    assert_eq!(s.ns.item_receipts().len(), 2);
    let _ = (r1, r2, Kind::Receipt);
}

#[tokio::test]
async fn receipt_problems_survive_the_po_sync_and_do_not_make_it_re_read_the_po() {
    let s = Sims::default().await;
    s.ion.set_clock(t0());
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(&dir.path().join("state"), settings());
    let mut receipts = ReceiptSync::from_context(engine.context());
    receipts.tz = chrono_tz::America::Los_Angeles;
    let store = engine.context().store.clone();

    let v = s.vendor("Acme Metals");
    let bolt = s.part("BOLT-10");
    let ns_po = s.po(v, "B", vec![line(bolt, 4.0), line(bolt, 3.0)]);
    cycle(&engine).await;
    let po = s.ion_po(ns_po);
    let l0 = s.ion_line(&po, s.ns.po_lines(ns_po)[0].line_id).unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = s.ion.receive(&[(l0, 2.0)]).unwrap();
    s.ion.advance_clock(Duration::from_secs(61));
    s.ns.advance(Duration::from_secs(61));
    let now = t0() + chrono::Duration::seconds(61);
    receipts.receipts_cycle(now, false).await.unwrap();
    s.ion.edit_receipt_item(r.item_ids[0], 1.0).unwrap();
    s.ion.advance_clock(Duration::from_secs(61));
    receipts
        .receipts_cycle(now + chrono::Duration::seconds(61), false)
        .await
        .unwrap();
    let kinds = |store: &netsuite_ion_sync::store::Store| -> Vec<String> {
        store
            .problems_of(ns_po)
            .unwrap()
            .map(|p| p.problems.into_iter().map(|p| p.kind.to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(kinds(&store), vec!["receipt_edited"]);

    // The PO changes in NetSuite (the receipt moved it): the PO sync records its own outcome
    // without dropping the receipt problem.
    s.ns.advance(Duration::from_secs(60));
    s.ns.set_po_field(ns_po, "memo", Some("edited")).unwrap();
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    assert_eq!(kinds(&store), vec!["receipt_edited"]);
    // An idle PO cycle does not re-read the PO because of a receipt problem.
    s.ns.advance(Duration::from_secs(60));
    let sum = cycle(&engine).await;
    assert_eq!(sum.applied, 0, "{sum}");
}
