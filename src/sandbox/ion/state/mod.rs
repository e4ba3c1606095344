//! The simulator's in-memory ION: rows, the rules real ION enforces on them, and the
//! test-facing actions of a person in the ION UI (receiving, editing receipts).
//!
//! Rules enforced, as ION enforces them: every update/delete carries the row's current `_etag`;
//! attribute values need a definition of the right type; line fields change only while the PO
//! is DRAFT and the only line status a client sets is CANCELED; nothing with received items is
//! deleted; line statuses are calculated and the PO rolls up to RECEIVED once every live line is
//! received.
//!
//! One `State`, its methods grouped by what they are about: `attributes` (definitions and
//! values), `catalog` (suppliers and parts), `orders` (purchase orders), `lines` (their
//! lines and the calculated statuses), `receiving` (receipts, as a person saves them in the
//! UI) and `rows` (rows as the schema shows them, for the executor).

mod attributes;
mod catalog;
mod lines;
mod orders;
mod receiving;
mod rows;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use receiving::Received;
pub use rows::{LINE_FIELDS, PO_FIELDS, Related, fmt_time};

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
    /// Read-only outside this module: writes go through `insert_line` / `remove_line`
    /// (`lines.rs`), which keep `lines_by_po` in step.
    pub lines: BTreeMap<i64, LineRow>,
    /// Line ids per PO: an index, so a PO's lines cost O(its lines), not O(all lines) (the
    /// benchmark creates 20,000 lines and the simulator must not be the bottleneck).
    lines_by_po: BTreeMap<i64, BTreeSet<i64>>,
    pub receipts: BTreeMap<i64, ReceiptRow>,
    pub items: BTreeMap<i64, ItemRow>,
    pub inventories: BTreeMap<i64, InventoryRow>,
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

    fn check_etag(kind: Kind, id: i64, given: &str, current: &str) -> Outcome<()> {
        if given != current {
            return Err(Refusal::Conflict(format!(
                "Etag mismatch for {} {id}: the record was modified by someone else",
                kind.type_name()
            )));
        }
        Ok(())
    }
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
    #[test]
    fn etags_are_32_hex_digits_as_format_writes_them() {
        for v in [0, 1, 0xf, 0x9e37_79b9_7f4a_7c15, u64::MAX, 1 << 63] {
            assert_eq!(super::etag_text(v), format!("{v:032x}"));
        }
    }
}
