//! Receiving, test-facing: what "Save Receipt" in the ION UI does (a receipt, its items, part
//! inventory for part lines), and a person editing or deleting receipt items afterwards. The
//! daemon never receives; it reads what was received.

use super::{InventoryRow, ItemRow, Kind, Outcome, ReceiptRow, State, USER_ID, invalid};

/// What a receive produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub receipt_id: i64,
    pub item_ids: Vec<i64>,
}

impl State {
    pub fn received_quantity(&self, line_id: i64) -> f64 {
        self.items
            .values()
            .filter(|i| i.purchase_order_line_id == Some(line_id))
            .fold(0.0, |sum, i| sum + i.quantity)
    }

    pub(super) fn has_received_items(&self, line_id: i64) -> bool {
        self.items
            .values()
            .any(|i| i.purchase_order_line_id == Some(line_id))
    }

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
}
