//! Purchase-order lines: the per-PO index, the calculated line status and PO roll-up, and the
//! client's line writes (fields change only while the PO is DRAFT; the one status a client sets
//! is CANCELED).

use serde_json::Value;

use super::{AttrScope, Kind, LineRow, Outcome, State, invalid};

impl State {
    pub(super) fn lines_of(&self, po_id: i64) -> impl Iterator<Item = (&i64, &LineRow)> {
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

    pub(super) fn insert_line(&mut self, id: i64, row: LineRow) {
        self.remove_line(id);
        self.lines_by_po
            .entry(row.purchase_order_id)
            .or_default()
            .insert(id);
        self.lines.insert(id, row);
    }

    pub(super) fn remove_line(&mut self, id: i64) {
        if let Some(old) = self.lines.remove(&id)
            && let Some(set) = self.lines_by_po.get_mut(&old.purchase_order_id)
        {
            set.remove(&id);
            if set.is_empty() {
                self.lines_by_po.remove(&old.purchase_order_id);
            }
        }
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
    pub(super) fn roll_up(&mut self, po_id: i64) {
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
}
