//! The simulator's account data in SQLite, with NetSuite's table and column names and value
//! formats (status letters, `'T'`/`'F'` booleans, epoch-second datetimes rendered by `TO_CHAR`).
//!
//! Tables: `transaction` (POs and item receipts), `transactionline` (a mainline row with id 0 per
//! transaction, then item lines keyed `(transaction, id)`), `deletedrecord`, `vendor`, `item`,
//! plus `ns_list` for the display text of a few list fields. Custom `custbody_*` / `custcol_*` /
//! `custitem_*` fields become columns the first time they are used.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value as Json, json};

use super::sql;

const SCHEMA: &str = r#"
CREATE TABLE "transaction" (
  id INTEGER PRIMARY KEY, tranid TEXT, type TEXT NOT NULL, status TEXT, entity INTEGER,
  trandate INTEGER, duedate INTEGER, createddate INTEGER, lastmodifieddate INTEGER,
  currency INTEGER, subsidiary INTEGER, location INTEGER, memo TEXT, approvalstatus INTEGER,
  externalid TEXT
);
CREATE TABLE transactionline (
  uniquekey INTEGER PRIMARY KEY, "transaction" INTEGER NOT NULL, id INTEGER NOT NULL,
  linesequencenumber INTEGER, mainline TEXT NOT NULL, taxline TEXT NOT NULL DEFAULT 'F',
  item INTEGER, itemtype TEXT, quantity REAL, quantityshiprecv REAL, quantitybilled REAL,
  rate REAL, foreignamount REAL, isclosed TEXT NOT NULL DEFAULT 'F', expectedreceiptdate INTEGER,
  location INTEGER, memo TEXT, createdfrom INTEGER, orderline INTEGER, linelastmodifieddate INTEGER,
  UNIQUE ("transaction", id)
);
CREATE TABLE deletedrecord (
  recordid INTEGER NOT NULL, type TEXT NOT NULL, name TEXT, deleteddate INTEGER NOT NULL,
  deletedby INTEGER, context TEXT
);
CREATE TABLE vendor (
  id INTEGER PRIMARY KEY, entityid TEXT, companyname TEXT, isinactive TEXT NOT NULL DEFAULT 'F',
  lastmodifieddate INTEGER
);
CREATE TABLE item (
  id INTEGER PRIMARY KEY, itemid TEXT, itemtype TEXT, displayname TEXT, description TEXT,
  isinactive TEXT NOT NULL DEFAULT 'F', lastmodifieddate INTEGER
);
CREATE TABLE ns_list (list TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL);
INSERT INTO ns_list VALUES ('currency', 1, 'US Dollar'), ('subsidiary', 1, 'Parent Company'),
  ('location', 1, 'Main Warehouse'), ('approvalstatus', 1, 'Pending Approval'),
  ('approvalstatus', 2, 'Approved'), ('approvalstatus', 3, 'Rejected');
"#;

/// A NetSuite-style error: HTTP status, `o:errorCode`, `detail`, optional `o:errorPath`.
#[derive(Debug, Clone)]
pub(crate) struct NsError {
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
    pub path: Option<String>,
}

impl NsError {
    pub fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            path: None,
        }
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

fn internal(e: impl std::fmt::Display) -> NsError {
    NsError::new(
        500,
        "UNEXPECTED_ERROR",
        format!("An unexpected error occurred: {e}"),
    )
}

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

/// Snapshot of one PO line, for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct LineState {
    pub line_id: i64,
    pub quantity: f64,
    pub quantity_received: f64,
    pub is_closed: bool,
}

pub(crate) struct Db {
    conn: Connection,
    tz: Tz,
    next_txn: i64,
}

fn valid_custom(name: &str) -> Result<(), NsError> {
    let ok = name.starts_with("cust")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(NsError::new(
            400,
            "INVALID_CONTENT",
            format!("bad custom field name {name:?}"),
        ))
    }
}

