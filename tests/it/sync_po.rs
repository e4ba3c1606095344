//! End-to-end PO sync (SPEC §3.1): the real engine against both simulators over real HTTP.
//! One test per row of the table; the simulated NetSuite clock moves between edits.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::sync::*;
use netsuite_ion_sync::plan::model::{AttrType, FieldMap};
use netsuite_ion_sync::sandbox::ion::AttrScope;
use netsuite_ion_sync::sandbox::netsuite::{LineSpec, PoSpec};
use netsuite_ion_sync::store::ProblemKind;
use netsuite_ion_sync::sync::CycleOptions;
use serde_json::json;

fn tick(s: &Sims) {
    s.ns.advance(Duration::from_secs(60));
}

#[tokio::test]
async fn create_sets_all_attributes_custom_maps_and_creates_the_supplier_once() {
    let s = Sims::default().await;
    s.ion
        .define_attribute(AttrScope::PurchaseOrder, "Requester", "STRING");
    s.ion
        .define_attribute(AttrScope::PurchaseOrder, "Budget", "NUMBER");
    s.ion
        .define_attribute(AttrScope::PurchaseOrder, "Rush", "BOOLEAN");
    s.ion
        .define_attribute(AttrScope::PurchaseOrderLine, "Project", "SELECT");
    let mut settings = settings();
    let fm = |field: &str, ion_type| FieldMap {
        field: field.into(),
        ion_type,
    };
    settings.mapping.po_attributes = BTreeMap::from([
        (
            "Requester".to_string(),
            fm("custbody_requestor", AttrType::Text),
        ),
        (
            "Budget".to_string(),
            fm("custbody_budget", AttrType::Number),
        ),
        ("Rush".to_string(), fm("custbody_rush", AttrType::Boolean)),
    ]);
    settings.mapping.line_attributes = BTreeMap::from([(
        "Project".to_string(),
        fm("custcol_project", AttrType::Select),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings);

    let acme = s.vendor("Acme Metals");
    let bolt = s.part("BOLT-10");
    let service = s.part("SETUP-FEE");
    let mut l1 = line(bolt, 4.0);
    l1.fields.insert("custcol_project".into(), "Apollo".into());
    let mut l2 = line(service, 1.0);
    l2.memo = Some("setup".into());
    let po1 =
        s.ns.create_purchase_order(PoSpec {
            vendor: acme,
            status: Some("B".into()),
            memo: Some("rush order".into()),
            fields: BTreeMap::from([
                ("custbody_requestor".to_string(), "Ada".to_string()),
                ("custbody_budget".to_string(), "1250.5".to_string()),
                ("custbody_rush".to_string(), "T".to_string()),
            ]),
            lines: vec![l1, l2],
            ..Default::default()
        })
        .unwrap();
    // The service item is typed Service in NetSuite (non-receivable).
    let svc_line = s.ns.po_lines(po1)[1].line_id;
    s.ns.set_line_field(po1, svc_line, "item", json!(s.item("SVC-1", "Service")))
        .unwrap();
    s.ion.add_part("SVC-1", "A");
    let po2 = s.po(acme, "B", vec![line(bolt, 2.0)]);

    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");

    let p1 = s.ion_po(po1);
    assert_eq!(p1["status"], "ORDERED");
    assert_eq!(p1["description"], "rush order");
    assert_eq!(
        attr(&p1, "Netsuite PO Number"),
        Some(&json!(format!("PO{po1}")))
    );
    assert_eq!(attr(&p1, "Netsuite RecordID").and_then(num), Some(po1));
    assert_eq!(attr(&p1, "Requester"), Some(&json!("Ada")));
    assert_eq!(attr(&p1, "Budget"), Some(&json!(1250.5)));
    assert_eq!(attr(&p1, "Rush"), Some(&json!(true)));
    let ns_lines = s.ns.po_lines(po1);
    let a = s.ion_line(&p1, ns_lines[0].line_id).expect("line 1");
    assert_eq!(a["quantity"], json!(4.0));
    assert_eq!(attr(&a, "Non-receivable"), Some(&json!(false)));
    assert_eq!(attr(&a, "Project"), Some(&json!("Apollo")));
    let b = s.ion_line(&p1, ns_lines[1].line_id).expect("service line");
    assert_eq!(attr(&b, "Non-receivable"), Some(&json!(true)));

    // One supplier for both POs, remembered in the link table.
    let suppliers: Vec<_> = s
        .ion
        .suppliers()
        .into_iter()
        .filter(|(_, n)| n == "Acme Metals")
        .collect();
    assert_eq!(suppliers.len(), 1);
    let p2 = s.ion_po(po2);
    assert_eq!(p1["supplierId"], json!(suppliers[0].0));
    assert_eq!(p2["supplierId"], json!(suppliers[0].0));
    let store = &engine.context().store;
    assert_eq!(
        store.vendor_link(acme).unwrap().map(|l| l.ion_supplier_id),
        Some(suppliers[0].0)
    );
    let link = store.po_link(po1).unwrap().expect("linked");
    assert_eq!(link.ion_po_id, p1["id"].as_i64().unwrap());
    assert_eq!(link.line_map.len(), 2);

    // Unchanged: the overlap re-reads both POs, the hash says nothing changed, ION is not called.
    tick(&s);
    s.ion.reset_counters();
    let sum = cycle(&engine).await;
    assert_eq!(sum.unchanged, 2, "{sum}");
    assert_eq!(s.ion.graphql_requests(), 0);

    // A later PO of the same vendor reuses the supplier (vendor ↔ supplier link).
    s.ns.set_po_field(po2, "memo", Some("x")).unwrap();
    let po3 = s.po(acme, "B", vec![line(bolt, 1.0)]);
    cycle(&engine).await;
    assert_eq!(s.ion_po(po3)["supplierId"], json!(suppliers[0].0));
    let acme_suppliers = s
        .ion
        .suppliers()
        .into_iter()
        .filter(|(_, n)| n == "Acme Metals");
    assert_eq!(acme_suppliers.count(), 1, "reused from the link table");
}

#[tokio::test]
async fn header_edit_line_add_change_and_removal() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Bolt & Nut Co");
    let p = s.part("NUT-1");
    let q = s.part("NUT-2");
    let po = s.po(v, "B", vec![line(p, 5.0), line(q, 6.0), line(q, 7.0)]);
    cycle(&engine).await;
    let ion = s.ion_po(po);
    let ns_lines = s.ns.po_lines(po);
    let (l1, l2, l3) = (
        ns_lines[0].line_id,
        ns_lines[1].line_id,
        ns_lines[2].line_id,
    );
    // Something is received on line 3 in ION.
    let ion_l3 = s.ion_line(&ion, l3).unwrap()["id"].as_i64().unwrap();
    s.ion.receive(&[(ion_l3, 2.0)]).unwrap();

    tick(&s);
    s.ns.set_po_field(po, "memo", Some("new memo")).unwrap();
    s.ns.set_line_field(po, l1, "quantity", json!(9)).unwrap();
    let l4 = s.ns.add_line(po, line(p, 1.0)).unwrap();
    s.ns.remove_line(po, l2).unwrap();
    s.ns.remove_line(po, l3).unwrap();
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");

    let ion = s.ion_po(po);
    assert_eq!(ion["description"], "new memo");
    assert_eq!(
        ion["status"], "ORDERED",
        "back to ORDERED after the draft round trip"
    );
    assert_eq!(s.ion_line(&ion, l1).unwrap()["quantity"], json!(9.0));
    assert_eq!(s.ion_line(&ion, l4).unwrap()["quantity"], json!(1.0));
    assert!(s.ion_line(&ion, l2).is_none(), "nothing received: deleted");
    assert_eq!(
        s.ion_line(&ion, l3).unwrap()["status"],
        "CANCELED",
        "received: canceled instead"
    );
    let link = engine.context().store.po_link(po).unwrap().unwrap();
    assert!(link.line_map.contains_key(&l4));
    assert!(!link.line_map.contains_key(&l2));
}

#[tokio::test]
async fn missing_part_is_a_problem_until_the_part_appears() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Precision Optics");
    let p = s.part("LENS-1");
    let missing = s.item("PRISM-9", "InvtPart");
    let po = s.po(v, "B", vec![line(p, 1.0), line(missing, 2.0)]);
    let sum = cycle(&engine).await;
    assert_eq!(sum.problems, 1, "{sum}");
    let ion = s.ion_po(po);
    assert_eq!(s.ion_lines(&ion).len(), 1, "line without a part left out");
    let problems = engine
        .context()
        .store
        .problems_of(po)
        .unwrap()
        .expect("open problem");
    assert_eq!(problems.problems[0].kind, ProblemKind::MissingPart);
    assert!(problems.problems[0].message.contains("PRISM-9"));
    assert!(problems.problems[0].message.contains(&format!("PO{po}")));

    // Still missing: re-checked, still open; nothing else changes in ION.
    tick(&s);
    s.ns.advance(Duration::from_secs(3 * 3600)); // far outside the re-read window
    cycle(&engine).await;
    assert!(engine.context().store.problems_of(po).unwrap().is_some());

    s.ion.add_part("PRISM-9", "A");
    let sum = cycle(&engine).await;
    assert_eq!(sum.problems, 0, "{sum}");
    let ion = s.ion_po(po);
    let missing_line = s.ns.po_lines(po)[1].line_id;
    assert!(
        s.ion_line(&ion, missing_line).is_some(),
        "line added once the part exists"
    );
    assert_eq!(ion["status"], "ORDERED");
    assert!(
        engine.context().store.problems_of(po).unwrap().is_none(),
        "resolved"
    );
}

