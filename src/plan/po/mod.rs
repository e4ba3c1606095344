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
use serde_json::Value;

use crate::plan::attrs;
use crate::plan::hash::content_hash;
use crate::plan::model::{
    ATTR_NON_RECEIVABLE, ATTR_NS_LINE_ID, ATTR_PO_NUMBER, ATTR_RECORD_ID, IonPurchaseOrderState,
    MappingConfig, NsPurchaseOrder, PoLink, Resolved, same_amount,
};
use crate::plan::status::{self, IonStatus, MappedStatus};

mod create;
mod ctx;
mod delete;
mod diff;
#[cfg(test)]
mod fixtures;
mod header;
mod lines;

use create::{cancel_reason, plan_create};
use ctx::{Ctx, clean, ns_line_of};
pub use delete::{plan_delete, plan_delete_refused};
use diff::Diff;
use header::{note_overwrites, plan_header};
use lines::plan_lines;

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
    pub(super) fn new(ns_po_id: i64, tran_id: &str, content_hash: String) -> Self {
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

    pub(super) fn problem(&mut self, kind: ProblemKind, message: String) {
        self.problems.push(Problem { kind, message });
    }

    pub(super) fn note(&mut self, level: NoteLevel, message: String) {
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

#[cfg(test)]
mod tests {
    use crate::plan::po::fixtures::*;

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