impl Db {
    pub fn new(tz: Tz) -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        sql::register_functions(&conn, tz)?;
        Ok(Self {
            conn,
            tz,
            next_txn: 1000,
        })
    }

    fn ensure_column(&self, table: &str, name: &str) -> Result<(), NsError> {
        valid_custom(name)?;
        let exists: bool = self
            .conn
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))
            .and_then(|mut s| s.exists([name]))
            .map_err(internal)?;
        if !exists {
            self.conn
                .execute_batch(&format!("ALTER TABLE \"{table}\" ADD COLUMN {name} TEXT"))
                .map_err(internal)?;
        }
        Ok(())
    }

    fn custom_columns(&self, table: &str) -> Vec<String> {
        self.conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{table}') WHERE name LIKE 'cust%'"
            ))
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap_or_default()
    }

    /// How a date column (`trandate`, `expectedreceiptdate`, …) stores `d`: epoch seconds of
    /// midnight in the account's time zone.
    pub fn date_epoch(&self, d: NaiveDate) -> i64 {
        sql::local_to_epoch(d.and_hms_opt(0, 0, 0).unwrap_or_default(), self.tz).unwrap_or(0)
    }

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

    /// Status letter from the lines: nothing received → B, some → D, everything received or
    /// closed with something received → F, everything closed with nothing received → H.
    /// Letters A, C, G and H set by hand are kept.
    fn recompute_status(&self, po: i64) -> Result<(), NsError> {
        let current: String = self
            .conn
            .query_row(
                "SELECT status FROM \"transaction\" WHERE id = ?1",
                [po],
                |r| r.get(0),
            )
            .map_err(internal)?;
        if matches!(current.as_str(), "A" | "C" | "G" | "H") {
            return Ok(());
        }
        let (open_left, received, total): (i64, f64, i64) = self
            .conn
            .query_row(
                "SELECT COALESCE(SUM(CASE WHEN isclosed = 'F' AND quantityshiprecv < quantity THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(quantityshiprecv), 0), COUNT(*) \
                 FROM transactionline WHERE \"transaction\" = ?1 AND mainline = 'F' AND item IS NOT NULL",
                [po],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(internal)?;
        let status = match (open_left, received > 0.0) {
            (0, true) => "F",
            (0, false) if total > 0 => "H",
            (_, true) => "D",
            _ => "B",
        };
        self.conn
            .execute(
                "UPDATE \"transaction\" SET status = ?1 WHERE id = ?2",
                params![status, po],
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

    /// Runs one SuiteQL page: rewrite, refuse anything but a read-only SELECT, count, slice.
    pub fn suiteql(&self, q: &str, limit: u64, offset: u64) -> Result<(Vec<Json>, u64), NsError> {
        let trimmed = q.trim_start().to_ascii_uppercase();
        if !(trimmed.starts_with("SELECT") || trimmed.starts_with("WITH")) {
            return Err(invalid_query("only SELECT statements are allowed"));
        }
        let body = q.trim().trim_end_matches(';');
        if body.contains(';') {
            return Err(invalid_query("only one statement is allowed"));
        }
        let rewritten = sql::rewrite(body).map_err(|e| invalid_query(&e))?;
        let stmt = self
            .conn
            .prepare(&rewritten)
            .map_err(|e| invalid_query(&e.to_string()))?;
        if !stmt.readonly() {
            return Err(invalid_query("only SELECT statements are allowed"));
        }
        drop(stmt);
        let total: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM ({rewritten})"), [], |r| {
                r.get(0)
            })
            .map_err(|e| invalid_query(&e.to_string()))?;
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT * FROM ({rewritten}) LIMIT ?1 OFFSET ?2"))
            .map_err(|e| invalid_query(&e.to_string()))?;
        let names: Vec<String> = stmt
            .column_names()
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let mut rows = stmt
            .query(params![limit as i64, offset as i64])
            .map_err(|e| invalid_query(&e.to_string()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| invalid_query(&e.to_string()))? {
            let mut obj = serde_json::Map::new();
            obj.insert("links".into(), json!([]));
            for (i, name) in names.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let v = match row.get_ref(i).map_err(internal)? {
                    ValueRef::Null | ValueRef::Blob(_) => continue,
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(f) => f.to_string(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                };
                // NetSuite sends every value as a string and leaves NULL columns out.
                obj.insert(name.clone(), Json::String(v));
            }
            out.push(Json::Object(obj));
        }
        Ok((out, total.max(0) as u64))
    }

    /// `purchaseOrder/{id}` in the REST record shape (reference §6.2).
    pub fn purchase_order_json(&self, po: i64, base: &str, expand: bool) -> Result<Json, NsError> {
        let not_found = || {
            NsError::new(
                404,
                "NONEXISTENT_ID",
                format!(
                    "The record instance does not exist. Provide a valid record instance ID. ({po})"
                ),
            )
        };
        let custom = self.custom_columns("transaction");
        let extra: String = custom.iter().map(|c| format!(", t.{c}")).collect();
        let q = format!(
            "SELECT t.id, t.tranid, t.status, t.entity, \
             (SELECT COALESCE(companyname, entityid) FROM vendor WHERE id = t.entity), \
             t.trandate, t.createddate, t.lastmodifieddate, t.memo, t.approvalstatus, t.externalid{extra} \
             FROM \"transaction\" t WHERE t.id = ?1 AND t.type = 'PurchOrd'"
        );
        let tz = self.tz;
        let row = self
            .conn
            .query_row(&q, [po], |r| {
                let mut customs = serde_json::Map::new();
                for (i, c) in custom.iter().enumerate() {
                    if let Some(v) = r.get::<_, Option<String>>(11 + i)? {
                        customs.insert(c.clone(), Json::String(v));
                    }
                }
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    customs,
                ))
            })
            .optional()
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let (
            id,
            tranid,
            status,
            entity,
            vendor_name,
            trandate,
            created,
            lastmod,
            memo,
            approval,
            externalid,
            customs,
        ) = row;
        let iso = |e: Option<i64>| {
            e.and_then(|e| DateTime::<Utc>::from_timestamp(e, 0))
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        let rec = |kind: &str, id: i64, name: Option<String>| {
            json!({"id": id.to_string(), "refName": name,
                   "links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/{kind}/{id}")}]})
        };
        let status_name = sql::status_text("PurchOrd", &status).unwrap_or("Unknown");
        let mut obj = json!({
            "links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/purchaseorder/{id}")}],
            "id": id.to_string(),
            "tranId": tranid,
            "status": {"id": status_name, "refName": status_name},
            "orderStatus": {"id": status, "refName": status},
            "approvalStatus": approval.map(|a| json!({"id": a.to_string(), "refName": match a { 1 => "Pending Approval", 3 => "Rejected", _ => "Approved" }})),
            "tranDate": trandate.and_then(|t| sql::render(t, "YYYY-MM-DD", tz).ok()),
            "createdDate": iso(created),
            "lastModifiedDate": iso(lastmod),
            "memo": memo,
            "externalId": externalid,
            "currency": {"id": "1", "refName": "US Dollar"},
            "subsidiary": {"id": "1", "refName": "Parent Company"},
            "location": {"id": "1", "refName": "Main Warehouse"},
        });
        if let (Some(e), Json::Object(m)) = (entity, &mut obj) {
            m.insert("entity".into(), rec("vendor", e, vendor_name));
        }
        if let Json::Object(m) = &mut obj {
            m.retain(|_, v| !v.is_null());
            for (k, v) in customs {
                m.insert(k, v);
            }
            if expand {
                m.insert("item".into(), self.lines_json(po, base)?);
            } else {
                m.insert("item".into(), json!({"links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/purchaseorder/{id}/item")}]}));
            }
        }
        Ok(obj)
    }

    fn lines_json(&self, po: i64, base: &str) -> Result<Json, NsError> {
        let custom = self.custom_columns("transactionline");
        let extra: String = custom.iter().map(|c| format!(", tl.{c}")).collect();
        let tz = self.tz;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT tl.id, tl.item, i.itemid, tl.itemtype, tl.quantity, tl.quantityshiprecv, \
                 tl.quantitybilled, tl.rate, tl.foreignamount, tl.isclosed, tl.memo, tl.expectedreceiptdate{extra} \
                 FROM transactionline tl LEFT JOIN item i ON i.id = tl.item \
                 WHERE tl.\"transaction\" = ?1 AND tl.mainline = 'F' ORDER BY tl.linesequencenumber"
            ))
            .map_err(internal)?;
        let items = stmt
            .query_map([po], |r| {
                let line: i64 = r.get(0)?;
                let qty: f64 = r.get::<_, Option<f64>>(4)?.unwrap_or(0.0);
                let rec: f64 = r.get::<_, Option<f64>>(5)?.unwrap_or(0.0);
                let closed = r.get::<_, String>(9)? == "T";
                let item_type: Option<String> = r.get(3)?;
                let mut m = json!({
                    "links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/purchaseorder/{po}/item/{line}")}],
                    "line": line,
                    "item": {"id": r.get::<_, Option<i64>>(1)?.map(|i| i.to_string()), "refName": r.get::<_, Option<String>>(2)?},
                    "itemType": {"id": item_type, "refName": item_type},
                    "quantity": qty,
                    "quantityReceived": rec,
                    "quantityBilled": r.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
                    "rate": r.get::<_, Option<f64>>(7)?,
                    "amount": r.get::<_, Option<f64>>(8)?,
                    "isClosed": closed,
                    "isOpen": !closed && rec < qty,
                    "description": r.get::<_, Option<String>>(10)?,
                    "expectedReceiptDate": r.get::<_, Option<i64>>(11)?.and_then(|t| sql::render(t, "YYYY-MM-DD", tz).ok()),
                    "location": {"id": "1", "refName": "Main Warehouse"},
                });
                if let Json::Object(obj) = &mut m {
                    for (i, c) in custom.iter().enumerate() {
                        if let Some(v) = r.get::<_, Option<String>>(12 + i)? {
                            obj.insert(c.clone(), Json::String(v));
                        }
                    }
                    obj.retain(|_, v| !v.is_null());
                }
                Ok(m)
            })
            .map_err(internal)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(internal)?;
        let n = items.len();
        Ok(
            json!({"links": [], "count": n, "hasMore": false, "offset": 0, "totalResults": n, "items": items}),
        )
    }

    /// `POST purchaseOrder/{id}/!transform/itemReceipt` (reference §7): validates, applies,
    /// returns the new receipt's id.
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

fn invalid_query(detail: &str) -> NsError {
    NsError::new(
        400,
        "INVALID_PARAMETER",
        format!("Invalid search query. Detailed unprocessed description follows. {detail}"),
    )
}
