//! The receipt plan: ION receipt items → NetSuite item receipts (SPEC §3.2, issue #6 "Plan").
//!
//! One itemReceipt per (ION receipt, NetSuite PO), because NetSuite transforms a receipt from
//! exactly one PO while one ION receipt may span several. Items already mirrored are never sent
//! again; edits to them after mirroring become problems, never automatic changes to posted
//! NetSuite receipts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::plan::model::{QTY_EPSILON, same_amount};

/// One ION receipt item, as polled (`ReceiptItemsChangedSince`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IonReceiptItem {
    pub id: i64,
    pub receipt_id: i64,
    /// The receipt's `receivedAt`; becomes the NetSuite `tranDate`.
    pub received_at: DateTime<Utc>,
    /// The item's `_updated` (or the receipt's, whichever is later): what "quiet" is measured on.
    pub updated: DateTime<Utc>,
    pub quantity: f64,
    /// `None` for items not booked against a PO line.
    pub po_line_id: Option<i64>,
}

/// The link table's view of one ION PO line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedLine {
    pub ns_po_id: i64,
    pub ns_line_id: i64,
    pub non_receivable: bool,
}

/// An ION receipt item already sent to NetSuite (or durably intended to be).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirroredItem {
    pub receipt_id: i64,
    pub ns_po_id: i64,
    /// The quantity that was sent; a different quantity now means the item was edited.
    pub quantity: f64,
    /// The itemReceipt's `externalId` it went out with.
    pub external_id: String,
}

/// One open line of the NetSuite PO (`isclosed = 'F'`, quantity − received > 0 or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NsOpenLine {
    pub line_id: i64,
    /// Quantity NetSuite still expects (`quantity − quantityshiprecv`).
    pub remaining: f64,
}

/// Everything the receipt plan needs, gathered by the poll layer.
#[derive(Debug, Clone)]
pub struct ReceiptInputs<'a> {
    /// For every receipt that appears here, **all** its current items (the poll layer re-reads
    /// the receipt's items when any changed), so an item missing now was deleted.
    pub items: &'a [IonReceiptItem],
    /// ION PO line id → its NetSuite PO and line; absent = not a synced PO's line.
    pub lines: &'a BTreeMap<i64, LinkedLine>,
    /// ION receipt item id → what was already mirrored (or durably intended). Must hold at
    /// least every mirrored item of the receipts in `items` and in `deleted_receipts`: batch
    /// numbering and "deleted after mirroring" are derived from it.
    pub mirrored: &'a BTreeMap<i64, MirroredItem>,
    /// NetSuite PO id → its open lines, read for the POs [`pos_needing_open_lines`] names.
    pub open_lines: &'a BTreeMap<i64, Vec<NsOpenLine>>,
    /// Receipts the poll layer found deleted in ION (a mirrored receipt that no longer reads).
    pub deleted_receipts: &'a BTreeSet<i64>,
    /// A receipt is mirrored only once none of its items changed for this long (SPEC §3.2).
    pub settle: Duration,
    /// The time now: a parameter, so the plan stays pure and tests choose it.
    pub now: DateTime<Utc>,
    /// The NetSuite account's time zone; `tranDate` is `receivedAt`'s date there.
    pub tz: Tz,
}

/// One line of the itemReceipt body, serialised as NetSuite's `item.items[]` element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemReceiptLine {
    pub order_line: i64,
    pub item_receive: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quantity: Option<f64>,
}

/// An ION item an itemReceipt mirrors; apply records these (with the externalId) in the same
/// durable intent that precedes the NetSuite call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirroredBy {
    pub item_id: i64,
    pub ion_line_id: i64,
    pub ns_line_id: i64,
    pub quantity: f64,
}

/// One itemReceipt to create by transforming NetSuite PO `ns_po_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemReceiptPlan {
    pub receipt_id: i64,
    pub ns_po_id: i64,
    /// `ion-receipt-<receipt id>-<po id>`, then `-2`, `-3`, … for items added later.
    pub external_id: String,
    pub tran_date: NaiveDate,
    pub memo: String,
    /// Received lines (`itemReceive` true, quantity), then every other open line
    /// (`itemReceive` false), in line id order: the transform pre-fills every open line, so
    /// the ones not received must be switched off explicitly (netsuite.md §7.3).
    pub lines: Vec<ItemReceiptLine>,
    pub items: Vec<MirroredBy>,
}

