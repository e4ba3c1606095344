//! Item receipts: the `!transform/itemReceipt` endpoint (validated like NetSuite, applied in one
//! SQLite transaction) and the receipts it created, for tests to inspect.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde_json::Value as Json;

use super::{Db, NsError, internal, sql};

/// A created item receipt, for tests to inspect.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReceiptInfo {
    pub id: i64,
    pub po_id: i64,
    pub external_id: Option<String>,
    pub memo: Option<String>,
    /// `YYYY-MM-DD` as rendered in the account time zone.
    pub tran_date: String,
    /// `(orderLine, quantity)` per received line.
    pub lines: Vec<(i64, f64)>,
}

impl Db {
    pub fn item_receipts(&self) -> Vec<ItemReceiptInfo> {
        let tz = self.tz;
        let heads: Vec<(i64, Option<String>, Option<String>, i64)> = self
            .conn
            .prepare(
                "SELECT id, externalid, memo, trandate FROM \"transaction\" WHERE type = 'ItemRcpt' ORDER BY id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect()
            })
            .unwrap_or_default();
        heads
            .into_iter()
            .map(|(id, external_id, memo, trandate)| {
                let lines: Vec<(i64, i64, f64)> = self
                    .conn
                    .prepare(
                        "SELECT createdfrom, orderline, quantity FROM transactionline \
                         WHERE \"transaction\" = ?1 AND mainline = 'F' ORDER BY id",
                    )
                    .and_then(|mut s| {
                        s.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                            .collect()
                    })
                    .unwrap_or_default();
                ItemReceiptInfo {
                    id,
                    po_id: lines.first().map(|l| l.0).unwrap_or(0),
                    external_id,
                    memo,
                    tran_date: sql::render(trandate, "YYYY-MM-DD", tz).unwrap_or_default(),
                    lines: lines.iter().map(|l| (l.1, l.2)).collect(),
                }
            })
            .collect()
    }

    /// `POST purchaseOrder/{id}/!transform/itemReceipt`: validates as NetSuite does (a PO in
    /// status B, D or E; an unused `externalId`; only open lines, each at most its remaining
    /// quantity; at least one line; with `strict_names`, no unknown field), applies, and
    /// returns the new receipt's id. Lines start pre-populated with their remaining quantity
    /// unless `replace_item` (`?replace=item`) empties the sublist first.
    pub fn transform_to_receipt(
        &mut self,
        po: i64,
        body: &Json,
        replace_item: bool,
        strict_names: bool,
        now: i64,
    ) -> Result<i64, NsError> {
        let obj = body.as_object().ok_or_else(|| {
            NsError::new(
                400,
                "INVALID_CONTENT",
                "The request body must be a JSON object.",
            )
        })?;
        let status = self
            .conn
            .query_row(
                "SELECT status FROM \"transaction\" WHERE id = ?1 AND type = 'PurchOrd'",
                [po],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(internal)?
            .ok_or_else(|| {
                NsError::new(
                    404,
                    "NONEXISTENT_ID",
                    format!("The record instance does not exist ({po})."),
                )
            })?;
        if strict_names {
            for k in obj.keys() {
                let known = ["externalId", "tranDate", "memo", "item"].contains(&k.as_str())
                    || k.starts_with("custbody");
                if !known {
                    return Err(NsError::new(
                        400,
                        "NONEXISTENT_FIELD",
                        format!("Invalid field name {k}."),
                    )
                    .at(k.clone()));
                }
            }
        }
        if !matches!(status.as_str(), "B" | "D" | "E") {
            return Err(NsError::new(
                400,
                "USER_ERROR",
                format!(
                    "You can not initialize itemreceipt: invalid reference {po} (purchase order status {status})."
                ),
            ));
        }
        let external_id = match obj.get("externalId") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(
                    NsError::new(400, "INVALID_CONTENT", "externalId must be a string")
                        .at("externalId"),
                );
            }
        };
        if let Some(ext) = &external_id {
            let dup: bool = self
                .conn
                .prepare(
                    "SELECT 1 FROM \"transaction\" WHERE type = 'ItemRcpt' AND externalid = ?1",
                )
                .and_then(|mut s| s.exists([ext]))
                .map_err(internal)?;
            if dup {
                return Err(NsError::new(
                    400,
                    "USER_ERROR",
                    format!("A record with the external ID {ext} already exists."),
                )
                .at("externalId"));
            }
        }
        let tran_date = match obj.get("tranDate") {
            None | Some(Json::Null) => now,
            Some(Json::String(s)) => {
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    NsError::new(
                        400,
                        "INVALID_CONTENT",
                        format!("Invalid Field Value {s} for the following field: trandate"),
                    )
                    .at("tranDate")
                })?;
                self.date_epoch(d)
            }
            Some(_) => {
                return Err(
                    NsError::new(400, "INVALID_CONTENT", "tranDate must be a date string")
                        .at("tranDate"),
                );
            }
        };
        let memo = obj.get("memo").and_then(Json::as_str).map(str::to_owned);
        // The open lines of the PO, pre-populated with their remaining quantity unless ?replace=item.
        let open: Vec<(i64, i64, String, f64)> = self
            .conn
            .prepare(
                "SELECT id, item, itemtype, quantity - quantityshiprecv FROM transactionline \
                 WHERE \"transaction\" = ?1 AND mainline = 'F' AND item IS NOT NULL AND isclosed = 'F' \
                 AND quantityshiprecv < quantity ORDER BY id",
            )
            .and_then(|mut s| s.query_map([po], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect())
            .map_err(internal)?;
        let mut chosen: BTreeMap<i64, Option<f64>> = if replace_item {
            BTreeMap::new()
        } else {
            open.iter().map(|l| (l.0, Some(l.3))).collect()
        };
        let items = match obj.get("item") {
            None | Some(Json::Null) => Vec::new(),
            Some(item) => item
                .get("items")
                .and_then(Json::as_array)
                .cloned()
                .ok_or_else(|| {
                    NsError::new(400, "INVALID_CONTENT", "item must be {\"items\": [...]}")
                        .at("item")
                })?,
        };
        for (i, el) in items.iter().enumerate() {
            let path = format!("item.items[{i}]");
            let el = el.as_object().ok_or_else(|| {
                NsError::new(400, "INVALID_CONTENT", "each item must be an object").at(path.clone())
            })?;
            if strict_names {
                for k in el.keys() {
                    if ![
                        "orderLine",
                        "itemReceive",
                        "itemreceive",
                        "quantity",
                        "location",
                    ]
                    .contains(&k.as_str())
                        && !k.starts_with("custcol")
                    {
                        return Err(NsError::new(
                            400,
                            "NONEXISTENT_FIELD",
                            format!("Invalid field name {k}."),
                        )
                        .at(format!("{path}.{k}")));
                    }
                }
            }
            let order_line = el.get("orderLine").and_then(Json::as_i64).ok_or_else(|| {
                NsError::new(
                    400,
                    "INVALID_CONTENT",
                    "orderLine is required and must be an integer",
                )
                .at(format!("{path}.orderLine"))
            })?;
            let Some(open_line) = open.iter().find(|l| l.0 == order_line) else {
                return Err(NsError::new(
                    400,
                    "INVALID_CONTENT",
                    format!("Invalid Field Value {order_line} for the following field: orderline (not an open line of purchase order {po})"),
                )
                .at(format!("{path}.orderLine")));
            };
            let receive = el
                .get("itemReceive")
                .or_else(|| el.get("itemreceive"))
                .map(|v| v.as_bool().unwrap_or(false))
                .unwrap_or(true);
            if !receive {
                chosen.remove(&order_line);
                continue;
            }
            let qty = match el.get("quantity") {
                None | Some(Json::Null) => open_line.3,
                Some(q) => q.as_f64().ok_or_else(|| {
                    NsError::new(400, "INVALID_CONTENT", "quantity must be a number")
                        .at(format!("{path}.quantity"))
                })?,
            };
            if qty <= 0.0 || qty > open_line.3 + 1e-9 {
                return Err(NsError::new(
                    400,
                    "INVALID_CONTENT",
                    format!("Invalid Field Value {qty} for the following field: quantity (remaining {})", open_line.3),
                )
                .at(format!("{path}.quantity")));
            }
            chosen.insert(order_line, Some(qty));
        }
        let chosen: Vec<(i64, f64)> = chosen
            .into_iter()
            .filter_map(|(l, q)| q.map(|q| (l, q)))
            .collect();
        if chosen.is_empty() {
            return Err(NsError::new(
                400,
                "USER_ERROR",
                "You must enter at least one line item for this transaction.",
            ));
        }
        let tx = self.conn.unchecked_transaction().map_err(internal)?;
        self.next_txn += 1;
        let id = self.next_txn;
        tx.execute(
            "INSERT INTO \"transaction\" (id, tranid, type, status, entity, trandate, createddate, lastmodifieddate, \
             currency, subsidiary, location, memo, externalid) \
             SELECT ?1, ?2, 'ItemRcpt', NULL, entity, ?3, ?4, ?4, currency, subsidiary, location, ?5, ?6 \
             FROM \"transaction\" WHERE id = ?7",
            params![id, format!("IR{id}"), tran_date, now, memo, external_id, po],
        )
        .map_err(internal)?;
        tx.execute(
            "INSERT INTO transactionline (\"transaction\", id, linesequencenumber, mainline) VALUES (?1, 0, 0, 'T')",
            [id],
        )
        .map_err(internal)?;
        for (n, (line, qty)) in chosen.iter().enumerate() {
            let item = open
                .iter()
                .find(|l| l.0 == *line)
                .map(|l| (l.1, l.2.clone()));
            tx.execute(
                "INSERT INTO transactionline (\"transaction\", id, linesequencenumber, mainline, item, itemtype, \
                 quantity, createdfrom, orderline, location) VALUES (?1, ?2, ?2, 'F', ?3, ?4, ?5, ?6, ?7, 1)",
                params![id, n as i64 + 1, item.as_ref().map(|i| i.0), item.map(|i| i.1), qty, po, line],
            )
            .map_err(internal)?;
            tx.execute(
                "UPDATE transactionline SET quantityshiprecv = quantityshiprecv + ?1, linelastmodifieddate = ?2 \
                 WHERE \"transaction\" = ?3 AND id = ?4",
                params![qty, now, po, line],
            )
            .map_err(internal)?;
        }
        tx.execute(
            "UPDATE \"transaction\" SET lastmodifieddate = ?1 WHERE id = ?2",
            params![now, po],
        )
        .map_err(internal)?;
        tx.commit().map_err(internal)?;
        self.recompute_status(po)?;
        Ok(id)
    }
}
