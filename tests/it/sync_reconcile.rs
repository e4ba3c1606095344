//! The full reconciliation (SPEC §4, `Engine::reconcile_all`, nightly in the daemon): what the
//! cursor cannot see — manual edits in ION, NetSuite changes that did not bump
//! `lastmodifieddate` — is corrected, and POs that are in step cost no ION write.

use std::time::Duration;

use crate::support::sync::*;
use netsuite_ion_sync::ion::{IonPurchaseOrder, LineChanges, LineEdits, PurchaseOrderChanges};
use serde_json::json;

async fn reconcile(
    engine: &netsuite_ion_sync::sync::Engine,
) -> netsuite_ion_sync::sync::CycleSummary {
    engine.reconcile_all(false).await.expect("reconcile runs")
}

/// Someone edits an ION PO's description by hand (through the real client); returns the PO as
/// ION answered, for further edits.
async fn edit_description_in_ion(s: &Sims, ion_id: i64, text: &str) -> IonPurchaseOrder {
    let client = s.ion_client();
    let mut po = client
        .purchase_order(ion_id)
        .await
        .unwrap()
        .expect("ION PO");
    client
        .update_purchase_order(
            &mut po,
            &PurchaseOrderChanges {
                description: Some(text.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    po
}

#[tokio::test]
async fn a_manual_ion_edit_is_kept_by_the_cycle_and_restored_by_the_full_reconciliation() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let po = s.po(v, "B", vec![line(p, 4.0), line(p, 6.0)]);
    cycle(&engine).await;
    let ns_line = s.ns.po_lines(po)[0].line_id;
    let ion = s.ion_po(po);
    let ion_id = ion["id"].as_i64().unwrap();
    let ion_line = s.ion_line(&ion, ns_line).unwrap()["id"].as_i64().unwrap();

    // Someone edits the synced PO in ION: the header's description, and a line's quantity
    // (through DRAFT and back, as ION's line rules require).
    let client = s.ion_client();
    let mut edited = edit_description_in_ion(&s, ion_id, "edited in ION").await;
    client
        .revise_lines(
            &mut edited,
            &LineEdits {
                update: vec![LineChanges {
                    id: ion_line,
                    quantity: Some(99.0),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ion = s.ion_po(po);
    assert_eq!(ion["description"], "edited in ION");
    assert_eq!(ion["status"], "ORDERED");
    assert_eq!(s.ion_line(&ion, ns_line).unwrap()["quantity"], json!(99.0));

    // The cycle re-reads the PO (overlap) but NetSuite did not change: same content hash, no
    // ION call at all, the edit stays.
    s.ns.advance(Duration::from_secs(60));
    s.ion.reset_counters();
    let sum = cycle(&engine).await;
    assert_eq!((sum.seen, sum.unchanged, sum.applied), (1, 1, 0), "{sum}");
    assert_eq!(s.ion.graphql_requests(), 0);
    let ion = s.ion_po(po);
    assert_eq!(
        ion["description"], "edited in ION",
        "the cycle does not fix it"
    );
    assert_eq!(s.ion_line(&ion, ns_line).unwrap()["quantity"], json!(99.0));

    // The full reconciliation compares field by field and puts NetSuite's values back.
    let sum = reconcile(&engine).await;
    assert_eq!((sum.applied, sum.failed), (1, 0), "{sum}");
    let ion = s.ion_po(po);
    assert_eq!(ion["id"].as_i64(), Some(ion_id), "the same ION PO");
    assert_eq!(ion["description"], "first memo");
    assert_eq!(
        ion["status"], "ORDERED",
        "back to ORDERED after the draft round trip"
    );
    assert_eq!(s.ion_line(&ion, ns_line).unwrap()["quantity"], json!(4.0));
    assert_eq!(s.ion_lines(&ion).len(), 2);

    // `status` shows when the full reconciliation ran and how it ended.
    let report = engine.context().store.status().unwrap();
    let run = report
        .cycles
        .iter()
        .find(|c| c.loop_name == netsuite_ion_sync::sync::po_sync::RECONCILE_LOOP_NAME)
        .expect("the full reconciliation is in status");
    assert!(run.ok, "{run:?}");
    assert!(run.summary.contains("1 applied"), "{}", run.summary);

    // And then it is in step: a second reconciliation writes nothing.
    s.ion.reset_counters();
    reconcile(&engine).await;
    assert_eq!(ion_writes(&s), 0, "{:?}", s.ion.request_counts());

    // A dry run changes nothing, not even the report.
    let before = engine.context().store.status().unwrap().cycles;
    let dry = engine.reconcile_all(true).await.unwrap();
    assert_eq!(dry.failed, 0);
    assert_eq!(engine.context().store.status().unwrap().cycles, before);
}

#[tokio::test]
async fn netsuite_changes_that_did_not_bump_lastmodified_are_caught_by_the_full_reconciliation() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let closed = s.po(v, "B", vec![line(p, 1.0), line(p, 2.0)]);
    let edited = s.po(v, "B", vec![line(p, 3.0)]);
    cycle(&engine).await;
    // Hours later another PO moves the checkpoint far past both (beyond the re-read overlap).
    s.ns.advance(Duration::from_secs(3 * 3600));
    let later = s.po(v, "B", vec![line(p, 1.0)]);
    cycle(&engine).await;
    assert_eq!(s.ion_po(later)["status"], "ORDERED");

    // NetSuite changes both POs, but their lastmodifieddate stays where it was: a close (the
    // reference's example of what may not bump it) and a quantity edit.
    s.ns.advance(Duration::from_secs(60));
    s.ns.close_purchase_order(closed).unwrap();
    s.ns.set_po_lastmodified(closed, t0()).unwrap();
    let edited_line = s.ns.po_lines(edited)[0].line_id;
    s.ns.set_line_field(edited, edited_line, "quantity", json!(8))
        .unwrap();
    s.ns.set_po_lastmodified(edited, t0()).unwrap();

    // The cycle's cursor cannot see them.
    let sum = cycle(&engine).await;
    assert_eq!(sum.applied, 0, "{sum}");
    assert_eq!(
        s.ion_po(closed)["status"],
        "ORDERED",
        "missed by the cursor"
    );
    let ion_edited = s.ion_po(edited);
    assert_eq!(
        s.ion_line(&ion_edited, edited_line).unwrap()["quantity"],
        json!(3.0)
    );

    // The full reconciliation does.
    let sum = reconcile(&engine).await;
    assert_eq!((sum.seen, sum.failed), (3, 0), "{sum}");
    let ion_closed = s.ion_po(closed);
    assert_eq!(ion_closed["status"], "CANCELED");
    for l in s.ion_lines(&ion_closed) {
        assert_eq!(l["status"], "CANCELED", "open lines canceled");
    }
    let ion_edited = s.ion_po(edited);
    assert_eq!(
        s.ion_line(&ion_edited, edited_line).unwrap()["quantity"],
        json!(8.0)
    );
    assert_eq!(ion_edited["status"], "ORDERED");
}

#[tokio::test]
async fn the_full_reconciliation_of_pos_in_step_writes_nothing_to_ion() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let service = s.item("SETUP-FEE", "Service");
    s.ion.add_part("SETUP-FEE", "A");
    let mut pos = Vec::new();
    for letter in ["A", "B", "D", "E", "F", "G", "H"] {
        pos.push(s.po(v, letter, vec![line(p, 2.0), line(service, 1.0)]));
    }
    // One ordered PO partly received in ION, one fully received (ION rolls it up to RECEIVED).
    let partly = s.po(v, "B", vec![line(p, 5.0), line(p, 1.0)]);
    let fully = s.po(v, "B", vec![line(p, 1.0)]);
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    let ion_partly = s.ion_po(partly);
    let first = s.ion_lines(&ion_partly)[0]["id"].as_i64().unwrap();
    s.ion.receive(&[(first, 2.0)]).unwrap();
    let ion_fully = s.ion_po(fully);
    let only = s.ion_lines(&ion_fully)[0]["id"].as_i64().unwrap();
    s.ion.receive(&[(only, 1.0)]).unwrap();
    assert_eq!(s.ion_po(fully)["status"], "RECEIVED");

    s.ion.reset_counters();
    let sum = reconcile(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    assert_eq!(
        sum.seen,
        pos.len() + 2,
        "every linked PO is looked at: {sum}"
    );
    assert_eq!(
        ion_writes(&s),
        0,
        "in step: no ION write: {:?}",
        s.ion.request_counts()
    );
    // Finished in NetSuite (F, G, H) and unchanged since last applied: not even compared. F
    // and G stay ORDERED in ION (nothing received there), which a forced re-plan would try to
    // "fix" with a RECEIVED status every night.
    assert_eq!(sum.unchanged, 3, "{sum}");
    assert_eq!(s.ion_po(pos[4])["status"], "ORDERED");
}

#[tokio::test]
async fn a_finished_po_is_reconciled_only_when_netsuite_changed_it() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let closed = s.po(v, "H", vec![line(p, 1.0)]);
    let billed = s.po(v, "G", vec![line(p, 1.0)]);
    cycle(&engine).await;
    let ion_closed = s.ion_po(closed);
    assert_eq!(ion_closed["status"], "CANCELED");

    // A manual ION edit of a PO that is finished in NetSuite is left alone (the trade-off).
    edit_description_in_ion(&s, ion_closed["id"].as_i64().unwrap(), "note added in ION").await;
    let sum = reconcile(&engine).await;
    assert_eq!((sum.seen, sum.unchanged), (2, 2), "{sum}");
    assert_eq!(s.ion_po(closed)["description"], "note added in ION");

    // But NetSuite changing it, even without bumping lastmodifieddate, is caught: the content
    // hash differs from what was last applied.
    let before = s.ns.now();
    s.ns.advance(Duration::from_secs(60));
    s.ns.set_po_field(billed, "memo", Some("memo fixed by a mass update"))
        .unwrap();
    s.ns.set_po_lastmodified(billed, before).unwrap();
    let sum = reconcile(&engine).await;
    assert_eq!((sum.unchanged, sum.failed), (1, 0), "{sum}");
    assert_eq!(
        s.ion_po(billed)["description"],
        "memo fixed by a mass update"
    );
}
