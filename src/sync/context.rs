//! What a sync run needs: both clients, the store and the settings, built once from `Config`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::config::Config;
use crate::plan::model::{MappingConfig, field_maps};
use crate::store::Store;
use crate::{ion, netsuite};

/// The settings the PO sync reads (a projection of [`Config`], so tests and the benchmark can
/// build one without a config file).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// The planner's mapping (non-receivable types, attribute maps).
    pub mapping: MappingConfig,
    /// NetSuite item field matched against ION `Part.partNumber` (`itemid` by default).
    pub part_number_field: String,
    /// Optional NetSuite item field holding the ION revision; `None` = latest revision.
    pub revision_field: Option<String>,
    /// NetSuite vendor field matched against ION `Supplier.name` (`companyname`, else `entityid`).
    pub supplier_name_field: String,
    /// How far each cycle re-reads behind the checkpoint (SPEC §4), so a PO whose
    /// `lastmodifieddate` lands behind the cursor (time zones, slow commits) is not missed.
    pub overlap: Duration,
    /// The poll interval: the unit of the retry backoff of failing POs.
    pub poll_interval: Duration,
    /// POs applied at once. The ION client's in-flight cap is what bounds requests; this only
    /// has to be large enough to keep that cap busy.
    pub apply_concurrency: usize,
    /// Rows per SuiteQL header page (NetSuite allows up to 1000).
    pub page_size: u32,
}

impl SyncSettings {
    /// Settings with SPEC §10 defaults and the given mapping.
    pub fn new(mapping: MappingConfig) -> Self {
        Self {
            mapping,
            part_number_field: "itemid".into(),
            revision_field: None,
            supplier_name_field: "companyname".into(),
            overlap: Duration::from_secs(600),
            poll_interval: Duration::from_secs(60),
            apply_concurrency: 16,
            page_size: 1000,
        }
    }

    /// Body fields the header query must select (the mapped ones).
    pub(crate) fn body_fields(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .mapping
            .po_attributes
            .values()
            .map(|f| f.field.clone())
            .filter(|f| !is_standard_body_field(f))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Line fields the line query must select.
    pub(crate) fn line_fields(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .mapping
            .line_attributes
            .values()
            .map(|f| f.field.clone())
            .filter(|f| !matches!(f.to_ascii_lowercase().as_str(), "memo" | "item"))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Item fields the item query must select (part number and revision when not standard).
    pub(crate) fn item_fields(&self) -> Vec<String> {
        let mut v = Vec::new();
        if !self.part_number_field.eq_ignore_ascii_case("itemid") {
            v.push(self.part_number_field.clone());
        }
        if let Some(r) = &self.revision_field {
            v.push(r.clone());
        }
        v
    }
}

/// Standard body fields the header query already selects; a mapping naming them must not
/// select them a second time (see [`crate::plan::model::NsPurchaseOrder::field`]).
fn is_standard_body_field(f: &str) -> bool {
    matches!(
        f.to_ascii_lowercase().as_str(),
        "tranid" | "memo" | "trandate" | "duedate" | "entity"
    )
}

/// Clients + store + settings. Cheap to clone (the clients and store are shared).
#[derive(Clone)]
pub struct Context {
    pub netsuite: netsuite::Client,
    pub ion: ion::Client,
    pub store: Arc<Store>,
    pub settings: SyncSettings,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("netsuite", &self.netsuite)
            .field("store", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Loads both secrets, builds both clients ([`crate::clients`]) and opens the store (taking
    /// its process lock). Reading the ION types of the mapped custom attributes is left to
    /// [`Context::load_attribute_types`], because it needs the network.
    pub fn from_config(config: &Config) -> Result<Context> {
        let netsuite = crate::clients::netsuite_client(config)?;
        let ion = crate::clients::ion_client(config)?;

        let store = Store::open(&config.store_path)?;

        let m = &config.mapping;
        let mapping = MappingConfig {
            non_receivable_item_types: m.non_receivable_item_types.iter().cloned().collect(),
            po_attributes: field_maps(&m.purchase_order_attributes, &Default::default()),
            line_attributes: field_maps(&m.purchase_order_line_attributes, &Default::default()),
        };
        let mut settings = SyncSettings::new(mapping);
        settings.part_number_field = m.part_number_field.clone();
        settings.revision_field = m.revision_field.clone();
        settings.supplier_name_field = m.supplier_name_field.clone();
        settings.overlap = config.schedule.overlap;
        settings.poll_interval = config.schedule.netsuite_poll;
        settings.apply_concurrency = (config.ion.max_in_flight * 4).max(4);
        Ok(Context {
            netsuite,
            ion,
            store: Arc::new(store),
            settings,
        })
    }

    /// Reads ION's attribute definitions and sets the type of every mapped custom attribute,
    /// so NetSuite text is converted to what ION expects (number, boolean, list). Without it
    /// every mapped attribute is sent as text.
    pub async fn load_attribute_types(&mut self) -> Result<()> {
        let defs = self.ion.attribute_definitions().await?;
        let types = |list: &[ion::AttributeDefinition]| {
            list.iter()
                .filter_map(|d| {
                    let t = serde_json::to_value(d.attribute_type?).ok()?;
                    let t: crate::plan::model::AttrType = serde_json::from_value(t).ok()?;
                    Some((d.key.clone(), t))
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let po = types(&defs.purchase_orders);
        let line = types(&defs.purchase_order_lines);
        for (k, fm) in self.settings.mapping.po_attributes.iter_mut() {
            if let Some(t) = po.get(k) {
                fm.ion_type = *t;
            }
        }
        for (k, fm) in self.settings.mapping.line_attributes.iter_mut() {
            if let Some(t) = line.get(k) {
                fm.ion_type = *t;
            }
        }
        Ok(())
    }
}
