//! Attribute definitions (the organisation's settings) and attribute values on suppliers,
//! purchase orders and lines: a value needs a definition of the right type, and an update
//! carries the etag of the value it replaces.

use serde_json::{Value, json};

use super::{
    AttrDef, AttrRow, AttrScope, Kind, ORGANIZATION_ID, Outcome, Refusal, State, fmt_time, invalid,
};

/// The fields of an attribute row besides its parent's id (see [`State::attr_field`]).
const ATTR_FIELDS: [&str; 7] = ["id", "key", "value", "type", "Etag", "Created", "Updated"];

impl State {
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
    pub(super) fn new_attributes(
        &mut self,
        scope: AttrScope,
        input: &Value,
    ) -> Outcome<Vec<AttrRow>> {
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
    pub(super) fn apply_attributes(
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

    // ----- attribute rows as the schema shows them -------------------------------------------

    pub(super) fn attrs_json(rows: &[AttrRow], parent_field: &str, parent_id: i64) -> Value {
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

    pub(super) fn defs_json(&self, scope: AttrScope) -> Value {
        let defs: Vec<Value> = self
            .definitions
            .get(&scope)
            .into_iter()
            .flatten()
            .map(|d| json!({"key": d.key, "type": d.attr_type, "options": d.options, "allowedIonType": null}))
            .collect();
        json!({ "attributes": defs })
    }
}
