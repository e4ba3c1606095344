//! Open problems as the store keeps them: the typed kind, and its stored form (the kind's
//! name and the subject, as every version wrote them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which leg owns a problem. Each leg replaces only its own problems of a PO, so the PO sync
/// never clears what the receipts leg still waits on, nor the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    PurchaseOrders,
    Receipts,
}

/// How much an open problem matters. `status` lists errors first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Something is blocked: a PO or receipt does not reach the other side, or a destructive
    /// change is withheld, until an admin acts.
    Error,
    /// Something waits or was handled another way (a missing part, a refused delete whose open
    /// lines were canceled); the rest of the PO syncs.
    Warning,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an open problem is about: its leg, and for receipt problems the ION receipt (the
/// receipts leg resolves a receipt's problems when it plans that receipt again).
///
/// Stored as the name the daemon has always written (`kind`) plus the `subject` text, so a
/// store written before the kinds were typed opens unchanged, and one written now reads the
/// same in an older `status`. The receipt id is read from the subject in this one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A line's item has no ION part (the line waits for it).
    MissingPart,
    UnknownStatus,
    QuantityBelowReceived,
    PartChangeOnReceivedLine,
    AttributeValue,
    CanceledLineOpen,
    DuplicateLine,
    LinkedPoMissing,
    /// NetSuite deleted the PO, ION refused the delete; the open lines were canceled. Not
    /// retried by the PO cycle (nothing left to do).
    DeleteRefused,
    /// Applying the PO's plan failed; retried with a backoff.
    ApplyFailed,
    ReceiptEdited {
        receipt_id: i64,
    },
    ReceiptItemDeleted {
        receipt_id: i64,
    },
    ReceiptDeleted {
        receipt_id: i64,
    },
    ReceiptAboveExpected {
        receipt_id: i64,
    },
    ReceiptOpenLinesUnknown {
        receipt_id: i64,
    },
    /// NetSuite refused the item receipt; retried after a wait.
    ReceiptRejected {
        receipt_id: i64,
    },
    /// A kind this version does not know (written by a newer one): kept and shown as it is.
    Other {
        name: String,
        /// The level the newer version stored, if it stored one.
        level: Option<Level>,
    },
}

impl ProblemKind {
    /// The stored, machine-readable name (`missing_part`, `receipt_edited`, …), also what
    /// `status` shows.
    pub fn name(&self) -> &str {
        match self {
            ProblemKind::MissingPart => "missing_part",
            ProblemKind::UnknownStatus => "unknown_status",
            ProblemKind::QuantityBelowReceived => "quantity_below_received",
            ProblemKind::PartChangeOnReceivedLine => "part_change_on_received_line",
            ProblemKind::AttributeValue => "attribute_value",
            ProblemKind::CanceledLineOpen => "canceled_line_open",
            ProblemKind::DuplicateLine => "duplicate_line",
            ProblemKind::LinkedPoMissing => "linked_po_missing",
            ProblemKind::DeleteRefused => "delete_refused",
            ProblemKind::ApplyFailed => "apply_failed",
            ProblemKind::ReceiptEdited { .. } => "receipt_edited",
            ProblemKind::ReceiptItemDeleted { .. } => "receipt_item_deleted",
            ProblemKind::ReceiptDeleted { .. } => "receipt_deleted",
            ProblemKind::ReceiptAboveExpected { .. } => "receipt_above_expected",
            ProblemKind::ReceiptOpenLinesUnknown { .. } => "receipt_open_lines_unknown",
            ProblemKind::ReceiptRejected { .. } => "receipt_rejected",
            ProblemKind::Other { name, .. } => name,
        }
    }

