//! The simulator's in-memory ION: rows, the rules real ION enforces on them, and the
//! test-facing actions of a person in the ION UI (receiving, editing receipts).
//!
//! Rules enforced (reference §2.10, §3, §5, §6): every update/delete carries the row's current
//! `_etag`; attribute values need a definition of the right type; line fields change only while
//! the PO is DRAFT and the only line status a client sets is CANCELED; nothing with received
//! items is deleted; line statuses are calculated and the PO rolls up to RECEIVED once every
//! live line is received.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// A refusal, phrased as ION would put it in `errors[].message`.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Optimistic concurrency failure (HTTP 409 or `extensions.code = CONFLICT`).
    Conflict(String),
    Invalid(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::Conflict(m) | Refusal::Invalid(m) => m,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Refusal {}

pub type Outcome<T> = Result<T, Refusal>;

fn invalid<T>(message: impl Into<String>) -> Outcome<T> {
    Err(Refusal::Invalid(message.into()))
}

/// Kinds of rows the simulator keeps (named as the schema's object types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    User,
    Organization,
    Supplier,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptItem,
    PartInventory,
}

impl Kind {
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Organization => "Organization",
            Kind::Supplier => "Supplier",
            Kind::Part => "Part",
            Kind::PurchaseOrder => "PurchaseOrder",
            Kind::PurchaseOrderLine => "PurchaseOrderLine",
            Kind::Receipt => "Receipt",
            Kind::ReceiptItem => "ReceiptItem",
            Kind::PartInventory => "PartInventory",
        }
    }
}

/// Which definitions list an attribute belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttrScope {
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    Supplier,
    Part,
}

/// The clock stamping `_created`/`_updated`: real time unless a test freezes it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    pub fixed: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed.unwrap_or_else(Utc::now)
    }
}

/// The scalar fields of a purchase-order row ([`State::quick_field`]).
pub const PO_FIELDS: [&str; 15] = [
    "id",
    "_etag",
    "_created",
    "_updated",
    "status",
    "supplierId",
    "description",
    "paid",
    "isOpen",
    "orderedAt",
    "needDate",
    "estimatedArrivalDate",
    "currencyId",
    "editable",
    "attributes",
];

/// The scalar fields of a purchase-order line row ([`State::quick_field`]).
pub const LINE_FIELDS: [&str; 18] = [
    "id",
    "_etag",
    "_created",
    "_updated",
    "purchaseOrderId",
    "partId",
    "status",
    "isOpen",
    "quantity",
    "cost",
    "receivedQuantity",
    "inventoryQuantity",
    "description",
    "position",
    "needDate",
    "estimatedArrivalDate",
    "paid",
    "attributes",
];

/// ION (graphene) renders DateTime as Python's isoformat: microseconds and `+00:00`.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    // Same text as `format("%Y-%m-%dT%H:%M:%S%.6f+00:00")`, without parsing that pattern on
    // every call (this runs for every timestamp of every row in every answer).
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() % 1_000_000_000 / 1_000
    )
}

#[derive(Debug, Clone)]
pub struct Meta {
    pub etag: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AttrDef {
    pub key: String,
    pub attr_type: String,
    pub options: Vec<String>,
}

/// The fields of an attribute row besides its parent's id (see [`State::attr_field`]).
const ATTR_FIELDS: [&str; 7] = ["id", "key", "value", "type", "Etag", "Created", "Updated"];

#[derive(Debug, Clone)]
pub struct AttrRow {
    pub key: String,
    pub value: Value,
    pub attr_type: String,
    pub etag: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SupplierRow {
    pub meta: Meta,
    pub name: String,
    pub attributes: Vec<AttrRow>,
}

#[derive(Debug, Clone)]
pub struct PartRow {
    pub meta: Meta,
    pub part_number: String,
    pub revision: String,
}

#[derive(Debug, Clone)]
pub struct PoRow {
    pub meta: Meta,
    pub status: String,
    pub supplier_id: Option<i64>,
    pub currency_id: Option<i64>,
    pub description: Option<String>,
    /// `orderedAt` as the client sent it (a `DateTime`); the PO's `needDate` and
    /// `estimatedArrivalDate` are not in ION's PO inputs, so they stay null.
    pub ordered_at: Option<String>,
    pub paid: bool,
    pub attributes: Vec<AttrRow>,
}

#[derive(Debug, Clone)]
pub struct LineRow {
    pub meta: Meta,
    pub purchase_order_id: i64,
    pub part_id: Option<i64>,
    pub quantity: f64,
    pub cost: Option<f64>,
    pub description: Option<String>,
    pub position: Option<i64>,
    pub need_date: Option<String>,
    pub estimated_arrival_date: Option<String>,
    pub paid: bool,
    /// The one client-settable status; everything else about line status is calculated.
    pub canceled: bool,
    pub attributes: Vec<AttrRow>,
}

#[derive(Debug, Clone)]
pub struct ReceiptRow {
    pub meta: Meta,
    pub received_at: DateTime<Utc>,
    pub received_by_id: i64,
}

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub meta: Meta,
    pub receipt_id: i64,
    pub purchase_order_line_id: Option<i64>,
    pub part_inventory_id: Option<i64>,
    pub quantity: f64,
}

#[derive(Debug, Clone)]
pub struct InventoryRow {
    pub meta: Meta,
    pub part_id: i64,
    pub quantity: f64,
    pub location_id: Option<i64>,
}

pub const USER_ID: i64 = 1;
pub const ORGANIZATION_ID: i64 = 1;

/// All simulated data. Ids come from one sequence, so ids of different kinds never collide
/// (which makes mix-ups in the client visible instead of accidentally working).
#[derive(Debug)]
pub struct State {
    next_id: i64,
    next_etag: u64,
    pub clock: Clock,
    pub org_etag: String,
    pub org_name: String,
    pub definitions: BTreeMap<AttrScope, Vec<AttrDef>>,
    pub suppliers: BTreeMap<i64, SupplierRow>,
    pub parts: BTreeMap<i64, PartRow>,
    pub purchase_orders: BTreeMap<i64, PoRow>,
    /// Read-only outside this module: writes go through `insert_line` / `remove_line`, which
    /// keep `lines_by_po` in step.
    pub lines: BTreeMap<i64, LineRow>,
    /// Line ids per PO: an index, so a PO's lines cost O(its lines), not O(all lines) (the
    /// benchmark creates 20,000 lines and the simulator must not be the bottleneck).
    lines_by_po: BTreeMap<i64, BTreeSet<i64>>,
    pub receipts: BTreeMap<i64, ReceiptRow>,
    pub items: BTreeMap<i64, ItemRow>,
    pub inventories: BTreeMap<i64, InventoryRow>,
}

/// What a receive produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub receipt_id: i64,
    pub item_ids: Vec<i64>,
}

