//! NetSuite purchase-order status letters → ION `Purchaseorderstatusenum` (SPEC §3.1).
//!
//! The table is closed on purpose: a letter the table does not cover (`P`, `Y`, anything an
//! account adds) is an error with the reason, never a guess, because a wrong guess would
//! cancel or re-open a real order in ION.

use serde::{Deserialize, Serialize};

/// ION's `Purchaseorderstatusenum`, spelled as the GraphQL enum so it (de)serialises as-is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IonStatus {
    Draft,
    /// ION's approval flow ("In Review"); never set by the daemon, only read.
    Requested,
    /// ION's approval flow; never set by the daemon, only read.
    Approved,
    Ordered,
    Canceled,
    Received,
}

impl IonStatus {
    /// The GraphQL enum value, for logs and documents.
    pub fn as_str(self) -> &'static str {
        match self {
            IonStatus::Draft => "DRAFT",
            IonStatus::Requested => "REQUESTED",
            IonStatus::Approved => "APPROVED",
            IonStatus::Ordered => "ORDERED",
            IonStatus::Canceled => "CANCELED",
            IonStatus::Received => "RECEIVED",
        }
    }

    /// Parses the enum value, case-insensitively: ION rule code sees lower-case database values
    /// (`'ordered'`, ion.md §3), so a client may meet either spelling.
    pub fn parse(s: &str) -> Option<IonStatus> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "DRAFT" => IonStatus::Draft,
            "REQUESTED" => IonStatus::Requested,
            "APPROVED" => IonStatus::Approved,
            "ORDERED" => IonStatus::Ordered,
            "CANCELED" => IonStatus::Canceled,
            "RECEIVED" => IonStatus::Received,
            _ => return None,
        })
    }
}

impl std::fmt::Display for IonStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one NetSuite status letter means for ION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedStatus {
    /// The ION PO status NetSuite's status maps to.
    pub ion: IonStatus,
    /// False only for C (Rejected by Supervisor): a PO rejected before it was ever synced is
    /// never created in ION, since it was never a real order.
    pub create_when_unsynced: bool,
    /// True for H (Closed) and C (Rejected): the open (unreceived) ION lines are canceled;
    /// lines already received stay received.
    pub cancel_open_lines: bool,
}

/// Why a status letter could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("NetSuite PO status is empty")]
    Empty,
    #[error(
        "NetSuite PO status {0:?} is not in the mapping table (A–H); its meaning is unknown \
         (netsuite.md §5), so the PO is left untouched in ION"
    )]
    Unknown(String),
}

/// Maps a NetSuite PO status to ION (SPEC §3.1).
///
/// Accepts the bare letter SuiteQL returns in `transaction.status` (`"B"`) and the combined form
/// `BUILTIN.CF(status)` returns (`"PurchOrd:B"`), so the NetSuite layer may select either.
///
/// | letter | NetSuite | ION |
/// |---|---|---|
/// | A | Pending Supervisor Approval | DRAFT |
/// | B, D, E | Pending Receipt, Partially Received, Pending Billing/Partially Received | ORDERED |
/// | F, G | Pending Bill, Fully Billed | RECEIVED |
/// | H | Closed | CANCELED, open lines canceled |
/// | C | Rejected by Supervisor | CANCELED, open lines canceled; never created if never synced |
pub fn map(status: &str) -> Result<MappedStatus, StatusError> {
    let s = status.trim();
    if s.is_empty() {
        return Err(StatusError::Empty);
    }
    let letter = s.strip_prefix("PurchOrd:").unwrap_or(s);
    let plain = |ion| MappedStatus {
        ion,
        create_when_unsynced: true,
        cancel_open_lines: false,
    };
    Ok(match letter {
        "A" => plain(IonStatus::Draft),
        "B" | "D" | "E" => plain(IonStatus::Ordered),
        "F" | "G" => plain(IonStatus::Received),
        "H" => MappedStatus {
            ion: IonStatus::Canceled,
            create_when_unsynced: true,
            cancel_open_lines: true,
        },
        "C" => MappedStatus {
            ion: IonStatus::Canceled,
            create_when_unsynced: false,
            cancel_open_lines: true,
        },
        _ => return Err(StatusError::Unknown(s.to_string())),
    })
}

/// Whether a PO in this NetSuite status is still open, i.e. ION should still hold it as DRAFT or
/// ORDERED (A, B, D, E). The full reconciliation compares these field by field every night;
/// closed, rejected and fully received ones (C, F, G, H) only when NetSuite changed them (see
/// `Engine::reconcile_all`). A letter the table does not know counts as open, so its problem
/// stays in view.
pub fn still_open(status: &str) -> bool {
    match map(status) {
        Ok(m) => matches!(m.ion, IonStatus::Draft | IonStatus::Ordered),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_means_draft_or_ordered_in_ion() {
        for open in ["A", "B", "D", "E", "PurchOrd:B", "Z", ""] {
            assert!(still_open(open), "{open}");
        }
        for done in ["C", "F", "G", "H", "PurchOrd:H"] {
            assert!(!still_open(done), "{done}");
        }
    }

    #[test]
    fn all_eight_letters() {
        let cases = [
            ("A", IonStatus::Draft, true, false),
            ("B", IonStatus::Ordered, true, false),
            ("C", IonStatus::Canceled, false, true),
            ("D", IonStatus::Ordered, true, false),
            ("E", IonStatus::Ordered, true, false),
            ("F", IonStatus::Received, true, false),
            ("G", IonStatus::Received, true, false),
            ("H", IonStatus::Canceled, true, true),
        ];
        for (letter, ion, create, cancel) in cases {
            let m = map(letter).unwrap();
            assert_eq!(m.ion, ion, "{letter}");
            assert_eq!(m.create_when_unsynced, create, "{letter}");
            assert_eq!(m.cancel_open_lines, cancel, "{letter}");
        }
    }

    #[test]
    fn combined_form_is_accepted() {
        assert_eq!(map("PurchOrd:B").unwrap().ion, IonStatus::Ordered);
        assert_eq!(map(" H ").unwrap().ion, IonStatus::Canceled);
    }

    #[test]
    fn unknown_letters_are_errors_with_a_reason() {
        for bad in ["P", "Y", "b", "PurchOrd:Z", "Pending Receipt"] {
            let err = map(bad).unwrap_err();
            assert_eq!(err, StatusError::Unknown(bad.to_string()));
            assert!(err.to_string().contains("not in the mapping table"));
        }
        assert_eq!(map("  ").unwrap_err(), StatusError::Empty);
    }

    #[test]
    fn ion_status_round_trips() {
        for s in [
            IonStatus::Draft,
            IonStatus::Requested,
            IonStatus::Approved,
            IonStatus::Ordered,
            IonStatus::Canceled,
            IonStatus::Received,
        ] {
            assert_eq!(IonStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(IonStatus::parse("ordered"), Some(IonStatus::Ordered));
        assert_eq!(IonStatus::parse("PARTIALLY_RECEIVED"), None);
    }
}
