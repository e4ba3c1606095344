//! The PO plan: given the NetSuite PO, the ION PO as it is now, the link table and the lookups,
//! which ION changes are due, in which order (SPEC §3.1, issue #5 "Plan").
//!
//! The order of [`PoPlan::changes`] is the order apply must perform them in. It already obeys
//! ION's July-2025 rules (ion.md §3): every change that needs the PO in `DRAFT` (line create,
//! line field edit, line delete) sits between a [`Change::MovePoToDraft`] and a
//! [`Change::MovePoBack`] when the PO is not already a draft; line cancels do not need it.
//! Re-planning after a crash half-way converges: the next plan starts from whatever ION then
//! holds (a PO left in `DRAFT` just gets the remaining edits and its status back).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::plan::attrs;
use crate::plan::hash::content_hash;
use crate::plan::model::{
    ATTR_NON_RECEIVABLE, ATTR_NS_LINE_ID, ATTR_PO_NUMBER, ATTR_RECORD_ID, IonAttribute,
    IonLineState, IonPurchaseOrderState, MappingConfig, NsLine, NsPurchaseOrder, PoLink, Resolved,
    SupplierLookup, same_amount,
};
use crate::plan::status::{self, IonStatus, MappedStatus};

/// The supplier a PO should point at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupplierRef {
    Existing(i64),
    /// The supplier made by the [`Change::CreateSupplier`] earlier in the same plan.
    Created {
        vendor_id: i64,
    },
}

/// Which ION line a change addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineRef {
    Ion(i64),
    /// The line made by the [`Change::CreateLine`] for this NetSuite line earlier in the plan.
    New {
        ns_line_id: i64,
    },
}

/// A PO header field to write. Attribute values are ION `ScalarValue`s (`null` clears).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PoField {
    Supplier(SupplierRef),
    /// ← NetSuite memo.
    Description(Option<String>),
    /// ← NetSuite `trandate`.
    OrderedAt(Option<NaiveDate>),
    /// ← NetSuite `duedate`.
    NeedDate(Option<NaiveDate>),
    Attribute {
        key: String,
        value: Value,
    },
}

/// A line field to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LineField {
    Part(i64),
    Quantity(f64),
    /// Unit cost ← NetSuite rate.
    Cost(f64),
    /// ← NetSuite line memo.
    Description(Option<String>),
    /// ← NetSuite `expectedreceiptdate`.
    EstimatedArrivalDate(Option<NaiveDate>),
    Attribute {
        key: String,
        value: Value,
    },
}

impl LineField {
    /// ION lets an ORDERED PO's lines change only `estimatedArrivalDate`, `paid` and custom
    /// attributes (ion.md §3); everything else needs the PO in DRAFT.
    pub fn needs_draft(&self) -> bool {
        !matches!(
            self,
            LineField::EstimatedArrivalDate(_) | LineField::Attribute { .. }
        )
    }
}

/// One field whose ION value is about to be overwritten, for the info log SPEC §3.1 asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldNote {
    /// `description`, `quantity`, an attribute key, …
    pub field: String,
    pub ion: Value,
    pub netsuite: Value,
    /// True when NetSuite's PO is unchanged since the last apply (same content hash), so the
    /// difference can only come from an edit made in ION. When NetSuite changed too, the plan
    /// cannot tell (it keeps no per-field history), and says so by leaving this false.
    pub ion_edit: bool,
}

/// A line as created in ION.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLine {
    pub ns_line_id: i64,
    pub part_id: i64,
    pub quantity: f64,
    pub cost: f64,
    pub description: Option<String>,
    pub estimated_arrival_date: Option<NaiveDate>,
    /// Always `ns_line_id` and `Non-receivable`, plus the mapped line attributes (no nulls).
    pub attributes: BTreeMap<String, Value>,
}

/// Why a line is canceled, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// The NetSuite line is closed.
    LineClosed,
    /// The NetSuite PO is Closed (H) or Rejected (C).
    PoClosed,
    /// The line is gone from NetSuite but ION cannot delete it (something was received), or the
    /// PO is being closed anyway.
    RemovedInNetSuite,
    /// The NetSuite PO was deleted and ION refused to delete its copy.
    PoDeleted,
}

/// One step of a plan. Rows are named by id; etags are apply's business, because every write
/// (and some side effects) changes them and apply must thread the fresh ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// Create the ION supplier for a NetSuite vendor (then remember vendor ↔ supplier).
    CreateSupplier {
        vendor_id: i64,
        name: String,
    },
    /// Create the ION PO. `status` is always DRAFT: lines can only be added to a draft, so a
    /// [`Change::SetPoStatus`] after the lines moves it to its mapped status (ion.md §3).
    /// `attributes` carry `Netsuite PO Number` and `Netsuite RecordID`, the natural key that
    /// finds this PO again after a crash.
    CreatePo {
        supplier: SupplierRef,
        status: IonStatus,
        description: Option<String>,
        ordered_at: Option<NaiveDate>,
        need_date: Option<NaiveDate>,
        attributes: BTreeMap<String, Value>,
    },
    /// Write header fields that differ from NetSuite; `notes` name each overwritten ION value.
    UpdatePoHeader {
        fields: Vec<PoField>,
        notes: Vec<FieldNote>,
    },
    /// Put an ORDERED (or later) PO back to DRAFT so its lines can be edited; always paired
    /// with a later [`Change::MovePoBack`].
    MovePoToDraft {
        from: Option<IonStatus>,
    },
    CreateLine(NewLine),
    UpdateLine {
        ion_line_id: i64,
        ns_line_id: i64,
        fields: Vec<LineField>,
        notes: Vec<FieldNote>,
    },
    /// Set the line's status to CANCELED (the one line status a client may set).
    CancelLine {
        line: LineRef,
        ns_line_id: Option<i64>,
        reason: CancelReason,
    },
    DeleteLine {
        ion_line_id: i64,
        ns_line_id: Option<i64>,
    },
    /// End of the draft round trip: the PO's status after the line edits.
    MovePoBack {
        to: IonStatus,
    },
    SetPoStatus {
        from: Option<IonStatus>,
        to: IonStatus,
    },
    DeletePo {
        ion_po_id: i64,
    },
}

impl Change {
    /// Whether ION accepts this change only while the PO is DRAFT.
    pub fn needs_draft(&self) -> bool {
        match self {
            Change::CreateLine(_) | Change::DeleteLine { .. } => true,
            Change::UpdateLine { fields, .. } => fields.iter().any(LineField::needs_draft),
            _ => false,
        }
    }
}

impl PoField {
    /// The field's name in logs and `--dry-run` output.
    pub fn name(&self) -> &str {
        match self {
            PoField::Supplier(_) => "supplier",
            PoField::Description(_) => "description",
            PoField::OrderedAt(_) => "orderedAt",
            PoField::NeedDate(_) => "needDate",
            PoField::Attribute { key, .. } => key,
        }
    }
}

impl LineField {
    /// The field's name in logs and `--dry-run` output.
    pub fn name(&self) -> &str {
        match self {
            LineField::Part(_) => "part",
            LineField::Quantity(_) => "quantity",
            LineField::Cost(_) => "cost",
            LineField::Description(_) => "description",
            LineField::EstimatedArrivalDate(_) => "estimatedArrivalDate",
            LineField::Attribute { key, .. } => key,
        }
    }
}

fn opt_status(s: &Option<IonStatus>) -> &'static str {
    s.map(IonStatus::as_str).unwrap_or("no status")
}

impl std::fmt::Display for LineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineRef::Ion(id) => write!(f, "ION line {id}"),
            LineRef::New { ns_line_id } => write!(f, "the new line for NetSuite line {ns_line_id}"),
        }
    }
}

/// One line per change, for the apply log and `--dry-run`.
impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: Vec<&str>| v.join(", ");
        match self {
            Change::CreateSupplier { vendor_id, name } => {
                write!(
                    f,
                    "create supplier {name:?} for NetSuite vendor {vendor_id}"
                )
            }
            Change::CreatePo {
                status, attributes, ..
            } => write!(
                f,
                "create PO as {status} with attributes {}",
                names(attributes.keys().map(String::as_str).collect())
            ),
            Change::UpdatePoHeader { fields, .. } => write!(
                f,
                "update PO {}",
                names(fields.iter().map(PoField::name).collect())
            ),
            Change::MovePoToDraft { from } => {
                write!(
                    f,
                    "move PO from {} to DRAFT for line edits",
                    opt_status(from)
                )
            }
            Change::CreateLine(l) => write!(
                f,
                "create line for NetSuite line {} (part {}, quantity {}, cost {})",
                l.ns_line_id, l.part_id, l.quantity, l.cost
            ),
            Change::UpdateLine {
                ion_line_id,
                ns_line_id,
                fields,
                ..
            } => write!(
                f,
                "update ION line {ion_line_id} (NetSuite line {ns_line_id}) {}",
                names(fields.iter().map(LineField::name).collect())
            ),
            Change::CancelLine { line, reason, .. } => write!(f, "cancel {line} ({reason:?})"),
            Change::DeleteLine { ion_line_id, .. } => write!(f, "delete ION line {ion_line_id}"),
            Change::MovePoBack { to } => write!(f, "move PO back to {to}"),
            Change::SetPoStatus { from, to } => {
                write!(f, "set PO status {} -> {to}", opt_status(from))
            }
            Change::DeletePo { ion_po_id } => write!(f, "delete ION PO {ion_po_id}"),
        }
    }
}

