//! Reference data: suppliers (created through the API or by tests) and parts (created by tests,
//! as a person would in the ION UI; the daemon only looks them up).

use serde_json::Value;

use super::{AttrScope, Outcome, PartRow, State, SupplierRow, invalid};

impl State {
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
}
