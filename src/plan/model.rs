//! The planner's input types: plain data the NetSuite, ION and store layers convert into.
//!
//! They are deliberately not the clients' wire types, so the planner does not change when a
//! client's serde shape does, and a test can build any situation with struct literals.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::status::IonStatus;

/// ION PO attribute carrying NetSuite's `tranId` (First Resonance's own key, ion.md §5.4).
pub const ATTR_PO_NUMBER: &str = "Netsuite PO Number";
/// ION PO attribute carrying NetSuite's internal id; the natural key that finds the ION PO
/// after a crash between "created in ION" and "recorded in the link table".
pub const ATTR_RECORD_ID: &str = "Netsuite RecordID";
/// ION line attribute carrying the NetSuite line id (`orderLine` when receiving); also the
/// natural key of a line created just before a crash.
pub const ATTR_NS_LINE_ID: &str = "ns_line_id";
/// ION line attribute: true for item types that are never received.
pub const ATTR_NON_RECEIVABLE: &str = "Non-receivable";

/// The four attributes the daemon relies on, with the ION definition each needs: which
/// settings list (`purchaseOrders` or `purchaseOrderLines`) and which type. `doctor` checks
/// them and `setup ion-attributes` creates them from this one list.
pub const REQUIRED_ATTRIBUTES: [(&str, AttributeOwner, AttrType); 4] = [
    (
        ATTR_PO_NUMBER,
        AttributeOwner::PurchaseOrder,
        AttrType::Text,
    ),
    (
        ATTR_RECORD_ID,
        AttributeOwner::PurchaseOrder,
        AttrType::Text,
    ),
    (
        ATTR_NS_LINE_ID,
        AttributeOwner::PurchaseOrderLine,
        AttrType::Number,
    ),
    (
        ATTR_NON_RECEIVABLE,
        AttributeOwner::PurchaseOrderLine,
        AttrType::Boolean,
    ),
];

/// Which ION entity an attribute definition belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeOwner {
    PurchaseOrder,
    PurchaseOrderLine,
}

/// A NetSuite purchase order as the planner needs it (SuiteQL header + lines, netsuite.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NsPurchaseOrder {
    /// Internal id (`transaction.id`); the key of the link table.
    pub id: i64,
    /// `tranid`, e.g. `PO1042`; what people call the PO.
    pub tran_id: String,
    /// `transaction.status` (the letter) or `BUILTIN.CF(status)`; see [`super::status::map`].
    /// Text, not `char`, so an unexpected value reaches the planner and is reported verbatim.
    pub status_letter: String,
    /// `entity`: the vendor's internal id.
    pub vendor_id: i64,
    /// The vendor's name as matched against ION `Supplier.name` (companyname, else entityid).
    pub vendor_name: String,
    pub memo: Option<String>,
    /// `trandate`, selected as `TO_CHAR(…,'YYYY-MM-DD')` so no user date format leaks in.
    pub tran_date: Option<NaiveDate>,
    /// `duedate`, same format.
    pub due_date: Option<NaiveDate>,
    /// `TO_CHAR(lastmodifieddate,'YYYY-MM-DD HH24:MI:SS')`, kept only for the cursor and the
    /// link table; it is not part of the content (see [`super::hash::content_hash`]).
    pub lastmod: String,
    /// Every other body field the mapping names (`custbody_*` or standard), as SuiteQL text
    /// (`BUILTIN.DF` display text for list and record fields). `None` = empty in NetSuite.
    #[serde(default)]
    pub body_fields: BTreeMap<String, Option<String>>,
    pub lines: Vec<NsLine>,
}

impl NsPurchaseOrder {
    /// The value of a body field named in the mapping. Standard fields already modelled
    /// (`tranid`, `memo`, `trandate`, `duedate`, `entity`) are answered from their typed field
    /// when `body_fields` does not carry them, so a mapping may name them without the NetSuite
    /// layer selecting them twice.
    pub fn field(&self, name: &str) -> Option<Option<String>> {
        if let Some(v) = self.body_fields.get(name) {
            return Some(v.clone());
        }
        match name.to_ascii_lowercase().as_str() {
            "tranid" => Some(Some(self.tran_id.clone())),
            "memo" => Some(self.memo.clone()),
            "trandate" => Some(self.tran_date.map(|d| d.to_string())),
            "duedate" => Some(self.due_date.map(|d| d.to_string())),
            "entity" => Some(Some(self.vendor_name.clone())),
            _ => None,
        }
    }
}