/// Something an admin must act on: logged as a **warning** and stored as an open problem on
/// the PO. Re-planning produces it again until the cause is gone; a problem whose key a later
/// plan no longer produces is resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// A sentence for the log and `status`, naming the NetSuite PO and the thing to fix.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProblemKind {
    /// The line's item has no ION part: the line is left out until it does.
    MissingPart {
        ns_line_id: i64,
        item_id: i64,
        item_name: String,
    },
    /// The status letter is not in the table: nothing is changed in ION.
    UnknownStatus { status: String },
    /// NetSuite's quantity is below what was already received; the quantity is left as is.
    QuantityBelowReceived {
        ns_line_id: i64,
        quantity: f64,
        received: f64,
    },
    /// The line's item changed but ION already received against the old part.
    PartChangeOnReceivedLine { ns_line_id: i64, ion_line_id: i64 },
    /// A mapped field's value does not fit the ION attribute's type; that attribute is left.
    AttributeValue {
        key: String,
        ns_line_id: Option<i64>,
        error: String,
    },
    /// Line canceled in ION but open in NetSuite: un-canceling is not a status a client may
    /// rely on, so a person decides.
    CanceledLineOpenInNetSuite { ns_line_id: i64, ion_line_id: i64 },
    /// Two ION lines claim the same NetSuite line; neither is touched beyond the first.
    DuplicateLine { ns_line_id: i64, ion_line_id: i64 },
    /// The ION PO the link table names no longer exists; it is created again.
    LinkedPoMissing { ion_po_id: i64 },
    /// NetSuite deleted the PO but ION refuses to delete it; open lines are canceled instead.
    DeleteRefused { ion_po_id: i64, reason: String },
}

impl Problem {
    /// Stable key of the problem within its PO, so the store can tell "still open" from
    /// "resolved" between cycles.
    pub fn key(&self) -> String {
        match &self.kind {
            ProblemKind::MissingPart {
                ns_line_id,
                item_id,
                ..
            } => format!("missing-part:{ns_line_id}:{item_id}"),
            ProblemKind::UnknownStatus { .. } => "unknown-status".into(),
            ProblemKind::QuantityBelowReceived { ns_line_id, .. } => {
                format!("quantity-below-received:{ns_line_id}")
            }
            ProblemKind::PartChangeOnReceivedLine { ns_line_id, .. } => {
                format!("part-change-on-received-line:{ns_line_id}")
            }
            ProblemKind::AttributeValue {
                key, ns_line_id, ..
            } => match ns_line_id {
                Some(l) => format!("attribute:{key}:line:{l}"),
                None => format!("attribute:{key}"),
            },
            ProblemKind::CanceledLineOpenInNetSuite { ns_line_id, .. } => {
                format!("canceled-line-open:{ns_line_id}")
            }
            ProblemKind::DuplicateLine { ion_line_id, .. } => {
                format!("duplicate-line:{ion_line_id}")
            }
            ProblemKind::LinkedPoMissing { .. } => "linked-po-missing".into(),
            ProblemKind::DeleteRefused { .. } => "delete-refused".into(),
        }
    }
}

/// A log line that needs no action (the admin may still want to see it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub level: NoteLevel,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoteLevel {
    Debug,
    Info,
}

/// Everything due for one NetSuite PO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoPlan {
    pub ns_po_id: i64,
    pub tran_id: String,
    /// The ION PO the changes apply to; `None` when the plan creates it.
    pub ion_po_id: Option<i64>,
    /// The hash apply records in the link table once every change is done.
    pub content_hash: String,
    /// The mapped ION status; `None` when the status letter is unknown (or for deletes).
    pub target_status: Option<IonStatus>,
    /// In execution order.
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
    pub notes: Vec<Note>,
}