#[tokio::test]
async fn every_status_letter_is_mapped() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let expect = [
        ("A", Some("DRAFT")),
        ("B", Some("ORDERED")),
        ("C", None),
        ("D", Some("ORDERED")),
        ("E", Some("ORDERED")),
        ("F", Some("RECEIVED")),
        ("G", Some("RECEIVED")),
        ("H", Some("CANCELED")),
    ];
    let ids: Vec<i64> = expect
        .iter()
        .map(|(letter, _)| s.po(v, letter, vec![line(p, 1.0)]))
        .collect();
    // What the sync asks ION for, per letter (the dry run shows the plans)...
    let dry = engine
        .po_cycle(CycleOptions { dry_run: true })
        .await
        .unwrap();
    for ((letter, want), id) in expect.iter().zip(&ids) {
        let plan = dry.plans.iter().find(|p| p.ns_po_id == *id).unwrap();
        match want {
            None => assert!(plan.changes.is_empty(), "{letter}: rejected, never created"),
            Some(st) => assert_eq!(
                plan.target_status.map(|t| t.as_str()),
                Some(*st),
                "{letter}"
            ),
        }
    }
    // ...and what ION holds after the real cycle. ION calculates RECEIVED from its own
    // receipts: a PO nothing was received against in ION rolls back to ORDERED (simulator
    // roll-up, ion.md §3), so F and G show ORDERED here until ION receives.
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    for ((letter, want), id) in expect.iter().zip(&ids) {
        let found = s.ion_pos_for(*id);
        match want {
            None => assert!(found.is_empty(), "{letter}: rejected, never created"),
            Some(st) => {
                assert_eq!(found.len(), 1, "{letter}");
                let st = if *st == "RECEIVED" { "ORDERED" } else { st };
                assert_eq!(found[0]["status"], st, "{letter}");
            }
        }
    }
    // A synced PO rejected later is canceled.
    tick(&s);
    s.ns.set_po_field(ids[0], "status", Some("C")).unwrap();
    cycle(&engine).await;
    assert_eq!(s.ion_po(ids[0])["status"], "CANCELED");
}