impl ItemReceiptPlan {
    /// The body of `POST …/purchaseOrder/{ns_po_id}/!transform/itemReceipt` (netsuite.md §7.1).
    /// Location, bins and lots are left to NetSuite's pre-fill; the client may add to it.
    pub fn request_body(&self) -> serde_json::Value {
        serde_json::json!({
            "tranDate": self.tran_date.to_string(),
            "memo": self.memo,
            "externalId": self.external_id,
            "item": { "items": self.lines },
        })
    }
}

/// Why an item is not mirrored; logged at debug level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    NotOnPoLine,
    /// The ION line is not in the link table: its PO is not synced from NetSuite.
    LineNotSynced,
    NonReceivable,
    AlreadyMirrored,
    /// Quantity zero or below: nothing was received.
    ZeroQuantity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skip {
    pub item_id: i64,
    pub receipt_id: i64,
    pub reason: SkipReason,
}

/// A receipt still being filled in; the poll layer must not move its checkpoint past it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unsettled {
    pub receipt_id: i64,
    pub ready_at: DateTime<Utc>,
}

/// Something an admin must look at: a warning and an open problem `status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptProblem {
    pub kind: ReceiptProblemKind,
    /// The NetSuite PO the problem belongs to, when known.
    pub ns_po_id: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReceiptProblemKind {
    QuantityChangedAfterMirroring {
        receipt_id: i64,
        item_id: i64,
        sent: f64,
        now: f64,
    },
    ItemDeletedAfterMirroring {
        receipt_id: i64,
        item_id: i64,
        external_id: String,
    },
    ReceiptDeletedAfterMirroring {
        receipt_id: i64,
    },
    /// More received in ION than NetSuite still expects on the line: those items are held
    /// back instead of sending a request NetSuite would reject on every cycle.
    QuantityAboveExpected {
        receipt_id: i64,
        ns_line_id: i64,
        quantity: f64,
        remaining: f64,
        item_ids: Vec<i64>,
    },
    /// The poll layer did not supply the PO's open lines (a bug, not a data problem).
    OpenLinesUnknown {
        receipt_id: i64,
    },
}