/// One NetSuite PO line (`transactionline`, netsuite.md §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NsLine {
    /// `transactionline.id`: the line key and the `orderLine` of item receipts.
    pub line_id: i64,
    pub item_id: i64,
    /// The item's `itemid`, matched against ION `Part.partNumber`; named in warnings.
    pub item_name: String,
    /// `itemtype` (`InvtPart`, `Service`, `OthCharge`, …): decides Non-receivable.
    pub item_type: String,
    pub quantity: f64,
    /// `quantityshiprecv`. ION is the source of truth for receiving, so the planner decides
    /// "received?" from ION; this is used only to refuse a quantity below what NetSuite has
    /// already received.
    pub quantity_received: f64,
    /// Unit price; becomes the ION line's `cost` (unit cost, ion.md §4.2).
    pub rate: f64,
    pub is_closed: bool,
    pub memo: Option<String>,
    pub expected_receipt_date: Option<NaiveDate>,
    /// Line fields named in the line attribute map (`custcol_*`), as SuiteQL text.
    #[serde(default)]
    pub line_fields: BTreeMap<String, Option<String>>,
}

impl NsLine {
    /// A line field named in the mapping; `memo` and `item` fall back to the typed fields.
    pub fn field(&self, name: &str) -> Option<Option<String>> {
        if let Some(v) = self.line_fields.get(name) {
            return Some(v.clone());
        }
        match name.to_ascii_lowercase().as_str() {
            "memo" => Some(self.memo.clone()),
            "item" => Some(Some(self.item_name.clone())),
            "expectedreceiptdate" => Some(self.expected_receipt_date.map(|d| d.to_string())),
            _ => None,
        }
    }
}

/// One custom attribute value as ION holds it: the value and the attribute row's `Etag`
/// (attribute rows spell it that way, ion.md §2.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IonAttribute {
    pub value: Value,
    pub etag: String,
}

/// The ION PO as it is now, read just before planning (only when linked or found by its
/// `Netsuite RecordID` attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IonPurchaseOrderState {
    pub id: i64,
    /// The PO's `_etag`. The plan does not carry etags (every write changes them; the apply step
    /// threads the fresh ones), but keeping it here lets apply start from the state it planned on.
    pub etag: String,
    /// Nullable in ION's schema.
    pub status: Option<IonStatus>,
    pub supplier_id: Option<i64>,
    pub description: Option<String>,
    /// `orderedAt`, reduced to its date by the ION layer.
    pub ordered_at: Option<NaiveDate>,
    #[serde(default)]
    pub attributes: BTreeMap<String, IonAttribute>,
    pub lines: Vec<IonLineState>,
}

/// One ION PO line as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IonLineState {
    pub id: i64,
    pub etag: String,
    /// Calculated by ION since July 2025; `CANCELED` is the one value a client may set.
    pub status: IonStatus,
    pub part_id: Option<i64>,
    pub quantity: f64,
    pub cost: Option<f64>,
    pub received_quantity: f64,
    pub description: Option<String>,
    pub estimated_arrival_date: Option<NaiveDate>,
    #[serde(default)]
    pub attributes: BTreeMap<String, IonAttribute>,
}

