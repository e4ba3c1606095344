//! The account as tests create and change it (what a person does in the NetSuite UI), and
//! snapshots of it for assertions. Every change bumps `lastmodifieddate`, as NetSuite does.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde_json::Value as Json;

use super::{Db, NsError, internal};

/// A vendor to create.
#[derive(Debug, Clone, Default)]
pub struct VendorSpec {
    pub entity_id: String,
    pub company_name: Option<String>,
}

/// An item to create. `item_type` is NetSuite's `itemtype` (`InvtPart`, `NonInvtPart`,
/// `Service`, `OthCharge`, …).
#[derive(Debug, Clone, Default)]
pub struct ItemSpec {
    pub item_id: String,
    pub item_type: String,
    pub display_name: Option<String>,
    /// Custom `custitem_*` (or other) fields, stored as text.
    pub fields: BTreeMap<String, String>,
}

/// A PO line to create.
#[derive(Debug, Clone, Default)]
pub struct LineSpec {
    pub item: i64,
    pub quantity: f64,
    pub rate: f64,
    pub memo: Option<String>,
    pub expected_receipt_date: Option<NaiveDate>,
    /// Custom `custcol_*` fields, stored as (display) text.
    pub fields: BTreeMap<String, String>,
}

/// A purchase order to create.
#[derive(Debug, Clone, Default)]
pub struct PoSpec {
    /// `PO<id>` when absent.
    pub tran_id: Option<String>,
    pub vendor: i64,
    /// Status letter, `B` (Pending Receipt) when absent; any letter is accepted.
    pub status: Option<String>,
    pub tran_date: Option<NaiveDate>,
    pub memo: Option<String>,
    /// Custom `custbody_*` fields, stored as (display) text.
    pub fields: BTreeMap<String, String>,
    pub lines: Vec<LineSpec>,
}

/// Snapshot of one PO line, for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct LineState {
    pub line_id: i64,
    pub quantity: f64,
    pub quantity_received: f64,
    pub is_closed: bool,
}

impl Db {
    pub fn create_vendor(&mut self, v: &VendorSpec, now: i64) -> Result<i64, NsError> {
        self.conn
            .execute(
                "INSERT INTO vendor (entityid, companyname, lastmodifieddate) VALUES (?1, ?2, ?3)",
                params![v.entity_id, v.company_name, now],
            )
            .map_err(internal)?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn create_item(&mut self, it: &ItemSpec, now: i64) -> Result<i64, NsError> {
        self.conn
            .execute(
                "INSERT INTO item (itemid, itemtype, displayname, lastmodifieddate) VALUES (?1, ?2, ?3, ?4)",
                params![it.item_id, it.item_type, it.display_name, now],
            )
            .map_err(internal)?;
        let id = self.conn.last_insert_rowid();
        for (k, v) in &it.fields {
            self.ensure_column("item", k)?;
            self.conn
                .execute(
                    &format!("UPDATE item SET {k} = ?1 WHERE id = ?2"),
                    params![v, id],
                )
                .map_err(internal)?;
        }
        Ok(id)
    }

    pub fn create_po(&mut self, po: &PoSpec, now: i64) -> Result<i64, NsError> {
        let tx = self.conn.unchecked_transaction().map_err(internal)?;
        self.next_txn += 1;
        let id = self.next_txn;
        let status = po.status.clone().unwrap_or_else(|| "B".into());
        let tran_date = po.tran_date.map(|d| self.date_epoch(d)).unwrap_or(now);
        tx.execute(
            "INSERT INTO \"transaction\" (id, tranid, type, status, entity, trandate, createddate, \
             lastmodifieddate, currency, subsidiary, location, memo, approvalstatus) \
             VALUES (?1, ?2, 'PurchOrd', ?3, ?4, ?5, ?6, ?6, 1, 1, 1, ?7, ?8)",
            params![
                id,
                po.tran_id.clone().unwrap_or_else(|| format!("PO{id}")),
                status,
                po.vendor,
                tran_date,
                now,
                po.memo,
                if status == "A" { 1 } else { 2 },
            ],
        )
        .map_err(internal)?;
        tx.execute(
            "INSERT INTO transactionline (\"transaction\", id, linesequencenumber, mainline) VALUES (?1, 0, 0, 'T')",
            params![id],
        )
        .map_err(internal)?;
        for (k, v) in &po.fields {
            self.ensure_column("transaction", k)?;
            tx.execute(
                &format!("UPDATE \"transaction\" SET {k} = ?1 WHERE id = ?2"),
                params![v, id],
            )
            .map_err(internal)?;
        }
        tx.commit().map_err(internal)?;
        for line in &po.lines {
            self.insert_line(id, line, now)?;
        }
        Ok(id)
    }

    fn insert_line(&mut self, po: i64, l: &LineSpec, now: i64) -> Result<i64, NsError> {
        let itemtype: Option<String> = self
            .conn
            .query_row("SELECT itemtype FROM item WHERE id = ?1", [l.item], |r| {
                r.get(0)
            })
            .optional()
            .map_err(internal)?
            .ok_or_else(|| NsError::new(400, "INVALID_CONTENT", format!("no item {}", l.item)))?;
        let (next_id, next_seq): (i64, i64) = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(id), 0) + 1, COALESCE(MAX(linesequencenumber), 0) + 1 \
                 FROM transactionline WHERE \"transaction\" = ?1",
                [po],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(internal)?;
        let erd = l.expected_receipt_date.map(|d| self.date_epoch(d));
        self.conn
            .execute(
                "INSERT INTO transactionline (\"transaction\", id, linesequencenumber, mainline, item, \
                 itemtype, quantity, quantityshiprecv, quantitybilled, rate, foreignamount, \
                 expectedreceiptdate, location, memo, linelastmodifieddate) \
                 VALUES (?1, ?2, ?3, 'F', ?4, ?5, ?6, 0, 0, ?7, ?8, ?9, 1, ?10, ?11)",
                params![
                    po, next_id, next_seq, l.item, itemtype, l.quantity, l.rate,
                    l.quantity * l.rate, erd, l.memo, now
                ],
            )
            .map_err(internal)?;
        for (k, v) in &l.fields {
            self.ensure_column("transactionline", k)?;
            self.conn
                .execute(
                    &format!(
                        "UPDATE transactionline SET {k} = ?1 WHERE \"transaction\" = ?2 AND id = ?3"
                    ),
                    params![v, po, next_id],
                )
                .map_err(internal)?;
        }
        Ok(next_id)
    }

