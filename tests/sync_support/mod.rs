//! Shared set-up for the sync tests: both simulators on 127.0.0.1:0, real clients pointed at
//! them, a store in a temporary directory, and helpers to read ION's side back.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::ion::{self as ion_sim, Kind};
use netsuite_ion_sync::sandbox::netsuite::{
    self as ns_sim, ItemSpec, LineSpec, NetSuiteSim, PoSpec, VendorSpec,
};
use netsuite_ion_sync::store::Store;
use netsuite_ion_sync::sync::model::MappingConfig;
use netsuite_ion_sync::sync::{Context, CycleOptions, CycleSummary, Engine, SyncSettings};
use netsuite_ion_sync::{ion, netsuite};
use secrecy::SecretString;
use serde_json::Value;

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/netsuite/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// 2026-01-15 18:00:00 UTC (10:00 in Los Angeles, the simulator's default zone).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 18, 0, 0).unwrap()
}

pub struct Sims {
    pub ns: ns_sim::SimHandle,
    pub ion: ion_sim::SimHandle,
    /// The certificate id the fixture key is registered under.
    pub kid: String,
}

impl Sims {
    pub async fn start(ns: ns_sim::SimConfig, ion: ion_sim::SimConfig) -> Sims {
        let ns = NetSuiteSim::start(ns).await.expect("NetSuite simulator");
        let kid = ns
            .register_certificate_pem(&fixture("auth-cert.pem"))
            .expect("certificate");
        let ion = ion_sim::IonSim::start(ion).await.expect("ION simulator");
        ion.define_required_attributes();
        Sims { ns, ion, kid }
    }

    pub async fn default() -> Sims {
        Sims::start(
            ns_sim::SimConfig {
                start_time: Some(t0()),
                ..Default::default()
            },
            ion_sim::SimConfig::default(),
        )
        .await
    }

    pub fn ns_client(&self) -> netsuite::Client {
        let mut s = netsuite::Settings::new(
            self.ns.base_url(),
            self.ns.account_id(),
            self.ns.client_id(),
            self.kid.clone(),
            SecretString::from(fixture("auth-key.pem")),
        );
        s.backoff = Backoff {
            base: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_attempts: 12,
        };
        s.request_timeout = Duration::from_secs(20);
        netsuite::Client::new(s).expect("NetSuite client")
    }

    pub fn ion_client(&self) -> ion::Client {
        let mut s = ion::Settings::new(
            self.ion.api_url(),
            self.ion.token_url(),
            self.ion.client_id(),
            SecretString::from(self.ion.client_secret().to_string()),
        );
        s.backoff = Backoff::fast();
        s.request_timeout = Duration::from_secs(20);
        ion::Client::new(s).expect("ION client")
    }

    pub fn engine(&self, store: &Path, settings: SyncSettings) -> Engine {
        let store = Store::open(store).expect("store opens");
        Engine::new(Context {
            netsuite: self.ns_client(),
            ion: self.ion_client(),
            store: Arc::new(store),
            settings,
        })
    }