impl IonLineState {
    /// The NetSuite line this ION line mirrors, from its `ns_line_id` attribute (a number, or a
    /// numeric string, or a float with no fraction: ION's multi-type `ScalarValue` allows all).
    pub fn ns_line_id(&self) -> Option<i64> {
        let v = &self.attributes.get(ATTR_NS_LINE_ID)?.value;
        match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Anything received against the line. ION refuses to delete such a line, and a close in
    /// NetSuite leaves it as it is ("lines already received stay received").
    pub fn is_received(&self) -> bool {
        self.received_quantity > QTY_EPSILON
    }
}

/// Tolerance for quantity and money comparisons: both sides are floats that went through
/// JSON and SQL text, so exact equality would plan spurious updates.
pub const QTY_EPSILON: f64 = 1e-9;

/// Whether two floats are the same for sync purposes (relative tolerance, so large amounts
/// and small fractions both behave).
pub fn same_amount(a: f64, b: f64) -> bool {
    (a - b).abs() <= QTY_EPSILON * a.abs().max(b.abs()).max(1.0)
}

/// What the link table remembers about one synced NetSuite PO ↔ ION PO. One type for the
/// planner and the store (which persists it), so what is planned against is exactly what is
/// persisted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PoLink {
    pub ns_po_id: i64,
    pub ion_po_id: i64,
    /// NetSuite `tranId` (the PO number people use), for logs and lookups by number.
    pub tran_id: String,
    /// Hash of the NetSuite content last applied; an unchanged PO costs no ION call.
    pub content_hash: String,
    /// `lastmodifieddate` text of the version last applied.
    pub last_lastmod: String,
    /// NetSuite line id (`ns_line_id`) → ION PO line id, for every line created in ION.
    #[serde(default)]
    pub line_map: BTreeMap<i64, i64>,
}

/// The ION type of a custom attribute, spelled as ION's definition `type` so the ION layer can
/// deserialise the org settings straight into it. It decides how NetSuite's text is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AttrType {
    /// Free text (`STRING`); the NetSuite text as is.
    #[default]
    #[serde(rename = "STRING")]
    Text,
    /// `NUMBER`; NetSuite's text parsed as a number.
    #[serde(rename = "NUMBER")]
    Number,
    /// `BOOLEAN`; NetSuite's `T`/`F` (SuiteQL) or `true`/`false`.
    #[serde(rename = "BOOLEAN")]
    Boolean,
    /// `SELECT`; a NetSuite list/record field sent as its display text (SPEC §3.1).
    #[serde(rename = "SELECT")]
    Select,
    /// `MULTISELECT`; a NetSuite multi-select's display text, split on commas into a list.
    #[serde(rename = "MULTISELECT")]
    MultiSelect,
}

/// One configured attribute map entry: the NetSuite field feeding an ION attribute key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMap {
    /// NetSuite field name (`custbody_requestor`, `custcol_project`, or a standard field).
    pub field: String,
    /// The ION attribute's type, from ION's attribute definitions (`doctor` reads them).
    pub ion_type: AttrType,
}

/// Builds an attribute map from the config's `key = field` table and the ION attribute types
/// (from ION's attribute definitions, as `doctor` reads them). A key ION does not define is
/// treated as text; `doctor` is where a missing definition is reported.
pub fn field_maps(
    config: &BTreeMap<String, String>,
    ion_types: &BTreeMap<String, AttrType>,
) -> BTreeMap<String, FieldMap> {
    config
        .iter()
        .map(|(key, field)| {
            let fm = FieldMap {
                field: field.clone(),
                ion_type: ion_types.get(key).copied().unwrap_or_default(),
            };
            (key.clone(), fm)
        })
        .collect()
}

/// The mapping part of the config the planner needs (SPEC §10 `[mapping]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingConfig {
    /// NetSuite item types that are never received; compared case-insensitively.
    pub non_receivable_item_types: BTreeSet<String>,
    /// ION PO attribute key → NetSuite body field.
    #[serde(default)]
    pub po_attributes: BTreeMap<String, FieldMap>,
    /// ION PO line attribute key → NetSuite line field.
    #[serde(default)]
    pub line_attributes: BTreeMap<String, FieldMap>,
}

/// Item types that are never received by default (NetSuite's `itemtype` values); one list for
/// the config default and the planner's.
pub const DEFAULT_NON_RECEIVABLE: [&str; 7] = [
    "Service",
    "OthCharge",
    "Discount",
    "Description",
    "Subtotal",
    "Markup",
    "Payment",
];

impl Default for MappingConfig {
    fn default() -> Self {
        Self {
            non_receivable_item_types: DEFAULT_NON_RECEIVABLE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            po_attributes: BTreeMap::new(),
            line_attributes: BTreeMap::new(),
        }
    }
}