#[tokio::test]
async fn close_cancels_open_lines_and_leaves_received_ones() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let po = s.po(v, "B", vec![line(p, 5.0), line(p, 3.0)]);
    cycle(&engine).await;
    let ion = s.ion_po(po);
    let ns_lines = s.ns.po_lines(po);
    let received = s.ion_line(&ion, ns_lines[0].line_id).unwrap();
    s.ion
        .receive(&[(received["id"].as_i64().unwrap(), 5.0)])
        .unwrap();

    tick(&s);
    s.ns.close_purchase_order(po).unwrap();
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    let ion = s.ion_po(po);
    let r = s.ion_line(&ion, ns_lines[0].line_id).unwrap();
    let open = s.ion_line(&ion, ns_lines[1].line_id).unwrap();
    // ION derives every line status of a CANCELED PO as CANCELED, so "stays received" is
    // checked where it lives: the received quantity is untouched (the line was not edited).
    assert_eq!(ion["status"], "CANCELED");
    assert_eq!(
        r["receivedQuantity"],
        json!(5.0),
        "received line stays received"
    );
    assert_eq!(r["quantity"], json!(5.0));
    assert_eq!(open["status"], "CANCELED");
    assert_eq!(open["receivedQuantity"], json!(0.0));
}

#[tokio::test]
async fn delete_removes_the_ion_po_or_cancels_when_something_was_received() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let gone = s.po(v, "B", vec![line(p, 1.0), line(p, 2.0)]);
    let kept = s.po(v, "B", vec![line(p, 1.0), line(p, 2.0)]);
    cycle(&engine).await;
    let ion_kept = s.ion_po(kept);
    let first = s.ion_lines(&ion_kept)[0]["id"].as_i64().unwrap();
    s.ion.receive(&[(first, 1.0)]).unwrap();

    tick(&s);
    s.ns.delete_purchase_order(gone).unwrap();
    s.ns.delete_purchase_order(kept).unwrap();
    let sum = cycle(&engine).await;
    assert_eq!(sum.deleted, 2, "{sum}");
    assert!(s.ion_pos_for(gone).is_empty(), "deleted in ION");
    let store = &engine.context().store;
    assert!(store.po_link(gone).unwrap().is_none());

    let ion_kept = s.ion_po(kept);
    let lines = s.ion_lines(&ion_kept);
    assert_eq!(lines[0]["status"], "RECEIVED");
    assert_eq!(lines[1]["status"], "CANCELED");
    let problems = store.problems_of(kept).unwrap().expect("warning kept");
    assert_eq!(problems.problems[0].kind, ProblemKind::DeleteRefused);

    // The refused delete is not retried every cycle.
    tick(&s);
    s.ion.reset_counters();
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
}

