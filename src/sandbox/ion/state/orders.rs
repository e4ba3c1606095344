//! Purchase orders: create, update (etag-guarded; a status change moves the lines' etags and
//! may roll the PO up) and delete (refused once anything was received against its lines).

use serde_json::Value;

use super::{AttrScope, Kind, Outcome, PoRow, State, invalid};

impl State {
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

    pub(super) fn po(&self, id: i64) -> Outcome<&PoRow> {
        match self.purchase_orders.get(&id) {
            Some(p) => Ok(p),
            None => invalid(format!("PurchaseOrder {id} does not exist")),
        }
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
}