impl MappingConfig {
    pub fn is_non_receivable(&self, item_type: &str) -> bool {
        self.non_receivable_item_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(item_type.trim()))
    }
}

/// Where the PO's supplier comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupplierLookup {
    /// Known ION supplier (link table, or found by name).
    Existing(i64),
    /// Not in ION: the plan creates it once, with this name; apply records vendor ↔ supplier.
    MustCreate { name: String },
}

/// Lookups the poll layer did in batches before planning, so the planner does no I/O.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// NetSuite item id → ION part id; `None` (or absent) = no ION part for that item.
    pub parts: BTreeMap<i64, Option<i64>>,
    pub supplier: SupplierLookup,
}

impl Resolved {
    pub fn part_for(&self, item_id: i64) -> Option<i64> {
        self.parts.get(&item_id).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_with(v: Value) -> IonLineState {
        IonLineState {
            id: 1,
            etag: "e".into(),
            status: IonStatus::Ordered,
            part_id: None,
            quantity: 1.0,
            cost: None,
            received_quantity: 0.0,
            description: None,
            estimated_arrival_date: None,
            attributes: [(
                ATTR_NS_LINE_ID.to_string(),
                IonAttribute {
                    value: v,
                    etag: "a".into(),
                },
            )]
            .into(),
        }
    }

    #[test]
    fn ns_line_id_accepts_every_scalar_spelling() {
        assert_eq!(line_with(serde_json::json!(7)).ns_line_id(), Some(7));
        assert_eq!(line_with(serde_json::json!(7.0)).ns_line_id(), Some(7));
        assert_eq!(line_with(serde_json::json!(" 7 ")).ns_line_id(), Some(7));
        assert_eq!(line_with(serde_json::json!(7.5)).ns_line_id(), None);
        assert_eq!(line_with(Value::Null).ns_line_id(), None);
    }

    #[test]
    fn non_receivable_defaults_and_case() {
        let m = MappingConfig::default();
        assert!(m.is_non_receivable("Service"));
        assert!(m.is_non_receivable("othcharge"));
        assert!(!m.is_non_receivable("InvtPart"));
        assert!(!m.is_non_receivable("NonInvtPart"));
    }

    #[test]
    fn standard_fields_answer_mapping_lookups() {
        let po = NsPurchaseOrder {
            id: 1,
            tran_id: "PO1".into(),
            status_letter: "B".into(),
            vendor_id: 2,
            vendor_name: "Acme".into(),
            memo: Some("m".into()),
            tran_date: NaiveDate::from_ymd_opt(2026, 1, 2),
            due_date: None,
            lastmod: String::new(),
            body_fields: [("memo".to_string(), Some("override".to_string()))].into(),
            lines: vec![],
        };
        assert_eq!(po.field("memo"), Some(Some("override".into())));
        assert_eq!(po.field("trandate"), Some(Some("2026-01-02".into())));
        assert_eq!(po.field("duedate"), Some(None));
        assert_eq!(po.field("custbody_missing"), None);
    }

    #[test]
    fn field_maps_take_types_from_ion_definitions() {
        let config: BTreeMap<String, String> = [
            ("Budget".to_string(), "custbody_budget".to_string()),
            ("Requester".to_string(), "custbody_requestor".to_string()),
        ]
        .into();
        let types: BTreeMap<String, AttrType> = [("Budget".to_string(), AttrType::Number)].into();
        let maps = field_maps(&config, &types);
        assert_eq!(maps["Budget"].ion_type, AttrType::Number);
        assert_eq!(maps["Budget"].field, "custbody_budget");
        assert_eq!(maps["Requester"].ion_type, AttrType::Text);
    }

    #[test]
    fn attr_type_uses_ion_spelling() {
        let t: AttrType = serde_json::from_str("\"MULTISELECT\"").unwrap();
        assert_eq!(t, AttrType::MultiSelect);
        assert_eq!(
            serde_json::to_string(&AttrType::Text).unwrap(),
            "\"STRING\""
        );
    }
}