    /// A TOML config pointing the real binary at these simulators (for child processes).
    pub fn write_config(&self, dir: &Path) -> std::path::PathBuf {
        std::fs::write(dir.join("auth-key.pem"), fixture("auth-key.pem")).unwrap();
        std::fs::write(dir.join("ion-secret"), self.ion.client_secret()).unwrap();
        let toml = format!(
            r#"[netsuite]
account_id = "{account}"
base_url = "{base}"
client_id = "{client}"
certificate_id = "{kid}"
private_key_file = "auth-key.pem"
request_timeout = "20s"

[ion]
api_url = "{api}"
token_url = "{token}"
client_id = "{ion_client}"
client_secret_file = "ion-secret"
request_timeout = "20s"

[store]
path = "{store}"

[log]
format = "json"
"#,
            account = self.ns.account_id(),
            base = self.ns.base_url().as_str().trim_end_matches('/'),
            client = self.ns.client_id(),
            kid = self.kid,
            api = self.ion.api_url().as_str().trim_end_matches('/'),
            token = self.ion.token_url(),
            ion_client = self.ion.client_id(),
            store = dir.join("state").display(),
        );
        let path = dir.join("config.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    // ---- NetSuite data ----

    pub fn vendor(&self, name: &str) -> i64 {
        self.ns
            .create_vendor(VendorSpec {
                entity_id: format!("V-{name}"),
                company_name: Some(name.into()),
            })
            .unwrap()
    }

    pub fn item(&self, name: &str, item_type: &str) -> i64 {
        self.ns
            .create_item(ItemSpec {
                item_id: name.into(),
                item_type: item_type.into(),
                display_name: Some(format!("{name} display")),
                ..Default::default()
            })
            .unwrap()
    }

    /// A NetSuite item with an ION part of the same number.
    pub fn part(&self, name: &str) -> i64 {
        self.ion.add_part(name, "A");
        self.item(name, "InvtPart")
    }

    pub fn po(&self, vendor: i64, status: &str, lines: Vec<LineSpec>) -> i64 {
        self.ns
            .create_purchase_order(PoSpec {
                vendor,
                status: Some(status.into()),
                memo: Some("first memo".into()),
                lines,
                ..Default::default()
            })
            .unwrap()
    }

    // ---- ION read-back ----

    /// Every ION PO whose `Netsuite RecordID` is `ns_id`.
    pub fn ion_pos_for(&self, ns_id: i64) -> Vec<Value> {
        self.ion
            .ids(Kind::PurchaseOrder)
            .into_iter()
            .filter_map(|id| self.ion.snapshot(Kind::PurchaseOrder, id))
            .filter(|p| attr(p, "Netsuite RecordID").is_some_and(|v| num(v) == Some(ns_id)))
            .collect()
    }

    /// The one ION PO of `ns_id` (panics if none or several).
    pub fn ion_po(&self, ns_id: i64) -> Value {
        let mut v = self.ion_pos_for(ns_id);
        assert_eq!(
            v.len(),
            1,
            "exactly one ION PO for NetSuite PO {ns_id}: {v:#?}"
        );
        v.remove(0)
    }

    /// The lines of an ION PO, ascending id.
    pub fn ion_lines(&self, po: &Value) -> Vec<Value> {
        let id = po["id"].as_i64().expect("po id");
        self.ion
            .line_ids(id)
            .into_iter()
            .filter_map(|l| self.ion.snapshot(Kind::PurchaseOrderLine, l))
            .collect()
    }

    /// The ION line mirroring NetSuite line `ns_line`.
    pub fn ion_line(&self, po: &Value, ns_line: i64) -> Option<Value> {
        self.ion_lines(po)
            .into_iter()
            .find(|l| attr(l, "ns_line_id").and_then(num) == Some(ns_line))
    }
}

/// An attribute value of a snapshot row.
pub fn attr<'a>(row: &'a Value, key: &str) -> Option<&'a Value> {
    row["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

pub fn num(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

pub fn line(item: i64, quantity: f64) -> LineSpec {
    LineSpec {
        item,
        quantity,
        rate: 2.5,
        ..Default::default()
    }
}

pub fn settings() -> SyncSettings {
    let mut s = SyncSettings::new(MappingConfig::default());
    s.poll_interval = Duration::from_millis(1);
    s
}

pub async fn cycle(engine: &Engine) -> CycleSummary {
    engine
        .po_cycle(CycleOptions::default())
        .await
        .expect("cycle runs")
}

/// ION requests that change something: every mutation document the client sends is named
/// with one of these prefixes (queries never are).
pub fn ion_writes(s: &Sims) -> u64 {
    const WRITES: [&str; 8] = [
        "Create", "Update", "Delete", "Define", "Add", "Remove", "Set", "Cancel",
    ];
    s.ion
        .request_counts()
        .iter()
        .filter(|(op, _)| WRITES.iter().any(|p| op.starts_with(p)))
        .map(|(_, n)| n)
        .sum()
}