#[tokio::test]
async fn dry_run_plans_without_changing_anything() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let po = s.po(v, "B", vec![line(p, 1.0)]);
    let sum = engine
        .po_cycle(CycleOptions { dry_run: true })
        .await
        .unwrap();
    assert_eq!(sum.plans.len(), 1);
    let text = netsuite_ion_sync::sync::po_sync::render_plan(&sum.plans[0]);
    assert!(text.contains("create supplier"), "{text}");
    assert!(text.contains("create PO"), "{text}");
    assert!(s.ion_pos_for(po).is_empty());
    assert!(s.ion.suppliers().iter().all(|(_, n)| n != "Acme"));
    let store = &engine.context().store;
    assert!(store.po_link(po).unwrap().is_none());
    assert!(
        store
            .checkpoint(netsuite_ion_sync::store::Checkpoint::NetSuitePurchaseOrders)
            .unwrap()
            .is_none()
    );

    // resync by tranId does it for real.
    let sum = engine.resync_po(&format!("PO{po}"), false).await.unwrap();
    assert_eq!(sum.applied, 1, "{sum}");
    assert_eq!(s.ion_po(po)["status"], "ORDERED");
}

#[tokio::test]
async fn one_bad_po_is_parked_and_does_not_stop_the_others() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    s.ion
        .define_attribute(AttrScope::PurchaseOrder, "Budget", "NUMBER");
    let good = s.po(v, "B", vec![line(p, 1.0)]);
    // A PO whose vendor does not exist in NetSuite's vendor table: malformed data.
    let bad =
        s.ns.create_purchase_order(PoSpec {
            vendor: 999_999,
            lines: vec![LineSpec {
                item: p,
                quantity: 1.0,
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let sum = cycle(&engine).await;
    assert_eq!(s.ion_po(good)["status"], "ORDERED");
    assert!(s.ion_pos_for(bad).is_empty());
    assert_eq!(sum.failed, 1, "{sum}");
    let problems = engine
        .context()
        .store
        .problems_of(bad)
        .unwrap()
        .expect("parked");
    assert_eq!(problems.problems[0].kind, ProblemKind::ApplyFailed);
    assert!(
        problems.problems[0].message.contains("vendor"),
        "{:?}",
        problems
    );
}

#[tokio::test]
async fn dates_are_created_updated_and_then_left_alone() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Calendar Works");
    let p = s.part("DATE-1");
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 2, d).unwrap();
    let po =
        s.ns.create_purchase_order(PoSpec {
            vendor: v,
            status: Some("B".into()),
            tran_date: Some(day(2)),
            lines: vec![
                LineSpec {
                    expected_receipt_date: Some(day(20)),
                    ..line(p, 3.0)
                },
                line(p, 4.0),
            ],
            ..Default::default()
        })
        .unwrap();
    cycle(&engine).await;
    let ion = s.ion_po(po);
    let ns_lines = s.ns.po_lines(po);
    let (l1, l2) = (ns_lines[0].line_id, ns_lines[1].line_id);
    // trandate → orderedAt, expectedreceiptdate → estimatedArrivalDate, as midnight UTC.
    assert_eq!(ion["orderedAt"], "2026-02-02T00:00:00Z");
    assert_eq!(
        s.ion_line(&ion, l1).unwrap()["estimatedArrivalDate"],
        "2026-02-20T00:00:00Z"
    );
    assert!(s.ion_line(&ion, l2).unwrap()["estimatedArrivalDate"].is_null());

    // NetSuite moves the PO date and the first line's date, and dates the second line.
    tick(&s);
    s.ns.set_po_field(po, "trandate", Some(&s.ns.date_value(day(3)).to_string()))
        .unwrap();
    s.ns.set_line_field(
        po,
        l1,
        "expectedreceiptdate",
        json!(s.ns.date_value(day(25))),
    )
    .unwrap();
    s.ns.set_line_field(
        po,
        l2,
        "expectedreceiptdate",
        json!(s.ns.date_value(day(27))),
    )
    .unwrap();
    s.ion.reset_counters();
    let sum = cycle(&engine).await;
    assert_eq!((sum.applied, sum.failed), (1, 0), "{sum}");
    let ion = s.ion_po(po);
    assert_eq!(ion["orderedAt"], "2026-02-03T00:00:00Z");
    assert_eq!(
        s.ion_line(&ion, l1).unwrap()["estimatedArrivalDate"],
        "2026-02-25T00:00:00Z"
    );
    assert_eq!(
        s.ion_line(&ion, l2).unwrap()["estimatedArrivalDate"],
        "2026-02-27T00:00:00Z"
    );
    // Arrival dates are editable on an ORDERED PO: no trip through DRAFT (one header write).
    assert_eq!(ion["status"], "ORDERED");
    assert_eq!(
        s.ion.requests("UpdatePurchaseOrder"),
        1,
        "{:?}",
        s.ion.request_counts()
    );

    // Read back, ION's dates equal NetSuite's: a forced re-plan finds nothing to change.
    s.ion.reset_counters();
    let sum = engine.resync_po(&po.to_string(), false).await.unwrap();
    assert_eq!(sum.failed, 0, "{sum}");
    assert_eq!(ion_writes(&s), 0, "{:?}", s.ion.request_counts());

    // A date removed in NetSuite is cleared in ION.
    tick(&s);
    s.ns.set_line_field(po, l2, "expectedreceiptdate", serde_json::Value::Null)
        .unwrap();
    cycle(&engine).await;
    let ion = s.ion_po(po);
    assert!(s.ion_line(&ion, l2).unwrap()["estimatedArrivalDate"].is_null());
}
