//! The simulator's account data in SQLite, with NetSuite's table and column names and value
//! formats (status letters, `'T'`/`'F'` booleans, epoch-second datetimes rendered by `TO_CHAR`).
//!
//! Tables: `transaction` (POs and item receipts), `transactionline` (a mainline row with id 0 per
//! transaction, then item lines keyed `(transaction, id)`), `deletedrecord`, `vendor`, `item`,
//! plus `ns_list` for the display text of a few list fields. Custom `custbody_*` / `custcol_*` /
//! `custitem_*` fields become columns the first time they are used.
//!
//! `Db` is split by what its methods are about: `account` (vendors, items and purchase orders as
//! tests create and change them, and snapshots for assertions), `suiteql` (the query endpoint),
//! `rest` (records in the REST shape) and `receipt` (the item-receipt transform).

mod account;
mod receipt;
mod rest;
mod suiteql;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rusqlite::{Connection, params};

use super::sql;

pub use account::{ItemSpec, LineSpec, LineState, PoSpec, VendorSpec};
pub use receipt::ItemReceiptInfo;

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
}