impl PoPlan {
    fn new(ns_po_id: i64, tran_id: &str, content_hash: String) -> Self {
        PoPlan {
            ns_po_id,
            tran_id: tran_id.to_string(),
            ion_po_id: None,
            content_hash,
            target_status: None,
            changes: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// No ION call is due.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn problem_keys(&self) -> BTreeSet<String> {
        self.problems.iter().map(Problem::key).collect()
    }

    fn problem(&mut self, kind: ProblemKind, message: String) {
        self.problems.push(Problem { kind, message });
    }

    fn note(&mut self, level: NoteLevel, message: String) {
        self.notes.push(Note { level, message });
    }
}

/// Plans one NetSuite PO against ION.
///
/// - `ion`: the ION PO as it is now, when linked or found by its `Netsuite RecordID`
///   attribute; `None` only when ION was asked and has no such PO.
/// - `link`: the link table's row, when the PO was synced before.
/// - `resolved`: part and supplier lookups done in batches by the poll layer.
pub fn plan_po(
    ns: &NsPurchaseOrder,
    ion: Option<&IonPurchaseOrderState>,
    link: Option<&PoLink>,
    resolved: &Resolved,
    mapping: &MappingConfig,
) -> PoPlan {
    let hash = content_hash(ns);
    let ns_unchanged = link.is_some_and(|l| l.content_hash == hash);
    let mut plan = PoPlan::new(ns.id, &ns.tran_id, hash);
    plan.ion_po_id = ion.map(|p| p.id);

    let mapped = match status::map(&ns.status_letter) {
        Ok(m) => m,
        Err(e) => {
            let message = format!("NetSuite PO {} ({}): {e}", ns.tran_id, ns.id);
            plan.problem(
                ProblemKind::UnknownStatus {
                    status: ns.status_letter.clone(),
                },
                message,
            );
            return plan;
        }
    };
    plan.target_status = Some(mapped.ion);

    let ctx = Ctx {
        ns,
        resolved,
        mapping,
        ns_unchanged,
    };
    match ion {
        Some(ion) => plan_update(&ctx, ion, link, mapped, &mut plan),
        None => {
            if !mapped.create_when_unsynced {
                let message = match link {
                    None => format!(
                        "NetSuite PO {} was rejected before it was ever synced: nothing is \
                         created in ION",
                        ns.tran_id
                    ),
                    Some(l) => format!(
                        "NetSuite PO {} is rejected and its ION PO {} is gone: nothing to do",
                        ns.tran_id, l.ion_po_id
                    ),
                };
                plan.note(NoteLevel::Info, message);
                return plan;
            }
            if let Some(link) = link {
                plan.problem(
                    ProblemKind::LinkedPoMissing {
                        ion_po_id: link.ion_po_id,
                    },
                    format!(
                        "NetSuite PO {}: linked ION PO {} no longer exists in ION; creating it again",
                        ns.tran_id, link.ion_po_id
                    ),
                );
            }
            plan_create(&ctx, mapped, &mut plan);
        }
    }
    plan
}

/// Plans the ION side of a PO deleted in NetSuite.
///
/// Nothing received anywhere: delete every line (ION deletes a PO only once its lines are
/// gone, and lines only while the PO is DRAFT), then the PO. Anything received: ION refuses
/// the delete, so the open lines are canceled instead, with a warning saying why.
pub fn plan_delete(
    ns_po_id: i64,
    ion: Option<&IonPurchaseOrderState>,
    link: Option<&PoLink>,
) -> PoPlan {
    let tran_id = link.map(|l| l.tran_id.as_str()).unwrap_or_default();
    let mut plan = PoPlan::new(ns_po_id, tran_id, String::new());
    let Some(ion) = ion else {
        plan.note(
            NoteLevel::Info,
            format!("NetSuite PO {tran_id} ({ns_po_id}) deleted; no ION PO to delete"),
        );
        return plan;
    };
    plan.ion_po_id = Some(ion.id);
    let received: Vec<i64> = ion
        .lines
        .iter()
        .filter(|l| l.is_received())
        .map(|l| l.id)
        .collect();
    if !received.is_empty() {
        let reason = format!(
            "ION has received inventory on line(s) {}",
            received
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        cancel_instead_of_delete(&mut plan, ion, link, &reason);
        return plan;
    }
    if !ion.lines.is_empty() && ion.status != Some(IonStatus::Draft) {
        plan.changes
            .push(Change::MovePoToDraft { from: ion.status });
    }
    for line in &ion.lines {
        plan.changes.push(Change::DeleteLine {
            ion_line_id: line.id,
            ns_line_id: ns_line_of(line, link),
        });
    }
    plan.changes.push(Change::DeletePo { ion_po_id: ion.id });
    plan
}

/// The fallback when ION refused a delete the plan could not foresee (approvals, fees,
/// approval requests, org rules): cancel the open lines and warn with ION's `reason`.
pub fn plan_delete_refused(
    ns_po_id: i64,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    reason: &str,
) -> PoPlan {
    let tran_id = link.map(|l| l.tran_id.as_str()).unwrap_or_default();
    let mut plan = PoPlan::new(ns_po_id, tran_id, String::new());
    plan.ion_po_id = Some(ion.id);
    cancel_instead_of_delete(&mut plan, ion, link, reason);
    plan
}

fn cancel_instead_of_delete(
    plan: &mut PoPlan,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    reason: &str,
) {
    for line in &ion.lines {
        if !line.is_received() && line.status != IonStatus::Canceled {
            plan.changes.push(Change::CancelLine {
                line: LineRef::Ion(line.id),
                ns_line_id: ns_line_of(line, link),
                reason: CancelReason::PoDeleted,
            });
        }
    }
    let message = format!(
        "NetSuite PO {} ({}) was deleted but ION PO {} cannot be deleted: {reason}; its open \
         lines are canceled instead",
        plan.tran_id, plan.ns_po_id, ion.id
    );
    plan.problem(
        ProblemKind::DeleteRefused {
            ion_po_id: ion.id,
            reason: reason.to_string(),
        },
        message,
    );
}

/// The NetSuite line an ION line mirrors: its attribute, else the link table's line map.
fn ns_line_of(line: &IonLineState, link: Option<&PoLink>) -> Option<i64> {
    line.ns_line_id().or_else(|| {
        link?
            .line_map
            .iter()
            .find(|(_, ion)| **ion == line.id)
            .map(|(ns, _)| *ns)
    })
}

struct Ctx<'a> {
    ns: &'a NsPurchaseOrder,
    resolved: &'a Resolved,
    mapping: &'a MappingConfig,
    ns_unchanged: bool,
}

impl Ctx<'_> {
    fn supplier(&self, plan: &mut PoPlan) -> SupplierRef {
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
    fn po_attributes(&self, plan: &mut PoPlan) -> BTreeMap<String, Value> {
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

    fn line_attributes(&self, line: &NsLine, plan: &mut PoPlan) -> BTreeMap<String, Value> {
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
    fn missing_part(&self, line: &NsLine, ion_line: Option<i64>, plan: &mut PoPlan) {
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

    fn new_line(&self, line: &NsLine, plan: &mut PoPlan) -> Option<NewLine> {
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

fn plan_create(ctx: &Ctx<'_>, mapped: MappedStatus, plan: &mut PoPlan) {
    let ns = ctx.ns;
    let supplier = ctx.supplier(plan);
    let mut attributes = ctx.po_attributes(plan);
    attributes.retain(|_, v| !v.is_null());
    plan.changes.push(Change::CreatePo {
        supplier,
        status: IonStatus::Draft,
        description: clean(&ns.memo),
        ordered_at: ns.tran_date,
        need_date: ns.due_date,
        attributes,
    });
    let mut lines: Vec<&NsLine> = ns.lines.iter().collect();
    lines.sort_by_key(|l| l.line_id);
    let mut cancels = Vec::new();
    for line in lines {
        let closing = mapped.cancel_open_lines || line.is_closed;
        if closing && ctx.resolved.part_for(line.item_id).is_none() {
            // Nothing will ever be received on it: no reason to ask anyone for a part.
            continue;
        }
        if let Some(new) = ctx.new_line(line, plan) {
            plan.changes.push(Change::CreateLine(new));
            if closing {
                cancels.push(Change::CancelLine {
                    line: LineRef::New {
                        ns_line_id: line.line_id,
                    },
                    ns_line_id: Some(line.line_id),
                    reason: cancel_reason(line, mapped),
                });
            }
        }
    }
    plan.changes.extend(cancels);
    if mapped.ion != IonStatus::Draft {
        plan.changes.push(Change::SetPoStatus {
            from: Some(IonStatus::Draft),
            to: mapped.ion,
        });
    }
}

fn cancel_reason(line: &NsLine, mapped: MappedStatus) -> CancelReason {
    if line.is_closed && !mapped.cancel_open_lines {
        CancelReason::LineClosed
    } else {
        CancelReason::PoClosed
    }
}

fn plan_update(
    ctx: &Ctx<'_>,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    mapped: MappedStatus,
    plan: &mut PoPlan,
) {
    plan_header(ctx, ion, plan);
    let line_changes = plan_lines(ctx, ion, link, mapped, plan);

    // The status the PO ends in. ION owns receiving: a PO ION already rolled up to RECEIVED is
    // not pushed back to ORDERED by a NetSuite that has not caught up with the receipt yet.
    let mut target = mapped.ion;
    if ion.status == Some(IonStatus::Received) && target == IonStatus::Ordered {
        plan.note(
            NoteLevel::Debug,
            format!(
                "NetSuite PO {} is still open for receipt, ION PO {} is already RECEIVED: kept",
                ctx.ns.tran_id, ion.id
            ),
        );
        target = IonStatus::Received;
    }

    let needs_draft = line_changes.iter().any(Change::needs_draft);
    let mut current = ion.status;
    let mut wrapped = false;
    if needs_draft && current != Some(IonStatus::Draft) {
        if target == IonStatus::Draft {
            plan.changes.push(Change::SetPoStatus {
                from: current,
                to: IonStatus::Draft,
            });
            current = Some(IonStatus::Draft);
        } else {
            plan.changes.push(Change::MovePoToDraft { from: current });
            wrapped = true;
        }
    }
    plan.changes.extend(line_changes);
    if wrapped {
        plan.changes.push(Change::MovePoBack { to: target });
    } else if current != Some(target) {
        plan.changes.push(Change::SetPoStatus {
            from: current,
            to: target,
        });
    }
}

fn plan_header(ctx: &Ctx<'_>, ion: &IonPurchaseOrderState, plan: &mut PoPlan) {
    let ns = ctx.ns;
    let mut fields = Vec::new();
    let mut notes = Vec::new();
    let note = |field: &str, ion_v: Value, ns_v: Value| FieldNote {
        field: field.to_string(),
        ion: ion_v,
        netsuite: ns_v,
        ion_edit: ctx.ns_unchanged,
    };

    match &ctx.resolved.supplier {
        SupplierLookup::Existing(id) if ion.supplier_id == Some(*id) => {}
        SupplierLookup::Existing(_) | SupplierLookup::MustCreate { .. } => {
            let r = ctx.supplier(plan);
            notes.push(note(
                "supplier",
                json!(ion.supplier_id),
                json!(ns.vendor_name),
            ));
            fields.push(PoField::Supplier(r));
        }
    }
    let memo = clean(&ns.memo);
    if memo != clean(&ion.description) {
        notes.push(note("description", json!(ion.description), json!(memo)));
        fields.push(PoField::Description(memo));
    }
    if ns.tran_date != ion.ordered_at {
        notes.push(note(
            "orderedAt",
            json!(ion.ordered_at),
            json!(ns.tran_date),
        ));
        fields.push(PoField::OrderedAt(ns.tran_date));
    }
    if ns.due_date != ion.need_date {
        notes.push(note("needDate", json!(ion.need_date), json!(ns.due_date)));
        fields.push(PoField::NeedDate(ns.due_date));
    }
    for (key, value) in ctx.po_attributes(plan) {
        let current = ion.attributes.get(&key).map(|a| &a.value);
        if !attrs::same_value(current, &value) {
            notes.push(note(
                &key,
                current.cloned().unwrap_or(Value::Null),
                value.clone(),
            ));
            fields.push(PoField::Attribute { key, value });
        }
    }
    if fields.is_empty() {
        return;
    }
    note_overwrites(plan, &format!("ION PO {}", ion.id), &notes);
    plan.changes.push(Change::UpdatePoHeader { fields, notes });
}

/// Info notes for the log: SPEC §3.1 wants every overwritten ION edit named.
fn note_overwrites(plan: &mut PoPlan, what: &str, notes: &[FieldNote]) {
    for n in notes.iter().filter(|n| n.ion_edit) {
        let message = format!(
            "NetSuite PO {}: {what} field {:?} was edited in ION ({}); overwritten with \
             NetSuite's value ({})",
            plan.tran_id, n.field, n.ion, n.netsuite
        );
        plan.note(NoteLevel::Info, message);
    }
}

/// Line changes in NetSuite line order, then removals. Status wrapping is the caller's.
fn plan_lines(
    ctx: &Ctx<'_>,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    mapped: MappedStatus,
    plan: &mut PoPlan,
) -> Vec<Change> {
    let ns = ctx.ns;
    let mut out = Vec::new();
    let mut claimed: BTreeSet<i64> = BTreeSet::new();
    let by_id: BTreeMap<i64, &IonLineState> = ion.lines.iter().map(|l| (l.id, l)).collect();

    let mut ns_lines: Vec<&NsLine> = ns.lines.iter().collect();
    ns_lines.sort_by_key(|l| l.line_id);
    let ns_ids: BTreeSet<i64> = ns_lines.iter().map(|l| l.line_id).collect();

    for line in &ns_lines {
        // The link table first; the ns_line_id attribute finds a line created just before a
        // crash that never reached the link table.
        let from_link = link
            .and_then(|l| l.line_map.get(&line.line_id))
            .and_then(|id| by_id.get(id).copied())
            .filter(|l| !claimed.contains(&l.id));
        let matched = from_link.or_else(|| {
            ion.lines
                .iter()
                .find(|l| !claimed.contains(&l.id) && l.ns_line_id() == Some(line.line_id))
        });
        let closing = mapped.cancel_open_lines || line.is_closed;
        let Some(il) = matched else {
            if closing {
                // Closed before it ever reached ION: nothing to receive, nothing to create.
                continue;
            }
            if let Some(gone) = link.and_then(|l| l.line_map.get(&line.line_id)) {
                plan.note(
                    NoteLevel::Info,
                    format!(
                        "NetSuite PO {} line {}: ION line {gone} no longer exists; creating it again",
                        ns.tran_id, line.line_id
                    ),
                );
            }
            if let Some(new) = ctx.new_line(line, plan) {
                out.push(Change::CreateLine(new));
            }
            continue;
        };
        claimed.insert(il.id);

        if il.status == IonStatus::Canceled {
            if !closing {
                let message = format!(
                    "NetSuite PO {} line {} ({}) is open but ION line {} is canceled; reopen it \
                     in ION or close it in NetSuite",
                    ns.tran_id, line.line_id, line.item_name, il.id
                );
                plan.problem(
                    ProblemKind::CanceledLineOpenInNetSuite {
                        ns_line_id: line.line_id,
                        ion_line_id: il.id,
                    },
                    message,
                );
            }
            continue;
        }
        if closing {
            if il.is_received() {
                plan.note(
                    NoteLevel::Debug,
                    format!(
                        "NetSuite PO {} line {} closed; ION line {} has received {} and stays as is",
                        ns.tran_id, line.line_id, il.id, il.received_quantity
                    ),
                );
            } else {
                out.push(Change::CancelLine {
                    line: LineRef::Ion(il.id),
                    ns_line_id: Some(line.line_id),
                    reason: cancel_reason(line, mapped),
                });
            }
            continue;
        }
        if let Some(update) = line_update(ctx, line, il, plan) {
            out.push(update);
        }
    }

    // ION lines no NetSuite line claimed.
    for il in &ion.lines {
        if claimed.contains(&il.id) {
            continue;
        }
        let Some(ns_line_id) = ns_line_of(il, link) else {
            plan.note(
                NoteLevel::Info,
                format!(
                    "ION PO {} line {} does not come from NetSuite PO {}; left alone",
                    ion.id, il.id, ns.tran_id
                ),
            );
            continue;
        };
        if ns_ids.contains(&ns_line_id) {
            let message = format!(
                "NetSuite PO {} line {ns_line_id} is mirrored by more than one ION line; ION line \
                 {} is left alone, remove it in ION",
                ns.tran_id, il.id
            );
            plan.problem(
                ProblemKind::DuplicateLine {
                    ns_line_id,
                    ion_line_id: il.id,
                },
                message,
            );
            continue;
        }
        // Removed in NetSuite. Delete when ION allows it (nothing received) and the PO is not
        // being closed anyway (a cancel then needs no DRAFT round trip); otherwise cancel.
        if !il.is_received() && !mapped.cancel_open_lines {
            out.push(Change::DeleteLine {
                ion_line_id: il.id,
                ns_line_id: Some(ns_line_id),
            });
        } else if il.status != IonStatus::Canceled {
            // Received (ION refuses the delete; canceling keeps what was received), or the PO
            // is closing and every open line is canceled anyway.
            out.push(Change::CancelLine {
                line: LineRef::Ion(il.id),
                ns_line_id: Some(ns_line_id),
                reason: CancelReason::RemovedInNetSuite,
            });
        }
    }
    out
}

fn line_update(
    ctx: &Ctx<'_>,
    line: &NsLine,
    il: &IonLineState,
    plan: &mut PoPlan,
) -> Option<Change> {
    let ns = ctx.ns;
    let mut fields = Vec::new();
    let mut notes = Vec::new();
    let note = |field: &str, ion_v: Value, ns_v: Value| FieldNote {
        field: field.to_string(),
        ion: ion_v,
        netsuite: ns_v,
        ion_edit: ctx.ns_unchanged,
    };

    match ctx.resolved.part_for(line.item_id) {
        None => ctx.missing_part(line, Some(il.id), plan),
        Some(p) if il.part_id == Some(p) => {}
        Some(_) if il.is_received() => {
            let message = format!(
                "NetSuite PO {} line {}: item changed to {}, but ION line {} already received \
                 against its old part; the part is left as is",
                ns.tran_id, line.line_id, line.item_name, il.id
            );
            plan.problem(
                ProblemKind::PartChangeOnReceivedLine {
                    ns_line_id: line.line_id,
                    ion_line_id: il.id,
                },
                message,
            );
        }
        Some(p) => {
            notes.push(note("part", json!(il.part_id), json!(p)));
            fields.push(LineField::Part(p));
        }
    }
    if !same_amount(line.quantity, il.quantity) {
        let received = il.received_quantity.max(line.quantity_received);
        if line.quantity + crate::plan::model::QTY_EPSILON < received {
            let message = format!(
                "NetSuite PO {} line {} ({}): quantity {} is below the {} already received; \
                 the ION quantity is left at {}",
                ns.tran_id, line.line_id, line.item_name, line.quantity, received, il.quantity
            );
            plan.problem(
                ProblemKind::QuantityBelowReceived {
                    ns_line_id: line.line_id,
                    quantity: line.quantity,
                    received,
                },
                message,
            );
        } else {
            notes.push(note("quantity", json!(il.quantity), json!(line.quantity)));
            fields.push(LineField::Quantity(line.quantity));
        }
    }
    if il.cost.is_none_or(|c| !same_amount(c, line.rate)) {
        notes.push(note("cost", json!(il.cost), json!(line.rate)));
        fields.push(LineField::Cost(line.rate));
    }
    let memo = clean(&line.memo);
    if memo != clean(&il.description) {
        notes.push(note("description", json!(il.description), json!(memo)));
        fields.push(LineField::Description(memo));
    }
    if line.expected_receipt_date != il.estimated_arrival_date {
        notes.push(note(
            "estimatedArrivalDate",
            json!(il.estimated_arrival_date),
            json!(line.expected_receipt_date),
        ));
        fields.push(LineField::EstimatedArrivalDate(line.expected_receipt_date));
    }
    for (key, value) in ctx.line_attributes(line, plan) {
        let current = il.attributes.get(&key).map(|a: &IonAttribute| &a.value);
        if !attrs::same_value(current, &value) {
            notes.push(note(
                &key,
                current.cloned().unwrap_or(Value::Null),
                value.clone(),
            ));
            fields.push(LineField::Attribute { key, value });
        }
    }
    if fields.is_empty() {
        return None;
    }
    note_overwrites(plan, &format!("ION line {}", il.id), &notes);
    Some(Change::UpdateLine {
        ion_line_id: il.id,
        ns_line_id: line.line_id,
        fields,
        notes,
    })
}

/// Blank text and `None` are the same value on both sides.
fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{AttrType, FieldMap};

    const PO_ID: i64 = 4711;
    const ION_PO: i64 = 900;
    const SUPPLIER: i64 = 77;

    fn ns_line(line_id: i64, item_id: i64, item_type: &str, qty: f64, rate: f64) -> NsLine {
        NsLine {
            line_id,
            item_id,
            item_name: format!("ITEM-{item_id}"),
            item_type: item_type.into(),
            quantity: qty,
            quantity_received: 0.0,
            rate,
            is_closed: false,
            memo: None,
            expected_receipt_date: None,
            line_fields: BTreeMap::new(),
        }
    }

    /// PO1042 with two inventory lines and one service line.
    fn ns_po(status: &str) -> NsPurchaseOrder {
        NsPurchaseOrder {
            id: PO_ID,
            tran_id: "PO1042".into(),
            status_letter: status.into(),
            vendor_id: 880,
            vendor_name: "Acme Metals".into(),
            memo: Some("rush order".into()),
            tran_date: NaiveDate::from_ymd_opt(2026, 1, 15),
            due_date: NaiveDate::from_ymd_opt(2026, 2, 1),
            lastmod: "2026-01-15 10:00:00".into(),
            body_fields: BTreeMap::new(),
            lines: vec![
                ns_line(1, 101, "InvtPart", 10.0, 2.5),
                ns_line(2, 102, "InvtPart", 5.0, 10.0),
                ns_line(3, 103, "Service", 1.0, 100.0),
            ],
        }
    }

    fn resolved() -> Resolved {
        Resolved {
            parts: [(101, Some(1101)), (102, Some(1102)), (103, Some(1103))].into(),
            supplier: SupplierLookup::Existing(SUPPLIER),
        }
    }

    fn ion_attr(v: Value) -> IonAttribute {
        IonAttribute {
            value: v,
            etag: "attr-etag".into(),
        }
    }

    fn ion_line_of(ns_line_id: i64) -> i64 {
        500 + ns_line_id
    }

    /// The ION PO exactly as a previous apply of `ns` left it, in ION's own spellings
    /// (numbers that come back as floats or text), so "no change" is tested against them.
    fn ion_mirror(ns: &NsPurchaseOrder, status: IonStatus) -> IonPurchaseOrderState {
        let mapping = MappingConfig::default();
        let line_status = if status == IonStatus::Draft {
            IonStatus::Draft
        } else {
            IonStatus::Ordered
        };
        IonPurchaseOrderState {
            id: ION_PO,
            etag: "po-etag".into(),
            status: Some(status),
            supplier_id: Some(SUPPLIER),
            description: ns.memo.clone(),
            ordered_at: ns.tran_date,
            need_date: ns.due_date,
            attributes: [
                (ATTR_PO_NUMBER.to_string(), ion_attr(json!(ns.tran_id))),
                (ATTR_RECORD_ID.to_string(), ion_attr(json!(ns.id as f64))),
            ]
            .into(),
            lines: ns
                .lines
                .iter()
                .map(|l| IonLineState {
                    id: ion_line_of(l.line_id),
                    etag: "line-etag".into(),
                    status: line_status,
                    part_id: resolved().part_for(l.item_id),
                    quantity: l.quantity,
                    cost: Some(l.rate),
                    received_quantity: 0.0,
                    description: l.memo.clone(),
                    estimated_arrival_date: l.expected_receipt_date,
                    attributes: [
                        (
                            ATTR_NS_LINE_ID.to_string(),
                            ion_attr(json!(l.line_id.to_string())),
                        ),
                        (
                            ATTR_NON_RECEIVABLE.to_string(),
                            ion_attr(json!(mapping.is_non_receivable(&l.item_type))),
                        ),
                    ]
                    .into(),
                })
                .collect(),
        }
    }

    fn link_for(ns: &NsPurchaseOrder) -> PoLink {
        PoLink {
            ns_po_id: ns.id,
            ion_po_id: ION_PO,
            tran_id: ns.tran_id.clone(),
            content_hash: content_hash(ns),
            last_lastmod: ns.lastmod.clone(),
            line_map: ns
                .lines
                .iter()
                .map(|l| (l.line_id, ion_line_of(l.line_id)))
                .collect(),
        }
    }

    fn plan_new(ns: &NsPurchaseOrder) -> PoPlan {
        plan_po(ns, None, None, &resolved(), &MappingConfig::default())
    }

    fn plan_linked(ns: &NsPurchaseOrder, ion: &IonPurchaseOrderState, link: &PoLink) -> PoPlan {
        plan_po(
            ns,
            Some(ion),
            Some(link),
            &resolved(),
            &MappingConfig::default(),
        )
    }

    fn line_mut(ion: &mut IonPurchaseOrderState, ns_line_id: i64) -> &mut IonLineState {
        ion.lines
            .iter_mut()
            .find(|l| l.id == ion_line_of(ns_line_id))
            .unwrap()
    }

    fn created_lines(plan: &PoPlan) -> Vec<&NewLine> {
        plan.changes
            .iter()
            .filter_map(|c| match c {
                Change::CreateLine(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    fn canceled(plan: &PoPlan) -> Vec<LineRef> {
        plan.changes
            .iter()
            .filter_map(|c| match c {
                Change::CancelLine { line, .. } => Some(*line),
                _ => None,
            })
            .collect()
    }

    fn last_status(plan: &PoPlan) -> Option<IonStatus> {
        plan.changes.iter().rev().find_map(|c| match c {
            Change::SetPoStatus { to, .. } | Change::MovePoBack { to } => Some(*to),
            _ => None,
        })
    }

    // --- creating ------------------------------------------------------------------------

    #[test]
    fn new_pending_receipt_po_is_created_as_draft_with_lines_then_ordered() {
        let plan = plan_new(&ns_po("B"));
        assert_eq!(plan.ion_po_id, None);
        assert_eq!(plan.target_status, Some(IonStatus::Ordered));
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let Change::CreatePo {
            supplier,
            status,
            description,
            ordered_at,
            need_date,
            attributes,
        } = &plan.changes[0]
        else {
            panic!("first change is {:?}", plan.changes[0]);
        };
        assert_eq!(*supplier, SupplierRef::Existing(SUPPLIER));
        assert_eq!(*status, IonStatus::Draft);
        assert_eq!(description.as_deref(), Some("rush order"));
        assert_eq!(*ordered_at, NaiveDate::from_ymd_opt(2026, 1, 15));
        assert_eq!(*need_date, NaiveDate::from_ymd_opt(2026, 2, 1));
        assert_eq!(attributes[ATTR_PO_NUMBER], json!("PO1042"));
        assert_eq!(attributes[ATTR_RECORD_ID], json!("4711"));

        let lines = created_lines(&plan);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].ns_line_id, 1);
        assert_eq!(lines[0].part_id, 1101);
        assert_eq!(lines[0].quantity, 10.0);
        assert_eq!(lines[0].cost, 2.5);
        assert_eq!(lines[0].attributes[ATTR_NS_LINE_ID], json!(1));
        assert_eq!(lines[0].attributes[ATTR_NON_RECEIVABLE], json!(false));
        assert_eq!(
            plan.changes.last(),
            Some(&Change::SetPoStatus {
                from: Some(IonStatus::Draft),
                to: IonStatus::Ordered
            })
        );
        assert!(canceled(&plan).is_empty());
    }

    #[test]
    fn status_table_for_new_pos() {
        // (letter, status after create, created at all, lines canceled)
        let cases = [
            ("A", None, true, false),
            ("B", Some(IonStatus::Ordered), true, false),
            ("D", Some(IonStatus::Ordered), true, false),
            ("E", Some(IonStatus::Ordered), true, false),
            ("F", Some(IonStatus::Received), true, false),
            ("G", Some(IonStatus::Received), true, false),
            ("H", Some(IonStatus::Canceled), true, true),
            ("C", None, false, false),
        ];
        for (letter, final_status, created, lines_canceled) in cases {
            let plan = plan_new(&ns_po(letter));
            assert_eq!(
                plan.changes
                    .iter()
                    .any(|c| matches!(c, Change::CreatePo { .. })),
                created,
                "{letter}"
            );
            assert_eq!(last_status(&plan), final_status, "{letter}");
            assert_eq!(
                canceled(&plan).len(),
                if lines_canceled { 3 } else { 0 },
                "{letter}"
            );
            assert!(plan.problems.is_empty(), "{letter}: {:?}", plan.problems);
        }
    }

    #[test]
    fn closed_po_new_lines_are_created_then_canceled_by_reference() {
        let plan = plan_new(&ns_po("H"));
        let cancels = canceled(&plan);
        assert_eq!(cancels[0], LineRef::New { ns_line_id: 1 });
        // Cancels come after every create and before the final status.
        let first_cancel = plan
            .changes
            .iter()
            .position(|c| matches!(c, Change::CancelLine { .. }))
            .unwrap();
        let last_create = plan
            .changes
            .iter()
            .rposition(|c| matches!(c, Change::CreateLine(_)))
            .unwrap();
        assert!(last_create < first_cancel);
        assert!(matches!(
            plan.changes.last(),
            Some(Change::SetPoStatus {
                to: IonStatus::Canceled,
                ..
            })
        ));
    }

    #[test]
    fn rejected_never_synced_creates_nothing() {
        let plan = plan_new(&ns_po("C"));
        assert!(plan.is_noop());
        assert!(plan.problems.is_empty());
        assert_eq!(plan.notes.len(), 1);
        assert!(plan.notes[0].message.contains("rejected"));
    }

    #[test]
    fn unknown_status_changes_nothing_and_is_a_problem() {
        for letter in ["P", "Y", ""] {
            let ns = ns_po(letter);
            let ion = ion_mirror(&ns, IonStatus::Ordered);
            let mut link = link_for(&ns);
            link.content_hash = "old".into();
            let mut changed = ns.clone();
            changed.memo = Some("changed".into());
            for plan in [plan_new(&ns), plan_linked(&changed, &ion, &link)] {
                assert!(plan.is_noop(), "{letter}: {:?}", plan.changes);
                assert_eq!(plan.target_status, None);
                assert_eq!(plan.problems.len(), 1);
                assert!(matches!(
                    plan.problems[0].kind,
                    ProblemKind::UnknownStatus { .. }
                ));
                assert!(plan.problems[0].message.contains("PO1042"));
            }
        }
    }

    #[test]
    fn vendor_not_in_ion_creates_the_supplier_first() {
        let mut r = resolved();
        r.supplier = SupplierLookup::MustCreate {
            name: "Acme Metals".into(),
        };
        let plan = plan_po(&ns_po("B"), None, None, &r, &MappingConfig::default());
        assert_eq!(
            plan.changes[0],
            Change::CreateSupplier {
                vendor_id: 880,
                name: "Acme Metals".into()
            }
        );
        assert!(matches!(
            &plan.changes[1],
            Change::CreatePo {
                supplier: SupplierRef::Created { vendor_id: 880 },
                ..
            }
        ));
    }

    #[test]
    fn missing_part_leaves_the_line_out_with_a_warning_then_adds_it_later() {
        let ns = ns_po("B");
        let mut r = resolved();
        r.parts.insert(102, None);
        let plan = plan_po(&ns, None, None, &r, &MappingConfig::default());
        let lines = created_lines(&plan);
        assert_eq!(
            lines.iter().map(|l| l.ns_line_id).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(plan.problems.len(), 1);
        let p = &plan.problems[0];
        assert_eq!(
            p.kind,
            ProblemKind::MissingPart {
                ns_line_id: 2,
                item_id: 102,
                item_name: "ITEM-102".into()
            }
        );
        assert!(p.message.contains("ITEM-102") && p.message.contains("PO1042"));
        assert_eq!(p.key(), "missing-part:2:102");

        // Next cycle: the PO exists in ION without line 2; the part still missing → same
        // problem, nothing to do.
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        ion.lines.retain(|l| l.id != ion_line_of(2));
        let mut link = link_for(&ns);
        link.line_map.remove(&2);
        let again = plan_po(&ns, Some(&ion), Some(&link), &r, &MappingConfig::default());
        assert!(again.is_noop(), "{:?}", again.changes);
        assert_eq!(again.problem_keys(), plan.problem_keys());

        // The part now exists: the line is added, inside the draft round trip, problem gone.
        let later = plan_linked(&ns, &ion, &link);
        assert!(later.problems.is_empty());
        assert_eq!(
            later.changes.first(),
            Some(&Change::MovePoToDraft {
                from: Some(IonStatus::Ordered)
            })
        );
        assert!(matches!(&later.changes[1], Change::CreateLine(l) if l.ns_line_id == 2));
        assert_eq!(
            later.changes.last(),
            Some(&Change::MovePoBack {
                to: IonStatus::Ordered
            })
        );
        assert_eq!(later.changes.len(), 3);
    }

    #[test]
    fn non_receivable_item_types_are_flagged() {
        let mut mapping = MappingConfig::default();
        let plan = plan_po(&ns_po("B"), None, None, &resolved(), &mapping);
        let flags: Vec<Value> = created_lines(&plan)
            .iter()
            .map(|l| l.attributes[ATTR_NON_RECEIVABLE].clone())
            .collect();
        assert_eq!(flags, vec![json!(false), json!(false), json!(true)]);

        // Configurable: with only "InvtPart" listed (odd, but configured), it flips.
        mapping.non_receivable_item_types = ["InvtPart".to_string()].into();
        let plan = plan_po(&ns_po("B"), None, None, &resolved(), &mapping);
        let flags: Vec<Value> = created_lines(&plan)
            .iter()
            .map(|l| l.attributes[ATTR_NON_RECEIVABLE].clone())
            .collect();
        assert_eq!(flags, vec![json!(true), json!(true), json!(false)]);
    }

    fn mapping_with_custom_attributes() -> MappingConfig {
        let fm = |field: &str, ion_type| FieldMap {
            field: field.into(),
            ion_type,
        };
        MappingConfig {
            po_attributes: [
                (
                    "Requester".to_string(),
                    fm("custbody_requestor", AttrType::Select),
                ),
                (
                    "Budget".to_string(),
                    fm("custbody_budget", AttrType::Number),
                ),
                (
                    "Expedite".to_string(),
                    fm("custbody_expedite", AttrType::Boolean),
                ),
                ("Notes".to_string(), fm("custbody_notes", AttrType::Text)),
                ("Memo copy".to_string(), fm("memo", AttrType::Text)),
            ]
            .into(),
            line_attributes: [
                (
                    "Project".to_string(),
                    fm("custcol_project", AttrType::Select),
                ),
                (
                    "Tags".to_string(),
                    fm("custcol_tags", AttrType::MultiSelect),
                ),
                ("Weight".to_string(), fm("custcol_weight", AttrType::Number)),
            ]
            .into(),
            ..MappingConfig::default()
        }
    }

    fn ns_with_custom_fields() -> NsPurchaseOrder {
        let mut ns = ns_po("B");
        ns.body_fields = [
            (
                "custbody_requestor".to_string(),
                Some("J. Buyer".to_string()),
            ),
            ("custbody_budget".to_string(), Some("1250.50".to_string())),
            ("custbody_expedite".to_string(), Some("T".to_string())),
            ("custbody_notes".to_string(), None),
        ]
        .into();
        ns.lines[0].line_fields = [
            ("custcol_project".to_string(), Some("Apollo".to_string())),
            ("custcol_tags".to_string(), Some("Red, Blue".to_string())),
            ("custcol_weight".to_string(), Some("12".to_string())),
        ]
        .into();
        ns
    }

    #[test]
    fn custom_attributes_text_number_boolean_and_list_on_create() {
        let ns = ns_with_custom_fields();
        let mapping = mapping_with_custom_attributes();
        let plan = plan_po(&ns, None, None, &resolved(), &mapping);
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let Change::CreatePo { attributes, .. } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(attributes["Requester"], json!("J. Buyer"));
        assert_eq!(attributes["Budget"], json!(1250.5));
        assert_eq!(attributes["Expedite"], json!(true));
        assert_eq!(attributes["Memo copy"], json!("rush order"));
        // Empty in NetSuite: not sent on create.
        assert!(!attributes.contains_key("Notes"));

        let lines = created_lines(&plan);
        assert_eq!(lines[0].attributes["Project"], json!("Apollo"));
        assert_eq!(lines[0].attributes["Tags"], json!(["Red", "Blue"]));
        assert_eq!(lines[0].attributes["Weight"], json!(12));
        // A line whose mapped fields are empty gets only the two fixed attributes.
        assert_eq!(lines[1].attributes.len(), 2);
    }

    #[test]
    fn a_mapping_cannot_override_the_cross_system_keys() {
        let mut mapping = MappingConfig::default();
        mapping.po_attributes.insert(
            ATTR_PO_NUMBER.into(),
            FieldMap {
                field: "memo".into(),
                ion_type: AttrType::Text,
            },
        );
        let plan = plan_po(&ns_po("B"), None, None, &resolved(), &mapping);
        let Change::CreatePo { attributes, .. } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(attributes[ATTR_PO_NUMBER], json!("PO1042"));
    }

    #[test]
    fn a_value_that_does_not_fit_the_attribute_type_is_a_problem_not_a_write() {
        let mut ns = ns_with_custom_fields();
        ns.body_fields
            .insert("custbody_budget".into(), Some("lots".into()));
        ns.lines[0]
            .line_fields
            .insert("custcol_weight".into(), Some("heavy".into()));
        let mapping = mapping_with_custom_attributes();
        let plan = plan_po(&ns, None, None, &resolved(), &mapping);
        let Change::CreatePo { attributes, .. } = &plan.changes[0] else {
            panic!()
        };
        assert!(!attributes.contains_key("Budget"));
        assert_eq!(attributes["Requester"], json!("J. Buyer"));
        let keys = plan.problem_keys();
        assert!(keys.contains("attribute:Budget"), "{keys:?}");
        assert!(keys.contains("attribute:Weight:line:1"), "{keys:?}");
        assert!(!created_lines(&plan)[0].attributes.contains_key("Weight"));
    }

    // --- updating ------------------------------------------------------------------------

    #[test]
    fn unchanged_po_plans_nothing_despite_ion_spellings() {
        for (letter, status) in [
            ("A", IonStatus::Draft),
            ("B", IonStatus::Ordered),
            ("F", IonStatus::Received),
        ] {
            let ns = ns_po(letter);
            let plan = plan_linked(&ns, &ion_mirror(&ns, status), &link_for(&ns));
            assert!(plan.is_noop(), "{letter}: {:?}", plan.changes);
            assert!(plan.problems.is_empty());
            assert_eq!(plan.ion_po_id, Some(ION_PO));
        }
    }

    #[test]
    fn custom_attribute_changes_are_written_on_update_without_a_draft_round_trip() {
        let before = ns_with_custom_fields();
        let mapping = mapping_with_custom_attributes();
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        for (k, v) in [
            ("Requester", json!("J. Buyer")),
            ("Budget", json!(1250.5)),
            ("Expedite", json!(true)),
            ("Memo copy", json!("rush order")),
        ] {
            ion.attributes.insert(k.into(), ion_attr(v));
        }
        for (k, v) in [
            ("Project", json!("Apollo")),
            ("Tags", json!(["Red", "Blue"])),
            ("Weight", json!(12.0)),
        ] {
            line_mut(&mut ion, 1)
                .attributes
                .insert(k.into(), ion_attr(v));
        }
        let link = link_for(&before);
        let same = plan_po(&before, Some(&ion), Some(&link), &resolved(), &mapping);
        assert!(same.is_noop(), "{:?}", same.changes);

        let mut after = before.clone();
        after
            .body_fields
            .insert("custbody_expedite".into(), Some("F".into()));
        after.lines[0]
            .line_fields
            .insert("custcol_tags".into(), Some("Red".into()));
        let plan = plan_po(&after, Some(&ion), Some(&link), &resolved(), &mapping);
        assert_eq!(plan.changes.len(), 2, "{:?}", plan.changes);
        let Change::UpdatePoHeader { fields, notes } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(
            fields,
            &vec![PoField::Attribute {
                key: "Expedite".into(),
                value: json!(false)
            }]
        );
        assert!(!notes[0].ion_edit, "NetSuite changed, so not an ION edit");
        let Change::UpdateLine {
            ion_line_id,
            fields,
            ..
        } = &plan.changes[1]
        else {
            panic!()
        };
        assert_eq!(*ion_line_id, ion_line_of(1));
        assert_eq!(
            fields,
            &vec![LineField::Attribute {
                key: "Tags".into(),
                value: json!(["Red"])
            }]
        );
    }

    #[test]
    fn header_change_updates_the_po() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let link = link_for(&before);
        let mut after = before.clone();
        after.memo = Some("new memo".into());
        after.due_date = None;
        let plan = plan_linked(&after, &ion, &link);
        assert_eq!(
            plan.changes,
            vec![Change::UpdatePoHeader {
                fields: vec![
                    PoField::Description(Some("new memo".into())),
                    PoField::NeedDate(None),
                ],
                notes: vec![
                    FieldNote {
                        field: "description".into(),
                        ion: json!("rush order"),
                        netsuite: json!("new memo"),
                        ion_edit: false,
                    },
                    FieldNote {
                        field: "needDate".into(),
                        ion: json!("2026-02-01"),
                        netsuite: Value::Null,
                        ion_edit: false,
                    },
                ],
            }]
        );
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn manual_ion_edit_is_overwritten_with_an_info_note_naming_the_field() {
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        ion.description = Some("edited in ION".into());
        ion.attributes
            .insert(ATTR_PO_NUMBER.into(), ion_attr(json!("PO-typo")));
        line_mut(&mut ion, 1).estimated_arrival_date = NaiveDate::from_ymd_opt(2026, 3, 3);
        // Same content hash as last applied: NetSuite did not change, so these are ION edits.
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        let Change::UpdatePoHeader { fields, notes } = &plan.changes[0] else {
            panic!("{:?}", plan.changes)
        };
        assert!(fields.contains(&PoField::Description(Some("rush order".into()))));
        assert!(fields.contains(&PoField::Attribute {
            key: ATTR_PO_NUMBER.into(),
            value: json!("PO1042")
        }));
        assert!(notes.iter().all(|n| n.ion_edit));
        let info: Vec<&str> = plan
            .notes
            .iter()
            .filter(|n| n.level == NoteLevel::Info)
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(info.len(), 3, "{info:?}");
        assert!(info.iter().any(|m| m.contains("\"description\"")));
        assert!(info.iter().any(|m| m.contains(ATTR_PO_NUMBER)));
        assert!(info.iter().any(|m| m.contains("estimatedArrivalDate")));
        // The arrival date is editable on an ordered PO: no draft round trip.
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| matches!(c, Change::MovePoToDraft { .. }))
        );
    }

    #[test]
    fn supplier_change_and_status_change() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.status_letter = "F".into();
        let mut r = resolved();
        r.supplier = SupplierLookup::Existing(78);
        let plan = plan_po(
            &after,
            Some(&ion),
            Some(&link_for(&before)),
            &r,
            &MappingConfig::default(),
        );
        assert!(matches!(
            &plan.changes[0],
            Change::UpdatePoHeader { fields, .. }
                if fields == &vec![PoField::Supplier(SupplierRef::Existing(78))]
        ));
        assert_eq!(
            plan.changes[1],
            Change::SetPoStatus {
                from: Some(IonStatus::Ordered),
                to: IonStatus::Received
            }
        );
        assert_eq!(plan.changes.len(), 2);
    }

    #[test]
    fn line_field_change_on_ordered_po_is_wrapped_in_draft_and_back() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines[1].quantity = 7.0;
        after.lines[1].rate = 9.5;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(plan.changes.len(), 3, "{:?}", plan.changes);
        assert_eq!(
            plan.changes[0],
            Change::MovePoToDraft {
                from: Some(IonStatus::Ordered)
            }
        );
        let Change::UpdateLine {
            ion_line_id,
            ns_line_id,
            fields,
            ..
        } = &plan.changes[1]
        else {
            panic!()
        };
        assert_eq!((*ion_line_id, *ns_line_id), (ion_line_of(2), 2));
        assert_eq!(
            fields,
            &vec![LineField::Quantity(7.0), LineField::Cost(9.5)]
        );
        assert_eq!(
            plan.changes[2],
            Change::MovePoBack {
                to: IonStatus::Ordered
            }
        );
    }

    #[test]
    fn line_field_change_on_draft_po_needs_no_round_trip() {
        let before = ns_po("A");
        let ion = ion_mirror(&before, IonStatus::Draft);
        let mut after = before.clone();
        after.lines[0].memo = Some("blue ones".into());
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(plan.changes.len(), 1);
        assert!(matches!(
            &plan.changes[0],
            Change::UpdateLine { fields, .. }
                if fields == &vec![LineField::Description(Some("blue ones".into()))]
        ));
    }

    #[test]
    fn line_change_while_going_back_to_draft_sets_draft_first_without_moving_back() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.status_letter = "A".into();
        after.lines[0].quantity = 11.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes[0],
            Change::SetPoStatus {
                from: Some(IonStatus::Ordered),
                to: IonStatus::Draft
            }
        );
        assert!(matches!(plan.changes[1], Change::UpdateLine { .. }));
        assert_eq!(plan.changes.len(), 2);
    }

    #[test]
    fn ion_received_po_is_not_pushed_back_to_ordered() {
        let ns = ns_po("D");
        let ion = ion_mirror(&ns, IonStatus::Received);
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        assert!(plan.is_noop(), "{:?}", plan.changes);

        // A line edit then returns it to RECEIVED, not ORDERED.
        let mut after = ns.clone();
        after.lines[0].rate = 3.0;
        let plan = plan_linked(&after, &ion, &link_for(&ns));
        assert_eq!(last_status(&plan), Some(IonStatus::Received));
    }

    #[test]
    fn line_added_on_ordered_po() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines.push(ns_line(4, 101, "InvtPart", 2.0, 2.5));
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(plan.changes.len(), 3);
        assert!(matches!(plan.changes[0], Change::MovePoToDraft { .. }));
        assert!(matches!(&plan.changes[1], Change::CreateLine(l)
            if l.ns_line_id == 4 && l.part_id == 1101 && l.quantity == 2.0));
        assert!(matches!(plan.changes[2], Change::MovePoBack { .. }));
    }

    #[test]
    fn line_removed_without_receipts_is_deleted() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines.remove(1);
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![
                Change::MovePoToDraft {
                    from: Some(IonStatus::Ordered)
                },
                Change::DeleteLine {
                    ion_line_id: ion_line_of(2),
                    ns_line_id: Some(2)
                },
                Change::MovePoBack {
                    to: IonStatus::Ordered
                },
            ]
        );
    }

    #[test]
    fn line_removed_after_receipts_is_canceled_not_deleted() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 2).received_quantity = 2.0;
        let mut after = before.clone();
        after.lines.remove(1);
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![Change::CancelLine {
                line: LineRef::Ion(ion_line_of(2)),
                ns_line_id: Some(2),
                reason: CancelReason::RemovedInNetSuite
            }]
        );

        // Once canceled, nothing more is planned for it.
        line_mut(&mut ion, 2).status = IonStatus::Canceled;
        assert!(plan_linked(&after, &ion, &link_for(&before)).is_noop());
    }

    #[test]
    fn removed_line_found_by_its_attribute_when_the_link_lost_it() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut link = link_for(&before);
        link.line_map.clear();
        let mut after = before.clone();
        after.lines.remove(2);
        let plan = plan_linked(&after, &ion, &link);
        assert!(plan.changes.contains(&Change::DeleteLine {
            ion_line_id: ion_line_of(3),
            ns_line_id: Some(3)
        }));
    }

    #[test]
    fn closed_line_cancels_the_ion_line_only_if_nothing_received() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 4.0;
        let mut after = before.clone();
        after.lines[0].is_closed = true;
        after.lines[1].is_closed = true;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![Change::CancelLine {
                line: LineRef::Ion(ion_line_of(2)),
                ns_line_id: Some(2),
                reason: CancelReason::LineClosed
            }]
        );
    }

    #[test]
    fn closed_po_cancels_open_lines_and_keeps_received_ones() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 10.0; // fully received
        line_mut(&mut ion, 2).received_quantity = 1.0; // partly received
        let mut after = before.clone();
        after.status_letter = "H".into();
        after.lines[0].quantity = 99.0; // ignored: a closed PO's lines are not edited
        for l in &mut after.lines {
            l.is_closed = true;
        }
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![
                Change::CancelLine {
                    line: LineRef::Ion(ion_line_of(3)),
                    ns_line_id: Some(3),
                    reason: CancelReason::PoClosed
                },
                Change::SetPoStatus {
                    from: Some(IonStatus::Ordered),
                    to: IonStatus::Canceled
                },
            ]
        );
    }

    #[test]
    fn rejected_after_sync_cancels_like_a_close() {
        let before = ns_po("A");
        let ion = ion_mirror(&before, IonStatus::Draft);
        let mut after = before.clone();
        after.status_letter = "C".into();
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(canceled(&plan).len(), 3);
        assert_eq!(last_status(&plan), Some(IonStatus::Canceled));
        assert!(!plan.changes.iter().any(Change::needs_draft));
    }

    #[test]
    fn quantity_below_received_is_a_problem_and_not_written() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 8.0;
        let mut after = before.clone();
        after.lines[0].quantity = 6.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert!(plan.is_noop(), "{:?}", plan.changes);
        assert_eq!(
            plan.problems[0].kind,
            ProblemKind::QuantityBelowReceived {
                ns_line_id: 1,
                quantity: 6.0,
                received: 8.0
            }
        );
        // Down to exactly the received quantity is fine.
        after.lines[0].quantity = 8.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert!(plan.problems.is_empty());
        assert!(plan.changes.iter().any(|c| matches!(c,
            Change::UpdateLine { fields, .. } if fields == &vec![LineField::Quantity(8.0)])));
    }

    #[test]
    fn item_change_on_a_received_line_is_a_problem() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 1.0;
        line_mut(&mut ion, 2).received_quantity = 0.0;
        let mut after = before.clone();
        after.lines[0].item_id = 102;
        after.lines[1].item_id = 101;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(plan.problems.len(), 1);
        assert_eq!(plan.problems[0].key(), "part-change-on-received-line:1");
        assert!(plan.changes.iter().any(|c| matches!(c,
            Change::UpdateLine { ns_line_id: 2, fields, .. } if fields == &vec![LineField::Part(1101)])));
    }

    #[test]
    fn item_changed_to_one_without_a_part_keeps_the_old_part_and_warns() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines[0].item_id = 105;
        after.lines[0].item_name = "NEW-ITEM".into();
        after.lines[0].rate = 3.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.problem_keys(),
            ["missing-part:1:105".to_string()].into()
        );
        assert!(plan.problems[0].message.contains("NEW-ITEM"));
        assert!(plan.problems[0].message.contains("keeps its old part"));
        assert!(plan.changes.iter().any(|c| matches!(c,
            Change::UpdateLine { fields, .. } if fields == &vec![LineField::Cost(3.0)])));
    }

    #[test]
    fn canceled_ion_line_that_is_open_in_netsuite_is_a_problem() {
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        line_mut(&mut ion, 2).status = IonStatus::Canceled;
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        assert!(plan.is_noop());
        assert_eq!(plan.problems[0].key(), "canceled-line-open:2");
    }

    #[test]
    fn crash_after_create_is_recovered_by_natural_keys_without_duplicates() {
        // ION has the PO and two of three lines, the link table has nothing yet.
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Draft);
        ion.lines.retain(|l| l.id != ion_line_of(3));
        let plan = plan_po(
            &ns,
            Some(&ion),
            None,
            &resolved(),
            &MappingConfig::default(),
        );
        assert_eq!(plan.ion_po_id, Some(ION_PO));
        assert_eq!(
            created_lines(&plan)
                .iter()
                .map(|l| l.ns_line_id)
                .collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(
            plan.changes.last(),
            Some(&Change::SetPoStatus {
                from: Some(IonStatus::Draft),
                to: IonStatus::Ordered
            })
        );
        assert_eq!(plan.changes.len(), 2);
    }

    #[test]
    fn interrupted_draft_round_trip_converges() {
        // Apply moved the PO to DRAFT, edited, and died before moving it back.
        let mut ns = ns_po("B");
        ns.lines[0].quantity = 12.0;
        let ion = ion_mirror(&ns, IonStatus::Draft);
        let plan = plan_linked(&ns, &ion, &link_for(&ns_po("B")));
        assert_eq!(
            plan.changes,
            vec![Change::SetPoStatus {
                from: Some(IonStatus::Draft),
                to: IonStatus::Ordered
            }]
        );
    }

    #[test]
    fn ion_lines_not_from_netsuite_are_left_alone_and_duplicates_reported() {
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        let mut manual = ion.lines[0].clone();
        manual.id = 777;
        manual.attributes.clear();
        let mut dup = ion.lines[0].clone();
        dup.id = 778;
        ion.lines.push(manual);
        ion.lines.push(dup);
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        assert!(plan.is_noop(), "{:?}", plan.changes);
        assert_eq!(
            plan.problems.iter().map(Problem::key).collect::<Vec<_>>(),
            vec!["duplicate-line:778"]
        );
        assert!(plan.notes.iter().any(|n| n.message.contains("line 777")));
    }

    #[test]
    fn linked_po_gone_from_ion_is_created_again_with_a_problem() {
        let ns = ns_po("B");
        let plan = plan_po(
            &ns,
            None,
            Some(&link_for(&ns)),
            &resolved(),
            &MappingConfig::default(),
        );
        assert!(matches!(plan.changes[0], Change::CreatePo { .. }));
        assert_eq!(
            plan.problem_keys(),
            ["linked-po-missing".to_string()].into()
        );
    }

    #[test]
    fn plan_carries_the_hash_to_record() {
        let ns = ns_po("B");
        assert_eq!(plan_new(&ns).content_hash, content_hash(&ns));
    }

    // --- deleting ------------------------------------------------------------------------

    #[test]
    fn delete_without_receipts_deletes_lines_then_po() {
        let ns = ns_po("B");
        let ion = ion_mirror(&ns, IonStatus::Ordered);
        let plan = plan_delete(PO_ID, Some(&ion), Some(&link_for(&ns)));
        assert_eq!(plan.tran_id, "PO1042");
        assert_eq!(
            plan.changes[0],
            Change::MovePoToDraft {
                from: Some(IonStatus::Ordered)
            }
        );
        assert_eq!(
            plan.changes[1..4]
                .iter()
                .map(|c| match c {
                    Change::DeleteLine {
                        ion_line_id,
                        ns_line_id,
                    } => (*ion_line_id, *ns_line_id),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            vec![
                (ion_line_of(1), Some(1)),
                (ion_line_of(2), Some(2)),
                (ion_line_of(3), Some(3))
            ]
        );
        assert_eq!(plan.changes[4], Change::DeletePo { ion_po_id: ION_PO });
        assert_eq!(plan.changes.len(), 5);
        assert!(plan.problems.is_empty());
    }

    #[test]
    fn delete_with_receipts_cancels_open_lines_and_warns_why() {
        let ns = ns_po("D");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 3.0;
        line_mut(&mut ion, 3).status = IonStatus::Canceled;
        let plan = plan_delete(PO_ID, Some(&ion), Some(&link_for(&ns)));
        assert_eq!(
            plan.changes,
            vec![Change::CancelLine {
                line: LineRef::Ion(ion_line_of(2)),
                ns_line_id: Some(2),
                reason: CancelReason::PoDeleted
            }]
        );
        assert_eq!(plan.problems.len(), 1);
        assert!(matches!(
            plan.problems[0].kind,
            ProblemKind::DeleteRefused {
                ion_po_id: ION_PO,
                ..
            }
        ));
        assert!(plan.problems[0].message.contains("received"));
        assert!(plan.problems[0].message.contains("PO1042"));
    }

    #[test]
    fn delete_refused_by_ion_falls_back_to_cancel() {
        let ns = ns_po("B");
        let ion = ion_mirror(&ns, IonStatus::Ordered);
        let plan = plan_delete_refused(PO_ID, &ion, Some(&link_for(&ns)), "PO has approvals");
        assert_eq!(canceled(&plan).len(), 3);
        assert!(plan.problems[0].message.contains("PO has approvals"));
    }

    #[test]
    fn delete_of_a_po_ion_no_longer_has_is_a_noop() {
        let plan = plan_delete(PO_ID, None, None);
        assert!(plan.is_noop());
        assert!(plan.problems.is_empty());
    }

    #[test]
    fn changes_read_well_in_logs() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines[1].quantity = 7.0;
        after.memo = None;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        let text: Vec<String> = plan.changes.iter().map(Change::to_string).collect();
        assert_eq!(
            text,
            vec![
                "update PO description",
                "move PO from ORDERED to DRAFT for line edits",
                "update ION line 502 (NetSuite line 2) quantity",
                "move PO back to ORDERED",
            ]
        );
        let created = plan_new(&ns_po("H"));
        assert_eq!(
            created.changes[0].to_string(),
            "create PO as DRAFT with attributes Netsuite PO Number, Netsuite RecordID"
        );
        assert!(
            created
                .changes
                .iter()
                .any(|c| c.to_string() == "cancel the new line for NetSuite line 1 (PoClosed)")
        );
    }

    #[test]
    fn plans_serialise_for_dry_run_and_the_store() {
        let plan = plan_new(&ns_po("H"));
        let json = serde_json::to_string(&plan).unwrap();
        let back: PoPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
    }
}