    fn touch(&self, po: i64, now: i64) -> Result<(), NsError> {
        let n = self
            .conn
            .execute(
                "UPDATE \"transaction\" SET lastmodifieddate = ?1 WHERE id = ?2",
                params![now, po],
            )
            .map_err(internal)?;
        if n == 0 {
            return Err(NsError::new(
                404,
                "NONEXISTENT_ID",
                format!("no record {po}"),
            ));
        }
        Ok(())
    }

    /// Sets `lastmodifieddate` and nothing else (test knob: see `SimHandle::set_po_lastmodified`).
    pub fn set_lastmodified(&mut self, po: i64, at: i64) -> Result<(), NsError> {
        self.touch(po, at)
    }

    pub fn add_line(&mut self, po: i64, l: &LineSpec, now: i64) -> Result<i64, NsError> {
        self.touch(po, now)?;
        self.insert_line(po, l, now)
    }

    /// Sets a header column (`memo`, `status`, `entity`, `custbody_*`, …) and bumps
    /// `lastmodifieddate`.
    pub fn set_header(
        &mut self,
        po: i64,
        field: &str,
        value: Option<&str>,
        now: i64,
    ) -> Result<(), NsError> {
        let allowed = [
            "memo",
            "status",
            "entity",
            "tranid",
            "approvalstatus",
            "location",
            "trandate",
            "duedate",
        ];
        if !allowed.contains(&field) {
            self.ensure_column("transaction", field)?;
        }
        self.touch(po, now)?;
        self.conn
            .execute(
                &format!("UPDATE \"transaction\" SET {field} = ?1 WHERE id = ?2"),
                params![value, po],
            )
            .map_err(internal)?;
        Ok(())
    }