impl State {
    pub fn new(org_name: &str) -> Self {
        let mut s = Self {
            next_id: 100,
            next_etag: 0,
            clock: Clock::default(),
            org_etag: String::new(),
            org_name: org_name.into(),
            definitions: BTreeMap::new(),
            suppliers: BTreeMap::new(),
            parts: BTreeMap::new(),
            purchase_orders: BTreeMap::new(),
            lines: BTreeMap::new(),
            lines_by_po: BTreeMap::new(),
            receipts: BTreeMap::new(),
            items: BTreeMap::new(),
            inventories: BTreeMap::new(),
        };
        s.org_etag = s.etag();
        s
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Etags look like ION's (opaque hex) and never repeat.
    fn etag(&mut self) -> String {
        self.next_etag += 1;
        etag_text(self.next_etag.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn meta(&mut self) -> Meta {
        let now = self.clock.now();
        Meta {
            etag: self.etag(),
            created: now,
            updated: now,
        }
    }

    fn touch(&mut self, kind: Kind, id: i64) {
        let etag = self.etag();
        let now = self.clock.now();
        let meta = match kind {
            Kind::PurchaseOrder => self.purchase_orders.get_mut(&id).map(|r| &mut r.meta),
            Kind::PurchaseOrderLine => self.lines.get_mut(&id).map(|r| &mut r.meta),
            Kind::Receipt => self.receipts.get_mut(&id).map(|r| &mut r.meta),
            Kind::ReceiptItem => self.items.get_mut(&id).map(|r| &mut r.meta),
            Kind::Supplier => self.suppliers.get_mut(&id).map(|r| &mut r.meta),
            Kind::Part => self.parts.get_mut(&id).map(|r| &mut r.meta),
            Kind::PartInventory => self.inventories.get_mut(&id).map(|r| &mut r.meta),
            Kind::User | Kind::Organization => None,
        };
        if let Some(m) = meta {
            m.etag = etag;
            m.updated = now;
        }
    }

    // ----- attribute definitions and values -------------------------------------------------

    pub fn define_attribute(
        &mut self,
        scope: AttrScope,
        key: &str,
        attr_type: &str,
        options: Vec<String>,
    ) {
        let defs = self.definitions.entry(scope).or_default();
        match defs.iter_mut().find(|d| d.key == key) {
            Some(d) => {
                d.attr_type = attr_type.into();
                d.options = options;
            }
            None => defs.push(AttrDef {
                key: key.into(),
                attr_type: attr_type.into(),
                options,
            }),
        }
        self.org_etag = self.etag();
    }

    /// Org-settings upsert through the API: the organisation's etag guards it.
    pub fn define_attribute_guarded(&mut self, scope: AttrScope, input: &Value) -> Outcome<()> {
        let etag = input["etag"].as_str().unwrap_or_default();
        if etag != self.org_etag {
            return Err(Refusal::Conflict(format!(
                "Etag mismatch for organization {ORGANIZATION_ID}: the record was modified by someone else"
            )));
        }
        let key = input["key"].as_str().unwrap_or_default().to_string();
        let attr_type = input["type"].as_str().unwrap_or("STRING").to_string();
        let options = input["options"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.define_attribute(scope, &key, &attr_type, options);
        Ok(())
    }

    fn check_value(&self, scope: AttrScope, key: &str, value: &Value) -> Outcome<String> {
        let Some(def) = self
            .definitions
            .get(&scope)
            .and_then(|d| d.iter().find(|d| d.key == key))
        else {
            return invalid(format!(
                "Attribute '{key}' is not defined in the organization's {scope:?} attribute settings"
            ));
        };
        let ok = matches!(
            (def.attr_type.as_str(), value),
            (_, Value::Null)
                | ("STRING" | "DATETIME" | "SELECT", Value::String(_))
                | ("NUMBER", Value::Number(_))
                | ("BOOLEAN", Value::Bool(_))
                | ("MULTISELECT", Value::Array(_))
                | ("ION" | "FILE_ATTACHMENT", _)
        );
        if !ok {
            return invalid(format!(
                "Value {value} is not valid for attribute '{key}' of type {}",
                def.attr_type
            ));
        }
        if def.attr_type == "SELECT"
            && let Value::String(s) = value
            && !def.options.is_empty()
            && !def.options.contains(s)
        {
            return invalid(format!("'{s}' is not an option of attribute '{key}'"));
        }
        Ok(def.attr_type.clone())
    }

    /// Attribute values given at create time (`ExtensibleAttributeInput`: no etag).
    fn new_attributes(&mut self, scope: AttrScope, input: &Value) -> Outcome<Vec<AttrRow>> {
        let mut rows: Vec<AttrRow> = Vec::new();
        for a in input.as_array().into_iter().flatten() {
            let key = a["key"].as_str().unwrap_or_default();
            let value = a.get("value").cloned().unwrap_or(Value::Null);
            let attr_type = self.check_value(scope, key, &value)?;
            let meta = self.meta();
            rows.retain(|r| r.key != key);
            rows.push(AttrRow {
                key: key.into(),
                value,
                attr_type,
                etag: meta.etag,
                created: meta.created,
                updated: meta.updated,
            });
        }
        Ok(rows)
    }

    /// Attribute values given on update (`NestedExtensibleAttributeInput`): each etag must be
    /// the attribute row's `Etag`, or (first value for a key) the parent's `_etag`; the parent's
    /// etag is also accepted for an existing value, since which one ION wants is unverified.
    fn apply_attributes(
        &mut self,
        scope: AttrScope,
        current: &[AttrRow],
        parent_etag: &str,
        input: &Value,
    ) -> Outcome<Vec<AttrRow>> {
        let mut rows = current.to_vec();
        for a in input.as_array().into_iter().flatten() {
            let key = a["key"].as_str().unwrap_or_default();
            let etag = a["etag"].as_str().unwrap_or_default();
            let value = a.get("value").cloned().unwrap_or(Value::Null);
            let attr_type = self.check_value(scope, key, &value)?;
            let existing = rows.iter().position(|r| r.key == key);
            let expected_ok = match existing {
                Some(i) => etag == rows[i].etag || etag == parent_etag,
                None => etag == parent_etag,
            };
            if !expected_ok {
                return Err(Refusal::Conflict(format!(
                    "Etag mismatch for attribute '{key}': the record was modified by someone else"
                )));
            }
            let new_etag = self.etag();
            let now = self.clock.now();
            match existing {
                Some(i) => {
                    rows[i].value = value;
                    rows[i].etag = new_etag;
                    rows[i].updated = now;
                }
                None => rows.push(AttrRow {
                    key: key.into(),
                    value,
                    attr_type,
                    etag: new_etag,
                    created: now,
                    updated: now,
                }),
            }
        }
        Ok(rows)
    }

    // ----- reference data (test-facing) -----------------------------------------------------

    pub fn add_supplier(&mut self, name: &str) -> i64 {
        let id = self.id();
        let meta = self.meta();
        self.suppliers.insert(
            id,
            SupplierRow {
                meta,
                name: name.into(),
                attributes: Vec::new(),
            },
        );
        id
    }

    pub fn add_part(&mut self, part_number: &str, revision: &str) -> i64 {
        let id = self.id();
        let meta = self.meta();
        self.parts.insert(
            id,
            PartRow {
                meta,
                part_number: part_number.into(),
                revision: revision.into(),
            },
        );
        id
    }

    /// The latest revision of a part number: the newest row (highest id) with that number.
    pub fn is_latest_revision(&self, part_id: i64) -> bool {
        let Some(part) = self.parts.get(&part_id) else {
            return false;
        };
        self.parts
            .iter()
            .filter(|(_, p)| p.part_number == part.part_number)
            .map(|(id, _)| *id)
            .max()
            == Some(part_id)
    }

    // ----- purchase orders ------------------------------------------------------------------

    pub fn create_supplier(&mut self, input: &Value) -> Outcome<i64> {
        let Some(name) = input["name"].as_str().filter(|n| !n.trim().is_empty()) else {
            return invalid("Supplier name is required");
        };
        let attributes = self.new_attributes(AttrScope::Supplier, &input["attributes"])?;
        let id = self.add_supplier(name);
        if let Some(s) = self.suppliers.get_mut(&id) {
            s.attributes = attributes;
        }
        Ok(id)
    }

    pub fn create_purchase_order(&mut self, input: &Value) -> Outcome<i64> {
        let status = input["status"].as_str().unwrap_or("DRAFT").to_string();
        if status == "RECEIVED" {
            return invalid("A purchase order cannot be created as RECEIVED");
        }
        let supplier_id = input["supplierId"].as_i64();
        if let Some(s) = supplier_id
            && !self.suppliers.contains_key(&s)
        {
            return invalid(format!("Supplier {s} does not exist"));
        }
        let attributes = self.new_attributes(AttrScope::PurchaseOrder, &input["attributes"])?;
        let id = self.id();
        let meta = self.meta();
        self.purchase_orders.insert(
            id,
            PoRow {
                meta,
                status,
                supplier_id,
                currency_id: input["currencyId"].as_i64(),
                description: input["description"].as_str().map(str::to_string),
                ordered_at: input["orderedAt"].as_str().map(str::to_string),
                paid: input["paid"].as_bool().unwrap_or(false),
                attributes,
            },
        );
        Ok(id)
    }

    fn po(&self, id: i64) -> Outcome<&PoRow> {
        match self.purchase_orders.get(&id) {
            Some(p) => Ok(p),
            None => invalid(format!("PurchaseOrder {id} does not exist")),
        }
    }

    fn check_etag(kind: Kind, id: i64, given: &str, current: &str) -> Outcome<()> {
        if given != current {
            return Err(Refusal::Conflict(format!(
                "Etag mismatch for {} {id}: the record was modified by someone else",
                kind.type_name()
            )));
        }
        Ok(())
    }

    pub fn update_purchase_order(&mut self, input: &Value) -> Outcome<i64> {
        let id = input["id"].as_i64().unwrap_or_default();
        let po = self.po(id)?.clone();
        Self::check_etag(
            Kind::PurchaseOrder,
            id,
            input["etag"].as_str().unwrap_or_default(),
            &po.meta.etag,
        )?;
        let mut next = po.clone();
        if let Some(status) = input["status"].as_str() {
            next.status = status.into();
        }
        if let Some(s) = input.get("supplierId").filter(|v| !v.is_null()) {
            let s = s.as_i64().unwrap_or_default();
            if !self.suppliers.contains_key(&s) {
                return invalid(format!("Supplier {s} does not exist"));
            }
            next.supplier_id = Some(s);
        }
        if let Some(d) = input.get("orderedAt") {
            // Present and null clears it; absent leaves it.
            next.ordered_at = d.as_str().map(str::to_string);
        }
        if let Some(d) = input.get("description").filter(|v| !v.is_null()) {
            next.description = d.as_str().map(str::to_string);
        }
        if let Some(c) = input.get("currencyId").filter(|v| !v.is_null()) {
            next.currency_id = c.as_i64();
        }
        if let Some(p) = input["paid"].as_bool() {
            next.paid = p;
        }
        if !input["attributes"].is_null() {
            next.attributes = self.apply_attributes(
                AttrScope::PurchaseOrder,
                &po.attributes,
                &po.meta.etag,
                &input["attributes"],
            )?;
        }
        let status_changed = next.status != po.status;
        self.purchase_orders.insert(id, next);
        self.touch(Kind::PurchaseOrder, id);
        if status_changed {
            // Line statuses are stored rows in ION, recalculated here: their etags move too.
            let lines: Vec<i64> = self.lines_of(id).map(|(l, _)| *l).collect();
            for l in lines {
                self.touch(Kind::PurchaseOrderLine, l);
            }
            self.roll_up(id);
        }
        Ok(id)
    }

    fn lines_of(&self, po_id: i64) -> impl Iterator<Item = (&i64, &LineRow)> {
        self.lines_by_po
            .get(&po_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.lines.get_key_value(id))
    }

    /// The ids of a PO's lines, ascending.
    pub fn line_ids_of(&self, po_id: i64) -> Vec<i64> {
        self.lines_of(po_id).map(|(id, _)| *id).collect()
    }

    fn insert_line(&mut self, id: i64, row: LineRow) {
        self.remove_line(id);
        self.lines_by_po
            .entry(row.purchase_order_id)
            .or_default()
            .insert(id);
        self.lines.insert(id, row);
    }

    fn remove_line(&mut self, id: i64) {
        if let Some(old) = self.lines.remove(&id)
            && let Some(set) = self.lines_by_po.get_mut(&old.purchase_order_id)
        {
            set.remove(&id);
            if set.is_empty() {
                self.lines_by_po.remove(&old.purchase_order_id);
            }
        }
    }

    pub fn received_quantity(&self, line_id: i64) -> f64 {
        self.items
            .values()
            .filter(|i| i.purchase_order_line_id == Some(line_id))
            .fold(0.0, |sum, i| sum + i.quantity)
    }

    fn has_received_items(&self, line_id: i64) -> bool {
        self.items
            .values()
            .any(|i| i.purchase_order_line_id == Some(line_id))
    }

    /// Calculated line status (July 2025): DRAFT until the PO is ordered, then ORDERED, RECEIVED
    /// once fully received; CANCELED is the one stored choice.
    pub fn line_status(&self, line_id: i64) -> &'static str {
        let Some(line) = self.lines.get(&line_id) else {
            return "DRAFT";
        };
        if line.canceled {
            return "CANCELED";
        }
        let po_status = self
            .purchase_orders
            .get(&line.purchase_order_id)
            .map(|p| p.status.as_str())
            .unwrap_or("DRAFT");
        match po_status {
            "ORDERED" | "RECEIVED" => {
                if line.quantity > 0.0 && self.received_quantity(line_id) >= line.quantity {
                    "RECEIVED"
                } else {
                    "ORDERED"
                }
            }
            "CANCELED" => "CANCELED",
            _ => "DRAFT",
        }
    }

    /// PO status roll-up: an ORDERED PO whose every live line is received (and canceled lines
    /// aside, at least one received) becomes RECEIVED; a RECEIVED PO that no longer is goes back
    /// to ORDERED (a receipt item was edited or deleted).
    fn roll_up(&mut self, po_id: i64) {
        let Some(status) = self.purchase_orders.get(&po_id).map(|p| p.status.clone()) else {
            return;
        };
        let live: Vec<i64> = self
            .lines_of(po_id)
            .filter(|(_, l)| !l.canceled)
            .map(|(id, _)| *id)
            .collect();
        let all_received =
            !live.is_empty() && live.iter().all(|id| self.line_status(*id) == "RECEIVED");
        let next = match (status.as_str(), all_received) {
            ("ORDERED", true) => "RECEIVED",
            ("RECEIVED", false) => "ORDERED",
            _ => return,
        };
        if let Some(p) = self.purchase_orders.get_mut(&po_id) {
            p.status = next.into();
        }
        self.touch(Kind::PurchaseOrder, po_id);
    }

    pub fn delete_purchase_order(&mut self, id: i64, etag: &str) -> Outcome<i64> {
        let po = self.po(id)?;
        Self::check_etag(Kind::PurchaseOrder, id, etag, &po.meta.etag)?;
        let lines: Vec<i64> = self.lines_of(id).map(|(l, _)| *l).collect();
        if lines.iter().any(|l| self.has_received_items(*l)) {
            return invalid(format!(
                "PurchaseOrder {id} cannot be deleted: inventory has been received against its lines"
            ));
        }
        for l in lines {
            self.remove_line(l);
        }
        self.purchase_orders.remove(&id);
        Ok(id)
    }

    pub fn create_line(&mut self, input: &Value) -> Outcome<i64> {
        let po_id = input["purchaseOrderId"].as_i64().unwrap_or_default();
        let po_status = self.po(po_id)?.status.clone();
        if po_status != "DRAFT" {
            return invalid(format!(
                "Purchase order lines can only be added while the purchase order is DRAFT (PurchaseOrder {po_id} is {po_status})"
            ));
        }
        let part_id = input["partId"].as_i64();
        if let Some(p) = part_id
            && !self.parts.contains_key(&p)
        {
            return invalid(format!("Part {p} does not exist"));
        }
        let attributes = self.new_attributes(AttrScope::PurchaseOrderLine, &input["attributes"])?;
        let id = self.id();
        let meta = self.meta();
        let position = input["position"]
            .as_i64()
            .unwrap_or_else(|| self.lines_of(po_id).count() as i64 + 1);
        self.insert_line(
            id,
            LineRow {
                meta,
                purchase_order_id: po_id,
                part_id,
                quantity: input["quantity"].as_f64().unwrap_or(0.0),
                cost: input["cost"].as_f64(),
                description: input["description"].as_str().map(str::to_string),
                position: Some(position),
                need_date: input["needDate"].as_str().map(str::to_string),
                estimated_arrival_date: input["estimatedArrivalDate"].as_str().map(str::to_string),
                paid: input["paid"].as_bool().unwrap_or(false),
                canceled: false,
                attributes,
            },
        );
        self.touch(Kind::PurchaseOrder, po_id);
        Ok(id)
    }

    pub fn update_line(&mut self, input: &Value) -> Outcome<i64> {
        let id = input["id"].as_i64().unwrap_or_default();
        let Some(line) = self.lines.get(&id).cloned() else {
            return invalid(format!("PurchaseOrderLine {id} does not exist"));
        };
        Self::check_etag(
            Kind::PurchaseOrderLine,
            id,
            input["etag"].as_str().unwrap_or_default(),
            &line.meta.etag,
        )?;
        let po_status = self.po(line.purchase_order_id)?.status.clone();
        let draft = po_status == "DRAFT";
        const DRAFT_ONLY: [&str; 7] = [
            "partId",
            "purchaseOrderId",
            "quantity",
            "cost",
            "description",
            "needDate",
            "position",
        ];
        if !draft && let Some(field) = DRAFT_ONLY.iter().find(|f| !input[**f].is_null()) {
            return invalid(format!(
                "Purchase order line field '{field}' can only be edited while the purchase order is DRAFT (PurchaseOrder {} is {po_status})",
                line.purchase_order_id
            ));
        }
        let mut next = line.clone();
        if let Some(status) = input["status"].as_str() {
            match status {
                "CANCELED" => next.canceled = true,
                "DRAFT" if draft && line.canceled => next.canceled = false,
                other => {
                    return invalid(format!(
                        "Purchase order line status is calculated; the only status that can be set is CANCELED (got {other})"
                    ));
                }
            }
        }
        if let Some(p) = input["partId"].as_i64() {
            if !self.parts.contains_key(&p) {
                return invalid(format!("Part {p} does not exist"));
            }
            next.part_id = Some(p);
        }
        if let Some(q) = input["quantity"].as_f64() {
            next.quantity = q;
        }
        if let Some(c) = input["cost"].as_f64() {
            next.cost = Some(c);
        }
        if let Some(d) = input["description"].as_str() {
            next.description = Some(d.into());
        }
        // Present and null clears a date; absent leaves it.
        if let Some(d) = input.get("needDate") {
            next.need_date = d.as_str().map(str::to_string);
        }
        if let Some(d) = input.get("estimatedArrivalDate") {
            next.estimated_arrival_date = d.as_str().map(str::to_string);
        }
        if let Some(p) = input["paid"].as_bool() {
            next.paid = p;
        }
        if !input["attributes"].is_null() {
            next.attributes = self.apply_attributes(
                AttrScope::PurchaseOrderLine,
                &line.attributes,
                &line.meta.etag,
                &input["attributes"],
            )?;
        }
        let po_id = line.purchase_order_id;
        self.insert_line(id, next);
        self.touch(Kind::PurchaseOrderLine, id);
        self.touch(Kind::PurchaseOrder, po_id);
        self.roll_up(po_id);
        Ok(id)
    }

    pub fn delete_line(&mut self, id: i64, etag: &str) -> Outcome<i64> {
        let Some(line) = self.lines.get(&id) else {
            return invalid(format!("PurchaseOrderLine {id} does not exist"));
        };
        Self::check_etag(Kind::PurchaseOrderLine, id, etag, &line.meta.etag)?;
        let po_id = line.purchase_order_id;
        if self.has_received_items(id) {
            return invalid(format!(
                "PurchaseOrderLine {id} cannot be deleted: inventory has been received against it"
            ));
        }
        let po_status = self.po(po_id)?.status.clone();
        if po_status != "DRAFT" {
            return invalid(format!(
                "Purchase order lines can only be deleted while the purchase order is DRAFT (PurchaseOrder {po_id} is {po_status})"
            ));
        }
        self.remove_line(id);
        self.touch(Kind::PurchaseOrder, po_id);
        Ok(id)
    }

    // ----- receiving (test-facing: what "Save Receipt" in the UI does) ----------------------

    fn check_receivable(&self, line_id: i64) -> Outcome<i64> {
        let Some(line) = self.lines.get(&line_id) else {
            return invalid(format!("PurchaseOrderLine {line_id} does not exist"));
        };
        if line.canceled {
            return invalid(format!("PurchaseOrderLine {line_id} is canceled"));
        }
        let status = &self.po(line.purchase_order_id)?.status;
        if status != "ORDERED" && status != "RECEIVED" {
            return invalid(format!(
                "Only ORDERED purchase orders can be received (PurchaseOrder {} is {status})",
                line.purchase_order_id
            ));
        }
        Ok(line.purchase_order_id)
    }

    /// A new receipt with one item per `(line, quantity)`, part inventory for part lines.
    pub fn receive(&mut self, items: &[(i64, f64)]) -> Outcome<Received> {
        for (line, _) in items {
            self.check_receivable(*line)?;
        }
        let receipt_id = self.id();
        let meta = self.meta();
        let received_at = meta.created;
        self.receipts.insert(
            receipt_id,
            ReceiptRow {
                meta,
                received_at,
                received_by_id: USER_ID,
            },
        );
        let item_ids = self.add_items(receipt_id, items)?;
        Ok(Received {
            receipt_id,
            item_ids,
        })
    }

    /// More items on an existing receipt.
    pub fn add_items(&mut self, receipt_id: i64, items: &[(i64, f64)]) -> Outcome<Vec<i64>> {
        if !self.receipts.contains_key(&receipt_id) {
            return invalid(format!("Receipt {receipt_id} does not exist"));
        }
        let mut pos = Vec::new();
        for (line, _) in items {
            pos.push(self.check_receivable(*line)?);
        }
        let mut ids = Vec::new();
        for (line_id, quantity) in items {
            let part_id = self.lines.get(line_id).and_then(|l| l.part_id);
            let inventory = match part_id {
                Some(part_id) => {
                    let id = self.id();
                    let meta = self.meta();
                    self.inventories.insert(
                        id,
                        InventoryRow {
                            meta,
                            part_id,
                            quantity: *quantity,
                            location_id: None,
                        },
                    );
                    Some(id)
                }
                None => None,
            };
            let id = self.id();
            let meta = self.meta();
            self.items.insert(
                id,
                ItemRow {
                    meta,
                    receipt_id,
                    purchase_order_line_id: Some(*line_id),
                    part_inventory_id: inventory,
                    quantity: *quantity,
                },
            );
            self.touch(Kind::PurchaseOrderLine, *line_id);
            ids.push(id);
        }
        self.touch(Kind::Receipt, receipt_id);
        pos.sort_unstable();
        pos.dedup();
        for po in pos {
            self.roll_up(po);
            self.touch(Kind::PurchaseOrder, po);
        }
        Ok(ids)
    }

    fn after_item_change(&mut self, line_id: Option<i64>, receipt_id: i64) {
        self.touch(Kind::Receipt, receipt_id);
        if let Some(line_id) = line_id {
            self.touch(Kind::PurchaseOrderLine, line_id);
            if let Some(po) = self.lines.get(&line_id).map(|l| l.purchase_order_id) {
                self.roll_up(po);
                self.touch(Kind::PurchaseOrder, po);
            }
        }
    }

    pub fn edit_item_quantity(&mut self, item_id: i64, quantity: f64) -> Outcome<()> {
        let Some(item) = self.items.get_mut(&item_id) else {
            return invalid(format!("ReceiptItem {item_id} does not exist"));
        };
        item.quantity = quantity;
        let (line, receipt, inventory) = (
            item.purchase_order_line_id,
            item.receipt_id,
            item.part_inventory_id,
        );
        if let Some(inv) = inventory.and_then(|i| self.inventories.get_mut(&i)) {
            inv.quantity = quantity;
        }
        self.touch(Kind::ReceiptItem, item_id);
        self.after_item_change(line, receipt);
        Ok(())
    }

    pub fn delete_item(&mut self, item_id: i64) -> Outcome<()> {
        let Some(item) = self.items.remove(&item_id) else {
            return invalid(format!("ReceiptItem {item_id} does not exist"));
        };
        if let Some(inv) = item.part_inventory_id {
            self.inventories.remove(&inv);
        }
        self.after_item_change(item.purchase_order_line_id, item.receipt_id);
        Ok(())
    }

    pub fn delete_receipt(&mut self, receipt_id: i64) -> Outcome<()> {
        let items: Vec<i64> = self
            .items
            .iter()
            .filter(|(_, i)| i.receipt_id == receipt_id)
            .map(|(id, _)| *id)
            .collect();
        for i in items {
            self.delete_item(i)?;
        }
        if self.receipts.remove(&receipt_id).is_none() {
            return invalid(format!("Receipt {receipt_id} does not exist"));
        }
        Ok(())
    }

    // ----- rows as the schema shows them ----------------------------------------------------

    fn attrs_json(rows: &[AttrRow], parent_field: &str, parent_id: i64) -> Value {
        Value::Array(
            rows.iter()
                .map(|a| {
                    let fields = ATTR_FIELDS.iter().chain([&parent_field]);
                    Value::Object(
                        fields
                            .filter_map(|f| {
                                Self::attr_field(a, parent_field, parent_id, f)
                                    .map(|v| (f.to_string(), v))
                            })
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    /// One field of an attribute row as answers show it (the one definition: `attrs_json`
    /// collects it). Filters read single fields through it instead of building every row's JSON,
    /// timestamps included, for every PO they test.
    pub fn attr_field(
        row: &AttrRow,
        parent_field: &str,
        parent_id: i64,
        name: &str,
    ) -> Option<Value> {
        Some(match name {
            "id" => format!("{parent_id}:{}", row.key).into(),
            "key" => row.key.clone().into(),
            "value" => row.value.clone(),
            "type" => row.attr_type.clone().into(),
            "Etag" => row.etag.clone().into(),
            "Created" => fmt_time(row.created).into(),
            "Updated" => fmt_time(row.updated).into(),
            n if n == parent_field => parent_id.into(),
            _ => return None,
        })
    }

    /// A supplier's, PO's or line's attribute rows and the name of their parent-id field.
    pub fn attr_rows(&self, kind: Kind, id: i64) -> Option<(&[AttrRow], &'static str)> {
        match kind {
            Kind::Supplier => self
                .suppliers
                .get(&id)
                .map(|s| (&s.attributes[..], "supplierId")),
            Kind::PurchaseOrder => self
                .purchase_orders
                .get(&id)
                .map(|p| (&p.attributes[..], "purchaseOrderId")),
            Kind::PurchaseOrderLine => self
                .lines
                .get(&id)
                .map(|l| (&l.attributes[..], "purchaseOrderLineId")),
            _ => None,
        }
    }

    fn defs_json(&self, scope: AttrScope) -> Value {
        let defs: Vec<Value> = self
            .definitions
            .get(&scope)
            .into_iter()
            .flatten()
            .map(|d| json!({"key": d.key, "type": d.attr_type, "options": d.options, "allowedIonType": null}))
            .collect();
        json!({ "attributes": defs })
    }

    /// The scalar fields (and nested attribute lists) of one row, keyed by schema field names.
    pub fn fields(&self, kind: Kind, id: i64) -> Option<Map<String, Value>> {
        fn meta(m: &Meta, id: i64) -> Map<String, Value> {
            let mut map = Map::new();
            map.insert("id".into(), id.into());
            map.insert("_etag".into(), m.etag.clone().into());
            map.insert("_created".into(), fmt_time(m.created).into());
            map.insert("_updated".into(), fmt_time(m.updated).into());
            map
        }
        let (mut map, extra) = match kind {
            Kind::User => (
                Map::new(),
                json!({"id": USER_ID, "name": "ION API user", "email": "api@example.com", "organizationId": ORGANIZATION_ID}),
            ),
            Kind::Organization => (
                Map::new(),
                json!({
                    "id": ORGANIZATION_ID,
                    "_etag": self.org_etag,
                    "name": self.org_name,
                    "settings": {
                        "purchaseOrders": self.defs_json(AttrScope::PurchaseOrder),
                        "purchaseOrderLines": self.defs_json(AttrScope::PurchaseOrderLine),
                        "receipts": self.defs_json(AttrScope::Receipt),
                        "suppliers": self.defs_json(AttrScope::Supplier),
                        "parts": self.defs_json(AttrScope::Part),
                    }
                }),
            ),
            Kind::Supplier => {
                let s = self.suppliers.get(&id)?;
                (
                    meta(&s.meta, id),
                    json!({"name": s.name, "attributes": Self::attrs_json(&s.attributes, "supplierId", id)}),
                )
            }
            Kind::Part => {
                let p = self.parts.get(&id)?;
                (
                    meta(&p.meta, id),
                    json!({
                        "partNumber": p.part_number,
                        "revision": p.revision,
                        "isLatestRevision": self.is_latest_revision(id),
                        "partType": "PART",
                        "trackingType": null,
                    }),
                )
            }
            // The one definition of these rows' fields is `quick_field`.
            Kind::PurchaseOrder | Kind::PurchaseOrderLine => {
                let names = match kind {
                    Kind::PurchaseOrder => PO_FIELDS.as_slice(),
                    _ => LINE_FIELDS.as_slice(),
                };
                let mut map = Map::new();
                for name in names {
                    map.insert((*name).into(), self.quick_field(kind, id, name)?);
                }
                (map, Value::Null)
            }
            Kind::Receipt => {
                let r = self.receipts.get(&id)?;
                (
                    meta(&r.meta, id),
                    json!({"receivedAt": fmt_time(r.received_at), "receivedById": r.received_by_id, "attributes": []}),
                )
            }
            Kind::ReceiptItem => {
                let i = self.items.get(&id)?;
                (
                    meta(&i.meta, id),
                    json!({
                        "receiptId": i.receipt_id,
                        "purchaseOrderLineId": i.purchase_order_line_id,
                        "partInventoryId": i.part_inventory_id,
                        "quantity": i.quantity,
                    }),
                )
            }
            Kind::PartInventory => {
                let i = self.inventories.get(&id)?;
                (
                    meta(&i.meta, id),
                    json!({
                        "partId": i.part_id,
                        "quantity": i.quantity,
                        "locationId": i.location_id,
                        "status": "AVAILABLE",
                        "lotNumber": null,
                        "serialNumber": null,
                    }),
                )
            }
        };
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
        Some(map)
    }

    /// Row-to-row relations by field name; `None` when `field` is not a relation of `kind`.
    pub fn relation(&self, kind: Kind, id: i64, field: &str) -> Option<Related> {
        use Related::{Many, One};
        let one = |k: Kind, target: Option<i64>| One(target.map(|t| (k, t)));
        Some(match (kind, field) {
            (Kind::User, "organization") => one(Kind::Organization, Some(ORGANIZATION_ID)),
            (Kind::PurchaseOrder, "purchaseOrderLines") => Many(
                Kind::PurchaseOrderLine,
                self.lines_of(id).map(|(l, _)| *l).collect(),
            ),
            // Units of measure are not simulated: parts have none.
            (Kind::Part, "unitOfMeasure") => One(None),
            // Currencies are not simulated: always null.
            (Kind::PurchaseOrder, "currency") => One(None),
            (Kind::PurchaseOrder, "supplier") => one(
                Kind::Supplier,
                self.purchase_orders.get(&id).and_then(|p| p.supplier_id),
            ),
            (Kind::PurchaseOrderLine, "purchaseOrder") => one(
                Kind::PurchaseOrder,
                self.lines.get(&id).map(|l| l.purchase_order_id),
            ),
            (Kind::PurchaseOrderLine, "part") => {
                one(Kind::Part, self.lines.get(&id).and_then(|l| l.part_id))
            }
            (Kind::PurchaseOrderLine, "receiptItems") => Many(
                Kind::ReceiptItem,
                self.items
                    .iter()
                    .filter(|(_, i)| i.purchase_order_line_id == Some(id))
                    .map(|(i, _)| *i)
                    .collect(),
            ),
            (Kind::Receipt, "receiptItems") => Many(
                Kind::ReceiptItem,
                self.items
                    .iter()
                    .filter(|(_, i)| i.receipt_id == id)
                    .map(|(i, _)| *i)
                    .collect(),
            ),
            (Kind::Receipt, "receivedBy") => one(Kind::User, Some(USER_ID)),
            (Kind::ReceiptItem, "receipt") => {
                one(Kind::Receipt, self.items.get(&id).map(|i| i.receipt_id))
            }
            (Kind::ReceiptItem, "purchaseOrderLine") => one(
                Kind::PurchaseOrderLine,
                self.items.get(&id).and_then(|i| i.purchase_order_line_id),
            ),
            (Kind::ReceiptItem, "partInventory") => one(
                Kind::PartInventory,
                self.items.get(&id).and_then(|i| i.part_inventory_id),
            ),
            (Kind::PartInventory, "part") => {
                one(Kind::Part, self.inventories.get(&id).map(|i| i.part_id))
            }
            _ => return None,
        })
    }

    /// Ids of all rows of a kind (for list queries).
    /// Whether a row exists (without computing its fields).
    pub fn exists(&self, kind: Kind, id: i64) -> bool {
        match kind {
            Kind::Supplier => self.suppliers.contains_key(&id),
            Kind::Part => self.parts.contains_key(&id),
            Kind::PurchaseOrder => self.purchase_orders.contains_key(&id),
            Kind::PurchaseOrderLine => self.lines.contains_key(&id),
            Kind::Receipt => self.receipts.contains_key(&id),
            Kind::ReceiptItem => self.items.contains_key(&id),
            Kind::PartInventory => self.inventories.contains_key(&id),
            Kind::User => id == USER_ID,
            Kind::Organization => id == ORGANIZATION_ID,
        }
    }

    /// One field of a purchase order or line, computed alone; `None` for another kind, a
    /// missing row or a name not in [`PO_FIELDS`] / [`LINE_FIELDS`]. The definition of those rows'
    /// fields ([`State::fields`] collects them): answers select a few fields of many rows (a PO's
    /// stamp after each line write), and building every field of every row was most of the
    /// simulator's work.
    pub fn quick_field(&self, kind: Kind, id: i64, name: &str) -> Option<Value> {
        match kind {
            Kind::PurchaseOrder => {
                let p = self.purchase_orders.get(&id)?;
                Some(match name {
                    "id" => id.into(),
                    "_etag" => p.meta.etag.clone().into(),
                    "_created" => fmt_time(p.meta.created).into(),
                    "_updated" => fmt_time(p.meta.updated).into(),
                    "status" => p.status.clone().into(),
                    "supplierId" => p.supplier_id.into(),
                    "description" => p.description.clone().into(),
                    "paid" => p.paid.into(),
                    "isOpen" => (!matches!(p.status.as_str(), "CANCELED" | "RECEIVED")).into(),
                    "orderedAt" => p.ordered_at.clone().into(),
                    // Not in ION's PO inputs: nothing sets them.
                    "needDate" | "estimatedArrivalDate" => Value::Null,
                    "currencyId" => p.currency_id.into(),
                    "editable" => (p.status == "DRAFT").to_string().into(),
                    "attributes" => Self::attrs_json(&p.attributes, "purchaseOrderId", id),
                    _ => return None,
                })
            }
            Kind::PurchaseOrderLine => {
                let l = self.lines.get(&id)?;
                Some(match name {
                    "id" => id.into(),
                    "_etag" => l.meta.etag.clone().into(),
                    "_created" => fmt_time(l.meta.created).into(),
                    "_updated" => fmt_time(l.meta.updated).into(),
                    "purchaseOrderId" => l.purchase_order_id.into(),
                    "partId" => l.part_id.into(),
                    "status" => self.line_status(id).into(),
                    "isOpen" => (!matches!(self.line_status(id), "CANCELED" | "RECEIVED")).into(),
                    "quantity" => l.quantity.into(),
                    "cost" => l.cost.into(),
                    "receivedQuantity" | "inventoryQuantity" => self.received_quantity(id).into(),
                    "description" => l.description.clone().into(),
                    "position" => l.position.into(),
                    "needDate" => l.need_date.clone().into(),
                    "estimatedArrivalDate" => l.estimated_arrival_date.clone().into(),
                    "paid" => l.paid.into(),
                    "attributes" => Self::attrs_json(&l.attributes, "purchaseOrderLineId", id),
                    _ => return None,
                })
            }
            _ => None,
        }
    }

    pub fn ids(&self, kind: Kind) -> Vec<i64> {
        match kind {
            Kind::Supplier => self.suppliers.keys().copied().collect(),
            Kind::Part => self.parts.keys().copied().collect(),
            Kind::PurchaseOrder => self.purchase_orders.keys().copied().collect(),
            Kind::PurchaseOrderLine => self.lines.keys().copied().collect(),
            Kind::Receipt => self.receipts.keys().copied().collect(),
            Kind::ReceiptItem => self.items.keys().copied().collect(),
            Kind::PartInventory => self.inventories.keys().copied().collect(),
            Kind::User => vec![USER_ID],
            Kind::Organization => vec![ORGANIZATION_ID],
        }
    }
}

/// A relation's target(s).
#[derive(Debug, Clone)]
pub enum Related {
    One(Option<(Kind, i64)>),
    Many(Kind, Vec<i64>),
}

/// `format!("{:032x}", v)` without the formatting machinery: a created line takes four etags
/// (itself, two attributes, its PO), and formatting them was 3% of the sync benchmark's CPU,
/// all of it under the state lock.
fn etag_text(v: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(32);
    s.push_str("0000000000000000");
    for shift in (0..16).rev() {
        s.push(char::from(HEX[((v >> (shift * 4)) & 0xf) as usize]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn etags_are_32_hex_digits_as_format_writes_them() {
        for v in [0, 1, 0xf, 0x9e37_79b9_7f4a_7c15, u64::MAX, 1 << 63] {
            assert_eq!(super::etag_text(v), format!("{v:032x}"));
        }
    }

    #[test]
    fn po_and_line_rows_carry_their_fields() {
        let mut st = State::new("test");
        st.define_attribute(AttrScope::PurchaseOrder, "ref", "STRING", Vec::new());
        st.define_attribute(AttrScope::PurchaseOrderLine, "n", "NUMBER", Vec::new());
        let part = st.add_part("P-1", "A");
        let po = st
            .create_purchase_order(&json!({
                "status": "DRAFT",
                "description": "d",
                "orderedAt": "2026-02-02T00:00:00Z",
                "attributes": [{"key": "ref", "value": "x"}],
            }))
            .expect("PO");
        let line = st
            .create_line(&json!({
                "purchaseOrderId": po,
                "partId": part,
                "quantity": 3.0,
                "cost": 1.5,
                "attributes": [{"key": "n", "value": 7}],
            }))
            .expect("line");
        let po_row = |st: &State| st.fields(Kind::PurchaseOrder, po).expect("PO row");
        let line_row = |st: &State| st.fields(Kind::PurchaseOrderLine, line).expect("line row");
        // Every listed field is present, and nothing else.
        assert_eq!(po_row(&st).len(), PO_FIELDS.len());
        assert_eq!(line_row(&st).len(), LINE_FIELDS.len());
        let (p, l) = (po_row(&st), line_row(&st));
        assert_eq!(
            (
                &p["status"],
                &p["isOpen"],
                &p["editable"],
                &p["description"]
            ),
            (&json!("DRAFT"), &json!(true), &json!("true"), &json!("d"))
        );
        assert_eq!(p["orderedAt"], json!("2026-02-02T00:00:00Z"));
        assert_eq!(p["attributes"][0]["value"], json!("x"));
        assert_eq!(
            (
                &l["status"],
                &l["quantity"],
                &l["cost"],
                &l["receivedQuantity"]
            ),
            (&json!("DRAFT"), &json!(3.0), &json!(1.5), &json!(0.0))
        );
        assert_eq!(l["attributes"][0]["value"], json!(7));
        assert_eq!(l["purchaseOrderId"], json!(po));

        // Ordered, then fully received: the calculated fields follow.
        let etag = st.purchase_orders[&po].meta.etag.clone();
        st.update_purchase_order(&json!({"id": po, "etag": etag, "status": "ORDERED"}))
            .expect("ordered");
        st.receive(&[(line, 3.0)]).expect("received");
        let (p, l) = (po_row(&st), line_row(&st));
        // The PO rolls up from its (only) line: fully received.
        assert_eq!(
            (&p["status"], &p["editable"], &p["isOpen"]),
            (&json!("RECEIVED"), &json!("false"), &json!(false))
        );
        assert_eq!(
            (
                &l["status"],
                &l["isOpen"],
                &l["receivedQuantity"],
                &l["inventoryQuantity"]
            ),
            (&json!("RECEIVED"), &json!(false), &json!(3.0), &json!(3.0))
        );
        // One field alone is the same value as in the whole row.
        for name in PO_FIELDS {
            assert_eq!(
                st.quick_field(Kind::PurchaseOrder, po, name).as_ref(),
                p.get(name)
            );
        }
        assert_eq!(st.quick_field(Kind::PurchaseOrder, po, "noSuchField"), None);
    }

    #[test]
    fn fmt_time_matches_the_isoformat_pattern() {
        for (secs, nanos) in [
            (0, 0),
            (1_700_000_000, 123_456_789),
            (4_102_444_799, 999_999_999),
        ] {
            let t = DateTime::from_timestamp(secs, nanos).expect("valid time");
            assert_eq!(
                fmt_time(t),
                t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
            );
        }
    }
}