    /// Error when the PO (or receipt) as a whole does not reach the other side or a change is
    /// withheld; warning when one detail waits. A kind written by a newer version keeps the
    /// level that version stored.
    pub fn level(&self) -> Level {
        match self {
            ProblemKind::UnknownStatus
            | ProblemKind::LinkedPoMissing
            | ProblemKind::ApplyFailed
            | ProblemKind::ReceiptAboveExpected { .. }
            | ProblemKind::ReceiptRejected { .. } => Level::Error,
            ProblemKind::MissingPart
            | ProblemKind::QuantityBelowReceived
            | ProblemKind::PartChangeOnReceivedLine
            | ProblemKind::AttributeValue
            | ProblemKind::CanceledLineOpen
            | ProblemKind::DuplicateLine
            | ProblemKind::DeleteRefused
            | ProblemKind::ReceiptEdited { .. }
            | ProblemKind::ReceiptItemDeleted { .. }
            | ProblemKind::ReceiptDeleted { .. }
            | ProblemKind::ReceiptOpenLinesUnknown { .. } => Level::Warning,
            ProblemKind::Other { level, .. } => level.unwrap_or(Level::Warning),
        }
    }

    /// The leg that owns it. An unknown kind is left to the PO leg's retry, as before kinds
    /// were typed, unless its name says receipts.
    pub fn leg(&self) -> Leg {
        match self {
            ProblemKind::Other { name, .. } if name.starts_with("receipt_") => Leg::Receipts,
            _ if self.receipt().is_some() => Leg::Receipts,
            _ => Leg::PurchaseOrders,
        }
    }

    /// The ION receipt a receipts-leg problem is about.
    pub fn receipt(&self) -> Option<i64> {
        match self {
            ProblemKind::ReceiptEdited { receipt_id }
            | ProblemKind::ReceiptItemDeleted { receipt_id }
            | ProblemKind::ReceiptDeleted { receipt_id }
            | ProblemKind::ReceiptAboveExpected { receipt_id }
            | ProblemKind::ReceiptOpenLinesUnknown { receipt_id }
            | ProblemKind::ReceiptRejected { receipt_id } => Some(*receipt_id),
            _ => None,
        }
    }

    /// The subject text receipt problems are stored under: it starts with the receipt.
    pub fn receipt_subject(receipt_id: i64, detail: &str) -> String {
        format!("ion receipt {receipt_id} {detail}")
    }