    /// Sets a line column (`quantity`, `rate`, `memo`, `item`, `expectedreceiptdate` (see
    /// [`Db::date_epoch`]), `custcol_*`, …) and bumps both
    /// modification dates.
    pub fn set_line(
        &mut self,
        po: i64,
        line: i64,
        field: &str,
        value: Json,
        now: i64,
    ) -> Result<(), NsError> {
        let allowed = [
            "quantity",
            "rate",
            "memo",
            "item",
            "isclosed",
            "expectedreceiptdate",
        ];
        if !allowed.contains(&field) {
            self.ensure_column("transactionline", field)?;
        }
        let v: rusqlite::types::Value = match value {
            Json::Null => rusqlite::types::Value::Null,
            Json::Number(n) => n
                .as_i64()
                .map(rusqlite::types::Value::Integer)
                .unwrap_or_else(|| rusqlite::types::Value::Real(n.as_f64().unwrap_or(0.0))),
            Json::String(s) => rusqlite::types::Value::Text(s),
            other => rusqlite::types::Value::Text(other.to_string()),
        };
        self.touch(po, now)?;
        let n = self
            .conn
            .execute(
                &format!(
                    "UPDATE transactionline SET {field} = ?1, linelastmodifieddate = ?2 \
                     WHERE \"transaction\" = ?3 AND id = ?4 AND mainline = 'F'"
                ),
                params![v, now, po, line],
            )
            .map_err(internal)?;
        if n == 0 {
            return Err(NsError::new(
                404,
                "NONEXISTENT_ID",
                format!("no line {line} on {po}"),
            ));
        }
        if field == "item" {
            self.conn
                .execute(
                    "UPDATE transactionline SET itemtype = (SELECT itemtype FROM item WHERE id = transactionline.item) \
                     WHERE \"transaction\" = ?1 AND id = ?2",
                    params![po, line],
                )
                .map_err(internal)?;
        }
        if field == "isclosed" {
            self.recompute_status(po)?;
        }
        Ok(())
    }

    /// Removes a line; the remaining lines are renumbered in `linesequencenumber` (not in `id`).
    pub fn remove_line(&mut self, po: i64, line: i64, now: i64) -> Result<(), NsError> {
        self.touch(po, now)?;
        self.conn
            .execute(
                "DELETE FROM transactionline WHERE \"transaction\" = ?1 AND id = ?2 AND mainline = 'F'",
                params![po, line],
            )
            .map_err(internal)?;
        self.conn
            .execute(
                "UPDATE transactionline SET linesequencenumber = (SELECT COUNT(*) FROM transactionline t2 \
                 WHERE t2.\"transaction\" = transactionline.\"transaction\" AND t2.mainline = 'F' AND t2.id <= transactionline.id) \
                 WHERE \"transaction\" = ?1 AND mainline = 'F'",
                [po],
            )
            .map_err(internal)?;
        Ok(())
    }

    /// Closes every line and sets status H.
    pub fn close_po(&mut self, po: i64, now: i64) -> Result<(), NsError> {
        self.touch(po, now)?;
        self.conn
            .execute(
                "UPDATE transactionline SET isclosed = 'T', linelastmodifieddate = ?2 WHERE \"transaction\" = ?1 AND mainline = 'F'",
                params![po, now],
            )
            .map_err(internal)?;
        self.conn
            .execute(
                "UPDATE \"transaction\" SET status = 'H' WHERE id = ?1",
                [po],
            )
            .map_err(internal)?;
        Ok(())
    }

    /// Deletes a PO: its rows go, a `deletedrecord` row appears.
    pub fn delete_po(&mut self, po: i64, now: i64) -> Result<(), NsError> {
        let tranid: Option<String> = self
            .conn
            .query_row(
                "SELECT tranid FROM \"transaction\" WHERE id = ?1 AND type = 'PurchOrd'",
                [po],
                |r| r.get(0),
            )
            .optional()
            .map_err(internal)?
            .ok_or_else(|| {
                NsError::new(404, "NONEXISTENT_ID", format!("no purchase order {po}"))
            })?;
        self.conn
            .execute(
                "DELETE FROM transactionline WHERE \"transaction\" = ?1",
                [po],
            )
            .map_err(internal)?;
        self.conn
            .execute("DELETE FROM \"transaction\" WHERE id = ?1", [po])
            .map_err(internal)?;
        self.conn
            .execute(
                "INSERT INTO deletedrecord (recordid, type, name, deleteddate, deletedby, context) \
                 VALUES (?1, 'purchaseorder', ?2, ?3, -4, 'UI')",
                params![po, tranid, now],
            )
            .map_err(internal)?;
        Ok(())
    }

    pub fn status(&self, po: i64) -> Option<String> {
        self.conn
            .query_row(
                "SELECT status FROM \"transaction\" WHERE id = ?1",
                [po],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    pub fn lines(&self, po: i64) -> Vec<LineState> {
        self.conn
            .prepare(
                "SELECT id, quantity, quantityshiprecv, isclosed FROM transactionline \
                 WHERE \"transaction\" = ?1 AND mainline = 'F' ORDER BY id",
            )
            .and_then(|mut s| {
                s.query_map([po], |r| {
                    Ok(LineState {
                        line_id: r.get(0)?,
                        quantity: r.get(1)?,
                        quantity_received: r.get(2)?,
                        is_closed: r.get::<_, String>(3)? == "T",
                    })
                })?
                .collect()
            })
            .unwrap_or_default()
    }
}
