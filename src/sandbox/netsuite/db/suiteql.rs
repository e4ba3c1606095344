//! SuiteQL: one page of a read-only query, rewritten for SQLite, every value a string.

use rusqlite::params;
use serde_json::{Value as Json, json};

use super::{Db, NsError, internal, sql};

impl Db {
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
}

fn invalid_query(detail: &str) -> NsError {
    NsError::new(
        400,
        "INVALID_PARAMETER",
        format!("Invalid search query. Detailed unprocessed description follows. {detail}"),
    )
}