    fn parse(name: &str, subject: &str, level: Option<Level>) -> ProblemKind {
        let receipt = || -> Option<i64> {
            subject
                .strip_prefix("ion receipt ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        };
        let with_receipt = |make: fn(i64) -> ProblemKind| match receipt() {
            Some(receipt_id) => make(receipt_id),
            None => ProblemKind::Other {
                name: name.to_string(),
                level,
            },
        };
        match name {
            "missing_part" => ProblemKind::MissingPart,
            "unknown_status" => ProblemKind::UnknownStatus,
            "quantity_below_received" => ProblemKind::QuantityBelowReceived,
            "part_change_on_received_line" => ProblemKind::PartChangeOnReceivedLine,
            "attribute_value" => ProblemKind::AttributeValue,
            "canceled_line_open" => ProblemKind::CanceledLineOpen,
            "duplicate_line" => ProblemKind::DuplicateLine,
            "linked_po_missing" => ProblemKind::LinkedPoMissing,
            "delete_refused" => ProblemKind::DeleteRefused,
            "apply_failed" => ProblemKind::ApplyFailed,
            "receipt_edited" => {
                with_receipt(|receipt_id| ProblemKind::ReceiptEdited { receipt_id })
            }
            "receipt_item_deleted" => {
                with_receipt(|receipt_id| ProblemKind::ReceiptItemDeleted { receipt_id })
            }
            "receipt_deleted" => {
                with_receipt(|receipt_id| ProblemKind::ReceiptDeleted { receipt_id })
            }
            "receipt_above_expected" => {
                with_receipt(|receipt_id| ProblemKind::ReceiptAboveExpected { receipt_id })
            }
            "receipt_open_lines_unknown" => {
                with_receipt(|receipt_id| ProblemKind::ReceiptOpenLinesUnknown { receipt_id })
            }
            "receipt_rejected" => {
                with_receipt(|receipt_id| ProblemKind::ReceiptRejected { receipt_id })
            }
            other => ProblemKind::Other {
                name: other.to_string(),
                level,
            },
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// [`Problem`] as stored: the kind by name, as every version wrote it.
#[derive(Serialize, Deserialize)]
struct StoredProblem {
    kind: String,
    /// Written since levels exist; older versions ignore it, and a store without it reads the
    /// level from the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<Level>,
    subject: String,
    message: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    attempts: u32,
}

impl From<StoredProblem> for Problem {
    fn from(p: StoredProblem) -> Problem {
        Problem {
            kind: ProblemKind::parse(&p.kind, &p.subject, p.level),
            subject: p.subject,
            message: p.message,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            attempts: p.attempts,
        }
    }
}

impl From<Problem> for StoredProblem {
    fn from(p: Problem) -> StoredProblem {
        StoredProblem {
            kind: p.kind.name().to_string(),
            level: Some(p.kind.level()),
            subject: p.subject,
            message: p.message,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            attempts: p.attempts,
        }
    }
}

/// Something an admin must act on, or that the daemon retries every cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredProblem", into = "StoredProblem")]
pub struct Problem {
    pub kind: ProblemKind,
    /// What it is about, e.g. the NetSuite item or ION receipt.
    pub subject: String,
    pub message: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub attempts: u32,
}

impl Problem {
    pub fn level(&self) -> Level {
        self.kind.level()
    }
}

/// Open problems of one NetSuite PO (or of the receipts against it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoProblems {
    pub ns_po_id: i64,
    /// For the admin: the PO number when known.
    pub tran_id: Option<String>,
    pub problems: Vec<Problem>,
}

impl PoProblems {
    /// The most serious level among its problems (error before warning).
    pub fn level(&self) -> Option<Level> {
        self.problems.iter().map(Problem::level).min()
    }
}

/// Orders open problems for an admin: POs with an error first, and within each PO its errors
/// first; otherwise the order stays as it was (by PO id, then as recorded).
pub fn errors_first(problems: &mut [PoProblems]) {
    for po in problems.iter_mut() {
        po.problems.sort_by_key(Problem::level);
    }
    problems.sort_by_key(|po| po.level().unwrap_or(Level::Warning));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn po(id: i64, kinds: &[ProblemKind]) -> PoProblems {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        PoProblems {
            ns_po_id: id,
            tran_id: None,
            problems: kinds
                .iter()
                .map(|k| Problem {
                    kind: k.clone(),
                    subject: String::new(),
                    message: String::new(),
                    first_seen: at,
                    last_seen: at,
                    attempts: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn errors_come_first_and_the_rest_keeps_its_order() {
        let mut list = vec![
            po(1, &[ProblemKind::MissingPart]),
            po(2, &[ProblemKind::MissingPart, ProblemKind::ApplyFailed]),
            po(3, &[ProblemKind::AttributeValue]),
            po(4, &[ProblemKind::ReceiptRejected { receipt_id: 9 }]),
        ];
        errors_first(&mut list);
        let ids: Vec<i64> = list.iter().map(|p| p.ns_po_id).collect();
        assert_eq!(ids, [2, 4, 1, 3]);
        assert_eq!(list[0].problems[0].kind, ProblemKind::ApplyFailed);
        assert_eq!(list[0].level(), Some(Level::Error));
        assert_eq!(list[2].level(), Some(Level::Warning));
    }

    #[test]
    fn a_newer_kind_keeps_the_level_it_was_stored_with() {
        let json = r#"{"kind":"left_in_draft","level":"error","subject":"s","message":"m",
            "first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z","attempts":1}"#;
        let p: Problem = serde_json::from_str(json).expect("reads");
        assert_eq!(p.level(), Level::Error);
        let back = serde_json::to_value(&p).expect("writes");
        assert_eq!(back["kind"], "left_in_draft");
        assert_eq!(back["level"], "error");
    }
}
