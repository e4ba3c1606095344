//! Rows as the schema shows them: each row's scalar fields by schema name, its relations to
//! other rows, and the lists behind list queries. The executor reads rows only through these.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{AttrScope, Kind, Meta, ORGANIZATION_ID, State, USER_ID};

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

impl State {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