impl ReceiptProblem {
    /// Stable key, so the store can tell a still-open problem from a resolved one.
    pub fn key(&self) -> String {
        match &self.kind {
            ReceiptProblemKind::QuantityChangedAfterMirroring { item_id, .. } => {
                format!("receipt-item-quantity-changed:{item_id}")
            }
            ReceiptProblemKind::ItemDeletedAfterMirroring { item_id, .. } => {
                format!("receipt-item-deleted:{item_id}")
            }
            ReceiptProblemKind::ReceiptDeletedAfterMirroring { receipt_id } => {
                format!("receipt-deleted:{receipt_id}")
            }
            ReceiptProblemKind::QuantityAboveExpected {
                receipt_id,
                ns_line_id,
                ..
            } => format!("receipt-above-expected:{receipt_id}:{ns_line_id}"),
            ReceiptProblemKind::OpenLinesUnknown { receipt_id } => {
                format!("receipt-open-lines-unknown:{receipt_id}")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReceiptPlan {
    pub creates: Vec<ItemReceiptPlan>,
    pub skipped: Vec<Skip>,
    pub unsettled: Vec<Unsettled>,
    pub problems: Vec<ReceiptProblem>,
}

/// The NetSuite POs whose open lines the plan will need: read them (in one SuiteQL batch)
/// before calling [`plan_receipts`].
pub fn pos_needing_open_lines(
    items: &[IonReceiptItem],
    lines: &BTreeMap<i64, LinkedLine>,
    mirrored: &BTreeMap<i64, MirroredItem>,
) -> BTreeSet<i64> {
    items
        .iter()
        .filter(|i| !mirrored.contains_key(&i.id))
        .filter_map(|i| lines.get(&i.po_line_id?))
        .filter(|l| !l.non_receivable)
        .map(|l| l.ns_po_id)
        .collect()
}

/// The `externalId` base of the itemReceipt for (ION receipt, NetSuite PO).
pub fn external_id_base(receipt_id: i64, ns_po_id: i64) -> String {
    format!("ion-receipt-{receipt_id}-{ns_po_id}")
}

/// The batch number an `externalId` carries (`base` = 1, `base-2` = 2, …); `None` when it is
/// not of this (receipt, PO). The one parser of batch numbers: the planner numbers batches with
/// it, and the receipts leg reads the batch of the item receipt it records.
pub fn batch_of(external_id: &str, base: &str) -> Option<u32> {
    let rest = external_id.strip_prefix(base)?;
    if rest.is_empty() {
        return Some(1);
    }
    rest.strip_prefix('-')?.parse().ok().filter(|n| *n >= 2)
}

/// Plans the NetSuite item receipts due for the given ION receipt items.
pub fn plan_receipts(inp: &ReceiptInputs<'_>) -> ReceiptPlan {
    let mut plan = ReceiptPlan::default();
    let settle = TimeDelta::from_std(inp.settle).unwrap_or(TimeDelta::MAX);

    let mut receipts: BTreeMap<i64, Vec<&IonReceiptItem>> = BTreeMap::new();
    for item in inp.items {
        receipts.entry(item.receipt_id).or_default().push(item);
    }
    // What NetSuite still expects per (PO, line), consumed as this plan assigns quantities, so
    // two receipts in one cycle cannot together exceed it.
    let mut remaining: BTreeMap<(i64, i64), f64> = inp
        .open_lines
        .iter()
        .flat_map(|(po, ls)| ls.iter().map(move |l| ((*po, l.line_id), l.remaining)))
        .collect();

    for (receipt_id, mut items) in receipts {
        items.sort_by_key(|i| i.id);
        let quiet_since = items.iter().map(|i| i.updated).max().expect("non-empty");
        let ready_at = quiet_since
            .checked_add_signed(settle)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if ready_at > inp.now {
            plan.unsettled.push(Unsettled {
                receipt_id,
                ready_at,
            });
            continue;
        }

        // Items mirrored before and now gone from the receipt.
        let present: BTreeSet<i64> = items.iter().map(|i| i.id).collect();
        for (item_id, m) in inp.mirrored {
            if m.receipt_id == receipt_id && !present.contains(item_id) {
                plan.problems.push(ReceiptProblem {
                    kind: ReceiptProblemKind::ItemDeletedAfterMirroring {
                        receipt_id,
                        item_id: *item_id,
                        external_id: m.external_id.clone(),
                    },
                    ns_po_id: Some(m.ns_po_id),
                    message: format!(
                        "ION receipt {receipt_id}: item {item_id} was deleted after it was sent to \
                         NetSuite as {}; correct the NetSuite item receipt by hand",
                        m.external_id
                    ),
                });
            }
        }

        let mut by_po: BTreeMap<i64, Vec<(&IonReceiptItem, i64, &LinkedLine)>> = BTreeMap::new();
        for item in &items {
            let skip = |reason| Skip {
                item_id: item.id,
                receipt_id,
                reason,
            };
            if let Some(m) = inp.mirrored.get(&item.id) {
                if same_amount(m.quantity, item.quantity) {
                    plan.skipped.push(skip(SkipReason::AlreadyMirrored));
                } else {
                    plan.problems.push(ReceiptProblem {
                        kind: ReceiptProblemKind::QuantityChangedAfterMirroring {
                            receipt_id,
                            item_id: item.id,
                            sent: m.quantity,
                            now: item.quantity,
                        },
                        ns_po_id: Some(m.ns_po_id),
                        message: format!(
                            "ION receipt {receipt_id}: item {} changed from {} to {} after it was \
                             sent to NetSuite as {}; correct the NetSuite item receipt by hand",
                            item.id, m.quantity, item.quantity, m.external_id
                        ),
                    });
                }
                continue;
            }
            let Some(ion_line_id) = item.po_line_id else {
                plan.skipped.push(skip(SkipReason::NotOnPoLine));
                continue;
            };
            let Some(linked) = inp.lines.get(&ion_line_id) else {
                plan.skipped.push(skip(SkipReason::LineNotSynced));
                continue;
            };
            if linked.non_receivable {
                plan.skipped.push(skip(SkipReason::NonReceivable));
                continue;
            }
            if item.quantity <= QTY_EPSILON {
                plan.skipped.push(skip(SkipReason::ZeroQuantity));
                continue;
            }
            by_po
                .entry(linked.ns_po_id)
                .or_default()
                .push((item, ion_line_id, linked));
        }

        let received_at = items[0].received_at;
        for (ns_po_id, group) in by_po {
            let Some(open) = inp.open_lines.get(&ns_po_id) else {
                plan.problems.push(ReceiptProblem {
                    kind: ReceiptProblemKind::OpenLinesUnknown { receipt_id },
                    ns_po_id: Some(ns_po_id),
                    message: format!(
                        "ION receipt {receipt_id}: open lines of NetSuite PO {ns_po_id} were not \
                         read; nothing sent"
                    ),
                });
                continue;
            };
            // Sum per NetSuite line (several lots or bins of one line are one orderLine).
            let mut per_line: BTreeMap<i64, (f64, Vec<MirroredBy>)> = BTreeMap::new();
            for (item, ion_line_id, linked) in group {
                let e = per_line.entry(linked.ns_line_id).or_default();
                e.0 += item.quantity;
                e.1.push(MirroredBy {
                    item_id: item.id,
                    ion_line_id,
                    ns_line_id: linked.ns_line_id,
                    quantity: item.quantity,
                });
            }
            let mut received: BTreeMap<i64, f64> = BTreeMap::new();
            let mut mirrored_by = Vec::new();
            for (ns_line_id, (qty, items)) in per_line {
                let left = remaining
                    .get(&(ns_po_id, ns_line_id))
                    .copied()
                    .unwrap_or(0.0);
                if qty > left + QTY_EPSILON * qty.max(1.0) {
                    plan.problems.push(ReceiptProblem {
                        kind: ReceiptProblemKind::QuantityAboveExpected {
                            receipt_id,
                            ns_line_id,
                            quantity: qty,
                            remaining: left,
                            item_ids: items.iter().map(|i| i.item_id).collect(),
                        },
                        ns_po_id: Some(ns_po_id),
                        message: format!(
                            "ION receipt {receipt_id}: {qty} received on NetSuite PO {ns_po_id} \
                             line {ns_line_id}, but NetSuite expects only {left} more; those items \
                             are held until the PO is corrected"
                        ),
                    });
                    continue;
                }
                remaining.insert((ns_po_id, ns_line_id), left - qty);
                received.insert(ns_line_id, qty);
                mirrored_by.extend(items);
            }
            if received.is_empty() {
                continue;
            }

            let base = external_id_base(receipt_id, ns_po_id);
            let last_batch = inp
                .mirrored
                .values()
                .filter(|m| m.receipt_id == receipt_id && m.ns_po_id == ns_po_id)
                .filter_map(|m| batch_of(&m.external_id, &base))
                .max();
            let external_id = match last_batch {
                None => base,
                Some(n) => format!("{base}-{}", n + 1),
            };

            let mut lines: Vec<ItemReceiptLine> = received
                .iter()
                .map(|(&order_line, &q)| ItemReceiptLine {
                    order_line,
                    item_receive: true,
                    quantity: Some(q),
                })
                .collect();
            // A line an earlier itemReceipt of this same plan received in full is no longer
            // open when this one is sent, and NetSuite refuses a closed `orderLine`.
            let mut others: Vec<i64> = open
                .iter()
                .map(|l| l.line_id)
                .filter(|id| !received.contains_key(id))
                .filter(|id| {
                    remaining
                        .get(&(ns_po_id, *id))
                        .is_none_or(|left| *left > QTY_EPSILON)
                })
                .collect();
            others.sort_unstable();
            others.dedup();
            lines.extend(others.into_iter().map(|order_line| ItemReceiptLine {
                order_line,
                item_receive: false,
                quantity: None,
            }));

            plan.creates.push(ItemReceiptPlan {
                receipt_id,
                ns_po_id,
                external_id,
                tran_date: received_at.with_timezone(&inp.tz).date_naive(),
                memo: format!("ION receipt {receipt_id}"),
                lines,
                items: mirrored_by,
            });
        }
    }

    for &receipt_id in inp.deleted_receipts {
        let po = inp
            .mirrored
            .values()
            .find(|m| m.receipt_id == receipt_id)
            .map(|m| m.ns_po_id);
        if let Some(ns_po_id) = po {
            plan.problems.push(ReceiptProblem {
                kind: ReceiptProblemKind::ReceiptDeletedAfterMirroring { receipt_id },
                ns_po_id: Some(ns_po_id),
                message: format!(
                    "ION receipt {receipt_id} was deleted after it was sent to NetSuite; correct \
                     the NetSuite item receipt(s) by hand"
                ),
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_numbers_are_read_from_the_external_id() {
        assert_eq!(batch_of("ion-receipt-7-9", "ion-receipt-7-9"), Some(1));
        assert_eq!(batch_of("ion-receipt-7-9-3", "ion-receipt-7-9"), Some(3));
        assert_eq!(batch_of("ion-receipt-7-99", "ion-receipt-7-9"), None);
        assert_eq!(batch_of("ion-receipt-8-9", "ion-receipt-7-9"), None);
    }
    use chrono::TimeZone;
    use serde_json::json;

    const PO_A: i64 = 4711;
    const PO_B: i64 = 4712;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, h, m, s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        t(12, 0, 0)
    }

    /// ION lines 501–504 mirror PO_A lines 1–4 (line 4 is a service: Non-receivable);
    /// ION line 601 mirrors PO_B line 1.
    fn lines() -> BTreeMap<i64, LinkedLine> {
        let l = |ns_po_id, ns_line_id, non_receivable| LinkedLine {
            ns_po_id,
            ns_line_id,
            non_receivable,
        };
        [
            (501, l(PO_A, 1, false)),
            (502, l(PO_A, 2, false)),
            (503, l(PO_A, 3, false)),
            (504, l(PO_A, 4, true)),
            (601, l(PO_B, 1, false)),
        ]
        .into()
    }

    fn open_lines() -> BTreeMap<i64, Vec<NsOpenLine>> {
        let o = |line_id, remaining| NsOpenLine { line_id, remaining };
        [
            (PO_A, vec![o(1, 10.0), o(2, 5.0), o(3, 2.0), o(4, 1.0)]),
            (PO_B, vec![o(1, 8.0)]),
        ]
        .into()
    }

    fn item(id: i64, receipt_id: i64, po_line_id: Option<i64>, quantity: f64) -> IonReceiptItem {
        IonReceiptItem {
            id,
            receipt_id,
            received_at: t(11, 30, 0),
            updated: t(11, 58, 0),
            quantity,
            po_line_id,
        }
    }

    fn mirrored(receipt_id: i64, ns_po_id: i64, quantity: f64, external_id: &str) -> MirroredItem {
        MirroredItem {
            receipt_id,
            ns_po_id,
            quantity,
            external_id: external_id.into(),
        }
    }

    struct Fixture {
        lines: BTreeMap<i64, LinkedLine>,
        mirrored: BTreeMap<i64, MirroredItem>,
        open: BTreeMap<i64, Vec<NsOpenLine>>,
        deleted: BTreeSet<i64>,
        now: DateTime<Utc>,
        tz: Tz,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                lines: lines(),
                mirrored: BTreeMap::new(),
                open: open_lines(),
                deleted: BTreeSet::new(),
                now: now(),
                tz: chrono_tz::America::Los_Angeles,
            }
        }

        fn plan(&self, items: &[IonReceiptItem]) -> ReceiptPlan {
            plan_receipts(&ReceiptInputs {
                items,
                lines: &self.lines,
                mirrored: &self.mirrored,
                open_lines: &self.open,
                deleted_receipts: &self.deleted,
                settle: Duration::from_secs(60),
                now: self.now,
                tz: self.tz,
            })
        }
    }

    fn recv(order_line: i64, q: f64) -> ItemReceiptLine {
        ItemReceiptLine {
            order_line,
            item_receive: true,
            quantity: Some(q),
        }
    }

    fn off(order_line: i64) -> ItemReceiptLine {
        ItemReceiptLine {
            order_line,
            item_receive: false,
            quantity: None,
        }
    }

    #[test]
    fn partial_receipt_of_two_of_three_lines() {
        let f = Fixture::new();
        let plan = f.plan(&[
            item(10, 1234, Some(501), 4.0),
            item(11, 1234, Some(502), 5.0),
        ]);
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert_eq!(plan.creates.len(), 1);
        let r = &plan.creates[0];
        assert_eq!(r.receipt_id, 1234);
        assert_eq!(r.ns_po_id, PO_A);
        assert_eq!(r.external_id, "ion-receipt-1234-4711");
        assert_eq!(r.memo, "ION receipt 1234");
        assert_eq!(r.tran_date, NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
        // Every other open line — including the non-receivable one — is switched off.
        assert_eq!(r.lines, vec![recv(1, 4.0), recv(2, 5.0), off(3), off(4)]);
        assert_eq!(
            r.items,
            vec![
                MirroredBy {
                    item_id: 10,
                    ion_line_id: 501,
                    ns_line_id: 1,
                    quantity: 4.0
                },
                MirroredBy {
                    item_id: 11,
                    ion_line_id: 502,
                    ns_line_id: 2,
                    quantity: 5.0
                },
            ]
        );
    }

    #[test]
    fn tran_date_is_the_accounts_date_not_utcs() {
        let mut f = Fixture::new();
        f.now = Utc.with_ymd_and_hms(2026, 1, 16, 4, 0, 0).unwrap();
        let mut it = item(10, 1234, Some(501), 1.0);
        it.received_at = Utc.with_ymd_and_hms(2026, 1, 16, 3, 0, 0).unwrap();
        it.updated = it.received_at;
        let plan = f.plan(&[it.clone()]);
        // 03:00 UTC on the 16th is 19:00 on the 15th in Los Angeles.
        assert_eq!(
            plan.creates[0].tran_date,
            NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
        );
        f.tz = chrono_tz::Asia::Tokyo;
        assert_eq!(
            f.plan(&[it]).creates[0].tran_date,
            NaiveDate::from_ymd_opt(2026, 1, 16).unwrap()
        );
    }

    #[test]
    fn items_added_later_get_the_next_suffix_and_only_the_new_items() {
        let mut f = Fixture::new();
        f.mirrored
            .insert(10, mirrored(1234, PO_A, 4.0, "ion-receipt-1234-4711"));
        f.mirrored
            .insert(11, mirrored(1234, PO_A, 5.0, "ion-receipt-1234-4711"));
        f.open.insert(
            PO_A,
            vec![
                NsOpenLine {
                    line_id: 1,
                    remaining: 6.0,
                },
                NsOpenLine {
                    line_id: 3,
                    remaining: 2.0,
                },
            ],
        );
        let items = [
            item(10, 1234, Some(501), 4.0),
            item(11, 1234, Some(502), 5.0),
            item(12, 1234, Some(503), 2.0),
        ];
        let plan = f.plan(&items);
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].external_id, "ion-receipt-1234-4711-2");
        assert_eq!(plan.creates[0].lines, vec![recv(3, 2.0), off(1)]);
        assert_eq!(plan.creates[0].items.len(), 1);
        assert_eq!(
            plan.skipped
                .iter()
                .filter(|s| s.reason == SkipReason::AlreadyMirrored)
                .count(),
            2
        );

        // And the batch after that is -3 (ids compared as numbers, not text).
        f.mirrored
            .insert(12, mirrored(1234, PO_A, 2.0, "ion-receipt-1234-4711-2"));
        f.mirrored
            .insert(13, mirrored(1234, PO_A, 1.0, "ion-receipt-1234-4711-10"));
        let mut more = items.to_vec();
        more.push(item(13, 1234, Some(501), 1.0));
        more.push(item(14, 1234, Some(501), 1.0));
        let plan = f.plan(&more);
        assert_eq!(plan.creates[0].external_id, "ion-receipt-1234-4711-11");
    }

    #[test]
    fn another_receipts_ids_do_not_count_towards_the_suffix() {
        let mut f = Fixture::new();
        // Receipt 123 (a prefix of 1234) and a different PO were mirrored before.
        f.mirrored
            .insert(1, mirrored(123, PO_A, 1.0, "ion-receipt-123-4711"));
        f.mirrored
            .insert(2, mirrored(1234, PO_B, 1.0, "ion-receipt-1234-4712"));
        let plan = f.plan(&[
            item(2, 1234, Some(601), 1.0),
            item(10, 1234, Some(501), 1.0),
        ]);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].external_id, "ion-receipt-1234-4711");
    }

    #[test]
    fn receipt_spanning_two_pos_makes_two_item_receipts() {
        let f = Fixture::new();
        let plan = f.plan(&[
            item(10, 1234, Some(501), 4.0),
            item(11, 1234, Some(601), 8.0),
        ]);
        assert_eq!(plan.creates.len(), 2);
        assert_eq!(plan.creates[0].external_id, "ion-receipt-1234-4711");
        assert_eq!(
            plan.creates[0].lines,
            vec![recv(1, 4.0), off(2), off(3), off(4)]
        );
        assert_eq!(plan.creates[1].external_id, "ion-receipt-1234-4712");
        assert_eq!(plan.creates[1].ns_po_id, PO_B);
        assert_eq!(plan.creates[1].lines, vec![recv(1, 8.0)]);
    }

    #[test]
    fn settle_delay_holds_a_receipt_still_being_filled_in() {
        let mut f = Fixture::new();
        let mut fresh = item(11, 1234, Some(502), 1.0);
        fresh.updated = t(11, 59, 30);
        let old = item(10, 1234, Some(501), 1.0);
        let plan = f.plan(&[old.clone(), fresh.clone()]);
        assert!(plan.creates.is_empty());
        assert_eq!(
            plan.unsettled,
            vec![Unsettled {
                receipt_id: 1234,
                ready_at: t(12, 0, 30)
            }]
        );
        // A different, quiet receipt in the same batch goes ahead.
        let other = item(20, 99, Some(503), 1.0);
        let plan = f.plan(&[old.clone(), fresh.clone(), other]);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].receipt_id, 99);

        // Exactly the settle delay later, it is mirrored.
        f.now = t(12, 0, 30);
        let plan = f.plan(&[old, fresh]);
        assert!(plan.unsettled.is_empty());
        assert_eq!(plan.creates.len(), 1);
    }

