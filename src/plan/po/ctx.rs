//! What NetSuite dictates for one PO, shared by the create, header and line planners: its
//! supplier, attributes and new lines, and the problems met while working them out.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::plan::model::*;
pub(super) struct Ctx<'a> {
    pub(super) ns: &'a NsPurchaseOrder,
    pub(super) resolved: &'a Resolved,
    pub(super) mapping: &'a MappingConfig,
    pub(super) ns_unchanged: bool,
}

impl Ctx<'_> {
    pub(super) fn supplier(&self, plan: &mut PoPlan) -> SupplierRef {
        match &self.resolved.supplier {
            SupplierLookup::Existing(id) => SupplierRef::Existing(*id),
            SupplierLookup::MustCreate { name } => {
                plan.changes.push(Change::CreateSupplier {
                    vendor_id: self.ns.vendor_id,
                    name: name.clone(),
                });
                SupplierRef::Created {
                    vendor_id: self.ns.vendor_id,
                }
            }
        }
    }

    /// The PO attributes NetSuite dictates: the configured map, then the two cross-system
    /// keys (which win over a mapping that names the same key).
    pub(super) fn po_attributes(&self, plan: &mut PoPlan) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (key, fm) in &self.mapping.po_attributes {
            let text = self.ns.field(&fm.field).flatten();
            match attrs::convert(text.as_deref(), fm.ion_type) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(error) => {
                    let message = format!(
                        "NetSuite PO {}: field {} cannot fill ION attribute {key:?}: {error}",
                        self.ns.tran_id, fm.field
                    );
                    plan.problem(
                        ProblemKind::AttributeValue {
                            key: key.clone(),
                            ns_line_id: None,
                            error,
                        },
                        message,
                    );
                }
            }
        }
        out.insert(ATTR_PO_NUMBER.into(), json!(self.ns.tran_id));
        // Text, as the ION client defines it (`ion::attributes::NETSUITE_RECORD_ID`): an
        // identifier compared for equality, never `123` vs `123.0`.
        out.insert(ATTR_RECORD_ID.into(), json!(self.ns.id.to_string()));
        out
    }

    pub(super) fn line_attributes(
        &self,
        line: &NsLine,
        plan: &mut PoPlan,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (key, fm) in &self.mapping.line_attributes {
            let text = line.field(&fm.field).flatten();
            match attrs::convert(text.as_deref(), fm.ion_type) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(error) => {
                    let message = format!(
                        "NetSuite PO {} line {} ({}): field {} cannot fill ION attribute \
                         {key:?}: {error}",
                        self.ns.tran_id, line.line_id, line.item_name, fm.field
                    );
                    plan.problem(
                        ProblemKind::AttributeValue {
                            key: key.clone(),
                            ns_line_id: Some(line.line_id),
                            error,
                        },
                        message,
                    );
                }
            }
        }
        out.insert(ATTR_NS_LINE_ID.into(), json!(line.line_id));
        out.insert(
            ATTR_NON_RECEIVABLE.into(),
            json!(self.mapping.is_non_receivable(&line.item_type)),
        );
        out
    }

    /// `ion_line`: the ION line already mirroring this NetSuite line, when the item changed to
    /// one without a part (the line then keeps its old part).
    pub(super) fn missing_part(&self, line: &NsLine, ion_line: Option<i64>, plan: &mut PoPlan) {
        let consequence = match ion_line {
            None => "the line is left out of ION until the part exists".to_string(),
            Some(id) => format!("ION line {id} keeps its old part until the part exists"),
        };
        let message = format!(
            "NetSuite PO {} line {}: item {} has no ION part; {consequence}",
            self.ns.tran_id, line.line_id, line.item_name
        );
        plan.problem(
            ProblemKind::MissingPart {
                ns_line_id: line.line_id,
                item_id: line.item_id,
                item_name: line.item_name.clone(),
            },
            message,
        );
    }

    pub(super) fn new_line(&self, line: &NsLine, plan: &mut PoPlan) -> Option<NewLine> {
        let Some(part_id) = self.resolved.part_for(line.item_id) else {
            self.missing_part(line, None, plan);
            return None;
        };
        let mut attributes = self.line_attributes(line, plan);
        attributes.retain(|_, v| !v.is_null());
        Some(NewLine {
            ns_line_id: line.line_id,
            part_id,
            quantity: line.quantity,
            cost: line.rate,
            description: clean(&line.memo),
            estimated_arrival_date: line.expected_receipt_date,
            attributes,
        })
    }
}

/// The NetSuite line an ION line mirrors: its attribute, else the link table's line map.
pub(super) fn ns_line_of(line: &IonLineState, link: Option<&PoLink>) -> Option<i64> {
    line.ns_line_id().or_else(|| {
        link?
            .line_map
            .iter()
            .find(|(_, ion)| **ion == line.id)
            .map(|(ns, _)| *ns)
    })
}

/// Blank text and `None` are the same value on both sides.
pub(super) fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}
