//! Receipts set-up: both simulators on 127.0.0.1:0 with frozen clocks, the real clients, a
//! store in a temporary folder, and POs linked the way the PO sync links them (NetSuite PO ↔ ION
//! PO with `Netsuite RecordID`, `ns_line_id` and `Non-receivable`, plus the store's PO link).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use netsuite_ion_sync::ion::{self, AttributeValue, NewLine, NewPurchaseOrder, PoStatus};
use netsuite_ion_sync::netsuite;
use netsuite_ion_sync::sandbox::harness::{self, Harness};
use netsuite_ion_sync::sandbox::ion as ion_sim;
use netsuite_ion_sync::sandbox::netsuite as ns_sim;
use netsuite_ion_sync::sandbox::netsuite::{ItemSpec, LineSpec, PoSpec, VendorSpec};
use netsuite_ion_sync::store::{PoLink, Store};
use netsuite_ion_sync::sync::receipts::ReceiptSync;

use secrecy::ExposeSecret as _;

pub use super::t0;

pub struct World {
    pub ns: ns_sim::SimHandle,
    pub ion_sim: ion_sim::SimHandle,
    pub ion: ion::Client,
    pub store: Store,
    pub sync: ReceiptSync,
    /// Keeps the store folder alive.
    _dir: tempfile::TempDir,
    /// The simulated time both clocks show.
    clock: std::sync::Mutex<DateTime<Utc>>,
}

/// One PO as the PO sync leaves it: both sides and the link.
#[derive(Debug, Clone)]
pub struct LinkedPo {
    pub ns_po: i64,
    pub ion_po: i64,
    pub ns_lines: Vec<i64>,
    pub ion_lines: Vec<i64>,
}

impl World {
    /// Both simulators with frozen clocks at [`t0`]; settle delay 60 s.
    pub async fn start() -> World {
        let Harness {
            ns,
            ion: ion_sim,
            credentials,
        } = Harness::start(harness::Options {
            netsuite: super::netsuite::config(),
            key: super::fixture_key(),
            ion_clock: Some(t0()),
            ..Default::default()
        })
        .await
        .expect("simulators");
        let netsuite = netsuite::Client::new(super::netsuite::settings(
            &ns,
            &credentials.certificate_id,
            credentials.private_key.expose_secret(),
        ))
        .expect("NetSuite client");
        let ion = ion::Client::new(super::ion::settings(&ion_sim)).expect("ION client");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state")).expect("store opens");
        let mut sync = ReceiptSync::new(netsuite, ion.clone(), store.clone());
        sync.tz = chrono_tz::America::Los_Angeles;
        sync.settle = Duration::from_secs(60);
        World {
            ns,
            ion_sim,
            ion,
            store,
            sync,
            _dir: dir,
            clock: std::sync::Mutex::new(t0()),
        }
    }

    /// The simulated time both (frozen) clocks show.
    pub fn now(&self) -> DateTime<Utc> {
        *self.clock.lock().expect("clock")
    }

    /// Moves both simulated clocks forward.
    pub fn advance(&self, by: Duration) {
        self.ion_sim.advance_clock(by);
        self.ns.advance(by);
        let mut c = self.clock.lock().expect("clock");
        *c += chrono::Duration::from_std(by).expect("duration");
    }

    /// A linked PO with one line per `(item type, quantity)`; `Service` lines are
    /// Non-receivable and have no ION part.
    pub async fn linked_po(&self, name: &str, lines: &[(&str, f64)]) -> LinkedPo {
        let vendor = self
            .ns
            .create_vendor(VendorSpec {
                entity_id: format!("V-{name}"),
                company_name: Some(format!("Vendor {name}")),
            })
            .expect("vendor");
        let mut specs = Vec::new();
        for (k, (item_type, qty)) in lines.iter().enumerate() {
            let item = self
                .ns
                .create_item(ItemSpec {
                    item_id: format!("{name}-ITEM-{k}"),
                    item_type: (*item_type).into(),
                    display_name: None,
                    ..Default::default()
                })
                .expect("item");
            specs.push(LineSpec {
                item,
                quantity: *qty,
                rate: 2.5,
                ..Default::default()
            });
        }
        let ns_po = self
            .ns
            .create_purchase_order(PoSpec {
                tran_id: Some(format!("PO-{name}")),
                vendor,
                lines: specs,
                ..Default::default()
            })
            .expect("NetSuite PO");
        let ns_lines: Vec<i64> = self.ns.po_lines(ns_po).iter().map(|l| l.line_id).collect();

        let supplier = self.ion_sim.add_supplier(&format!("Vendor {name}"));
        let part = self.ion_sim.add_part(&format!("{name}-PART"), "A");
        let new = NewPurchaseOrder {
            supplier_id: Some(supplier),
            description: Some(format!("NetSuite PO PO-{name}")),
            status: Some(PoStatus::Ordered),
            attributes: vec![
                AttributeValue::new("Netsuite PO Number", format!("PO-{name}")),
                AttributeValue::new("Netsuite RecordID", ns_po.to_string()),
            ],
            lines: lines
                .iter()
                .zip(&ns_lines)
                .map(|((item_type, qty), ns_line)| {
                    let service = *item_type == "Service";
                    NewLine {
                        part_id: (!service).then_some(part),
                        quantity: *qty,
                        cost: Some(2.5),
                        description: Some(format!("{item_type} line")),
                        attributes: vec![
                            AttributeValue::new("ns_line_id", *ns_line),
                            AttributeValue::new("Non-receivable", service),
                        ],
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        };
        let ion_po = self.ion.create_purchase_order(&new).await.expect("ION PO");
        let ion_lines: Vec<i64> = ion_po.lines.iter().map(|l| l.id).collect();
        assert_eq!(ion_lines.len(), ns_lines.len());
        self.store
            .commit_po(&netsuite_ion_sync::store::PoCommit {
                link: Some(PoLink {
                    ns_po_id: ns_po,
                    ion_po_id: ion_po.id,
                    tran_id: format!("PO-{name}"),
                    content_hash: String::new(),
                    last_lastmod: String::new(),
                    line_map: ns_lines
                        .iter()
                        .copied()
                        .zip(ion_lines.iter().copied())
                        .collect(),
                }),
                ..Default::default()
            })
            .expect("link stored");
        LinkedPo {
            ns_po,
            ion_po: ion_po.id,
            ns_lines,
            ion_lines,
        }
    }

    /// Item receipts in NetSuite, by externalId.
    pub fn receipts_by_external_id(&self) -> BTreeMap<String, ns_sim::ItemReceiptInfo> {
        self.ns
            .item_receipts()
            .into_iter()
            .map(|r| (r.external_id.clone().unwrap_or_default(), r))
            .collect()
    }

    /// Open problems of one NetSuite PO as `(kind, message)`.
    pub fn problems(&self, ns_po: i64) -> Vec<(String, String)> {
        self.store
            .problems_of(ns_po)
            .expect("problems")
            .map(|p| {
                p.problems
                    .into_iter()
                    .map(|p| (p.kind.to_string(), p.message))
                    .collect()
            })
            .unwrap_or_default()
    }
}