    #[test]
    fn edits_after_mirroring_are_problems_not_changes() {
        let mut f = Fixture::new();
        f.mirrored
            .insert(10, mirrored(1234, PO_A, 4.0, "ion-receipt-1234-4711"));
        f.mirrored
            .insert(11, mirrored(1234, PO_A, 5.0, "ion-receipt-1234-4711"));
        // Item 10's quantity changed, item 11 was removed from the receipt.
        let plan = f.plan(&[item(10, 1234, Some(501), 3.0)]);
        assert!(plan.creates.is_empty());
        let mut keys: Vec<String> = plan.problems.iter().map(ReceiptProblem::key).collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "receipt-item-deleted:11".to_string(),
                "receipt-item-quantity-changed:10".to_string()
            ]
        );
        let changed = plan
            .problems
            .iter()
            .find(|p| {
                matches!(
                    p.kind,
                    ReceiptProblemKind::QuantityChangedAfterMirroring { .. }
                )
            })
            .unwrap();
        assert_eq!(changed.ns_po_id, Some(PO_A));
        assert!(changed.message.contains("ion-receipt-1234-4711"));
        assert!(changed.message.contains("from 4 to 3"));

        // A whole receipt deleted in ION.
        f.deleted.insert(1234);
        let plan = f.plan(&[]);
        assert_eq!(
            plan.problems
                .iter()
                .map(ReceiptProblem::key)
                .collect::<Vec<_>>(),
            vec!["receipt-deleted:1234"]
        );
        // Deleted receipts never mirrored are nobody's concern.
        f.deleted = [555].into();
        assert!(f.plan(&[]).problems.is_empty());
    }

    #[test]
    fn skips_with_reasons() {
        let f = Fixture::new();
        let plan = f.plan(&[
            item(1, 1234, Some(504), 1.0), // service line
            item(2, 1234, Some(999), 1.0), // line of a PO not synced
            item(3, 1234, None, 1.0),      // not on a PO line
            item(4, 1234, Some(501), 0.0), // nothing received
        ]);
        assert!(plan.creates.is_empty());
        assert!(plan.problems.is_empty());
        assert_eq!(
            plan.skipped
                .iter()
                .map(|s| (s.item_id, s.reason))
                .collect::<Vec<_>>(),
            vec![
                (1, SkipReason::NonReceivable),
                (2, SkipReason::LineNotSynced),
                (3, SkipReason::NotOnPoLine),
                (4, SkipReason::ZeroQuantity),
            ]
        );
    }

    #[test]
    fn quantity_above_what_netsuite_expects_is_held_as_a_problem() {
        let f = Fixture::new();
        // Line 3 expects 2 more; 3 arrive. Line 1 is fine and still goes.
        let plan = f.plan(&[
            item(10, 1234, Some(501), 4.0),
            item(12, 1234, Some(503), 3.0),
        ]);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(
            plan.creates[0].lines,
            vec![recv(1, 4.0), off(2), off(3), off(4)]
        );
        assert_eq!(plan.creates[0].items.len(), 1);
        assert_eq!(plan.problems.len(), 1);
        assert_eq!(
            plan.problems[0].kind,
            ReceiptProblemKind::QuantityAboveExpected {
                receipt_id: 1234,
                ns_line_id: 3,
                quantity: 3.0,
                remaining: 2.0,
                item_ids: vec![12]
            }
        );
        assert_eq!(plan.problems[0].ns_po_id, Some(PO_A));

        // A line NetSuite no longer lists as open expects nothing.
        let plan = f.plan(&[item(20, 77, Some(601), 9.0)]);
        assert!(plan.creates.is_empty());
        assert_eq!(plan.problems[0].key(), "receipt-above-expected:77:1");
    }

    #[test]
    fn two_receipts_in_one_cycle_share_what_netsuite_expects() {
        let f = Fixture::new();
        let plan = f.plan(&[item(10, 1, Some(503), 2.0), item(11, 2, Some(503), 1.0)]);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].receipt_id, 1);
        assert_eq!(plan.problems.len(), 1);
        assert!(matches!(
            plan.problems[0].kind,
            ReceiptProblemKind::QuantityAboveExpected {
                receipt_id: 2,
                remaining: 0.0,
                ..
            }
        ));
    }

    #[test]
    fn a_line_an_earlier_receipt_of_the_same_plan_completed_is_not_listed_again() {
        let f = Fixture::new();
        // Receipt 1 receives line 3 in full (2 of 2); receipt 2 receives line 1.
        let plan = f.plan(&[item(10, 1, Some(503), 2.0), item(11, 2, Some(501), 1.0)]);
        assert_eq!(plan.creates.len(), 2);
        assert_eq!(
            plan.creates[0].lines,
            vec![recv(3, 2.0), off(1), off(2), off(4)]
        );
        assert_eq!(
            plan.creates[1].lines,
            vec![recv(1, 1.0), off(2), off(4)],
            "line 3 is closed by the time the second one is sent"
        );
    }

    #[test]
    fn several_items_on_one_line_become_one_order_line() {
        let f = Fixture::new();
        let plan = f.plan(&[
            item(10, 1234, Some(501), 4.0),
            item(11, 1234, Some(501), 2.5),
        ]);
        assert_eq!(plan.creates[0].lines[0], recv(1, 6.5));
        assert_eq!(plan.creates[0].items.len(), 2);
    }

    #[test]
    fn missing_open_lines_are_reported_not_guessed() {
        let mut f = Fixture::new();
        f.open.remove(&PO_B);
        let plan = f.plan(&[item(11, 1234, Some(601), 1.0)]);
        assert!(plan.creates.is_empty());
        assert_eq!(plan.problems[0].key(), "receipt-open-lines-unknown:1234");
    }

    #[test]
    fn open_lines_are_needed_only_for_receivable_unmirrored_items() {
        let mut mirrored_items = BTreeMap::new();
        mirrored_items.insert(11, mirrored(1, PO_B, 1.0, "x"));
        let pos = pos_needing_open_lines(
            &[
                item(10, 1, Some(501), 1.0),
                item(11, 1, Some(601), 1.0),
                item(12, 1, Some(504), 1.0),
                item(13, 1, Some(999), 1.0),
            ],
            &lines(),
            &mirrored_items,
        );
        assert_eq!(pos, [PO_A].into());
    }

    #[test]
    fn request_body_matches_the_transform_shape() {
        let f = Fixture::new();
        let plan = f.plan(&[item(10, 1234, Some(601), 4.0)]);
        assert_eq!(
            plan.creates[0].request_body(),
            json!({
                "tranDate": "2026-01-15",
                "memo": "ION receipt 1234",
                "externalId": "ion-receipt-1234-4712",
                "item": {"items": [{"orderLine": 1, "itemReceive": true, "quantity": 4.0}]}
            })
        );
    }

    #[test]
    fn item_receipt_lines_serialise_as_netsuite_expects() {
        assert_eq!(
            serde_json::to_value(vec![recv(1, 4.0), off(2)]).unwrap(),
            json!([
                {"orderLine": 1, "itemReceive": true, "quantity": 4.0},
                {"orderLine": 2, "itemReceive": false}
            ])
        );
    }
}
