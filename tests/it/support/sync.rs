//! Sync set-up: both simulators on 127.0.0.1:0, real clients pointed at them, a store in a
//! temporary directory, and helpers to read ION's side back.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use netsuite_ion_sync::plan::model::MappingConfig;
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::harness::{self, Harness};
use netsuite_ion_sync::sandbox::ion::{self as ion_sim, Kind};
use netsuite_ion_sync::sandbox::netsuite::{
    self as ns_sim, ItemSpec, LineSpec, PoSpec, VendorSpec,
};
use netsuite_ion_sync::store::Store;
use netsuite_ion_sync::sync::{CycleOptions, CycleSummary, Engine, SyncSettings};
use netsuite_ion_sync::{ion, netsuite};
use secrecy::ExposeSecret as _;
use serde_json::Value;

pub use super::{line, t0};

/// Both simulators (the library's [`Harness`], with the fixture key) plus the sync tests'
/// helpers. Derefs to the harness, so `s.ns` and `s.ion` are the simulators.
pub struct Sims(Harness);

impl std::ops::Deref for Sims {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.0
    }
}

impl Sims {
    pub async fn start(ns: ns_sim::SimConfig, ion: ion_sim::SimConfig) -> Sims {
        Sims(
            Harness::start(harness::Options {
                netsuite: ns,
                ion,
                key: super::fixture_key(),
                ..Default::default()
            })
            .await
            .expect("simulators"),
        )
    }

    /// NetSuite's clock frozen at [`t0`]; ION on the wall clock.
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

    /// Quick retries; 20 s timeouts, generous for a loaded machine running many tests at once.
    fn ns_test_settings(&self) -> netsuite::Settings {
        let mut s = self.netsuite_settings(super::netsuite_backoff());
        s.request_timeout = Duration::from_secs(20);
        s
    }

    fn ion_test_settings(&self) -> ion::Settings {
        let mut s = self.ion_settings(Backoff::fast());
        s.request_timeout = Duration::from_secs(20);
        s
    }

    pub fn ion_client(&self) -> ion::Client {
        ion::Client::new(self.ion_test_settings()).expect("ION client")
    }

    pub fn engine(&self, store: &Path, settings: SyncSettings) -> Engine {
        let store = Store::open(store).expect("store opens");
        Engine::new(
            self.context(
                self.ns_test_settings(),
                self.ion_test_settings(),
                Arc::new(store),
                settings,
            )
            .expect("context"),
        )
    }

    /// [`Sims::engine`] with NetSuite's API and ION's GraphQL endpoint reached through other
    /// base URLs (a hostile proxy in front of the simulators); tokens still come from the
    /// simulators themselves.
    pub fn engine_via(
        &self,
        store: &Path,
        settings: SyncSettings,
        netsuite: Option<&url::Url>,
        ion: Option<&url::Url>,
    ) -> Engine {
        let store = Store::open(store).expect("store opens");
        let mut ns = self.ns_test_settings();
        let mut io = self.ion_test_settings();
        if let Some(url) = netsuite {
            ns.base_url = url.clone();
        }
        if let Some(url) = ion {
            io.api_url = url.clone();
        }
        Engine::new(
            self.context(ns, io, Arc::new(store), settings)
                .expect("context"),
        )
    }

    /// A TOML config pointing the real binary at these simulators (for child processes).
    pub fn write_config(&self, dir: &Path) -> std::path::PathBuf {
        std::fs::write(
            dir.join("auth-key.pem"),
            self.credentials.private_key.expose_secret(),
        )
        .unwrap();
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
            kid = self.credentials.certificate_id,
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
