//! The SQL side of SuiteQL: Oracle-style functions registered in SQLite and the few rewrites
//! SQLite needs (`BUILTIN.DF/CF`, the keyword `transaction`).
//!
//! Datetimes are stored as UTC epoch seconds (one-second resolution). `TO_CHAR` renders them in
//! the account's time zone and `TO_TIMESTAMP`/`TO_DATE` parse text in it, as NetSuite is assumed
//! to do (reference §3.6), so a client that converts time zones itself reads wrong rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};

fn user_err(msg: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(msg.into().into())
}

/// Oracle datetime format → chrono format. Supports what SuiteQL queries use in practice.
pub(crate) fn oracle_format(fmt: &str) -> Result<String, String> {
    let mut out = String::new();
    let up = fmt.to_ascii_uppercase();
    let b = up.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &up[i..];
        let (tok, len) = if rest.starts_with("YYYY") {
            ("%Y", 4)
        } else if rest.starts_with("HH24") {
            ("%H", 4)
        } else if rest.starts_with("HH12") {
            ("%I", 4)
        } else if rest.starts_with("HH") {
            ("%I", 2)
        } else if rest.starts_with("MM") {
            ("%m", 2)
        } else if rest.starts_with("MI") {
            ("%M", 2)
        } else if rest.starts_with("DD") {
            ("%d", 2)
        } else if rest.starts_with("SS") {
            ("%S", 2)
        } else if rest.starts_with("AM") || rest.starts_with("PM") {
            ("%p", 2)
        } else if let Some(ff) = rest.strip_prefix("FF") {
            // One-second resolution: fractional digits are always zero.
            let digits = ff.chars().take_while(|c| c.is_ascii_digit()).count();
            let n: usize = ff[..digits].parse().unwrap_or(6);
            out.push_str(&"0".repeat(n.clamp(1, 9)));
            i += 2 + digits;
            continue;
        } else {
            let c = b[i] as char;
            if c.is_ascii_alphabetic() {
                return Err(format!("unsupported format element in {fmt:?}"));
            }
            out.push(c);
            i += 1;
            continue;
        };
        out.push_str(tok);
        i += len;
    }
    Ok(out)
}

pub(crate) fn render(epoch: i64, fmt: &str, tz: Tz) -> Result<String, String> {
    let f = oracle_format(fmt)?;
    let t = DateTime::from_timestamp(epoch, 0).ok_or("datetime out of range")?;
    Ok(t.with_timezone(&tz).format(&f).to_string())
}

pub(crate) fn parse_local(text: &str, fmt: &str, tz: Tz) -> Result<i64, String> {
    let f = oracle_format(fmt)?;
    let naive = NaiveDateTime::parse_from_str(text, &f)
        .or_else(|_| {
            NaiveDate::parse_from_str(text, &f).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| format!("Invalid date value {text:?} for format {fmt:?}"))?;
    local_to_epoch(naive, tz)
}

pub(crate) fn local_to_epoch(naive: NaiveDateTime, tz: Tz) -> Result<i64, String> {
    let mapped = tz.from_local_datetime(&naive);
    let t = mapped
        .earliest()
        .or_else(|| {
            // Inside a DST gap: the wall-clock time does not exist; take the instant after it.
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .ok_or_else(|| format!("{naive} does not exist in {tz}"))?;
    Ok(t.timestamp())
}

fn text_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Blob(_) => return Err(user_err("blob argument")),
    })
}

/// Display text of a purchase-order (or other transaction) status letter (reference §5).
pub(crate) fn status_text(tran_type: &str, letter: &str) -> Option<&'static str> {
    match (tran_type, letter) {
        ("PurchOrd", "A") => Some("Pending Supervisor Approval"),
        ("PurchOrd", "B") => Some("Pending Receipt"),
        ("PurchOrd", "C") => Some("Rejected by Supervisor"),
        ("PurchOrd", "D") => Some("Partially Received"),
        ("PurchOrd", "E") => Some("Pending Billing/Partially Received"),
        ("PurchOrd", "F") => Some("Pending Bill"),
        ("PurchOrd", "G") => Some("Fully Billed"),
        ("PurchOrd", "H") => Some("Closed"),
        _ => None,
    }
}

/// Registers TO_CHAR, TO_TIMESTAMP, TO_DATE, NVL and the helpers the rewrites call.
pub(crate) fn register_functions(conn: &Connection, tz: Tz) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("to_char", 2, flags, move |ctx| {
        let fmt = text_arg(ctx, 1)?.unwrap_or_default();
        match ctx.get_raw(0) {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => render(n, &fmt, tz).map(Some).map_err(user_err),
            ValueRef::Real(f) => render(f as i64, &fmt, tz).map(Some).map_err(user_err),
            ValueRef::Text(t) => Ok(Some(String::from_utf8_lossy(t).into_owned())),
            ValueRef::Blob(_) => Err(user_err("TO_CHAR of a blob")),
        }
    })?;
    conn.create_scalar_function("to_char", 1, flags, |ctx| text_arg(ctx, 0))?;
    for name in ["to_timestamp", "to_date"] {
        conn.create_scalar_function(name, 2, flags, move |ctx| {
            let (Some(text), Some(fmt)) = (text_arg(ctx, 0)?, text_arg(ctx, 1)?) else {
                return Ok(None);
            };
            parse_local(&text, &fmt, tz).map(Some).map_err(user_err)
        })?;
    }
    conn.create_scalar_function("nvl", 2, flags, |ctx| {
        let v: Value = ctx.get(0)?;
        if v == Value::Null {
            ctx.get::<Value>(1)
        } else {
            Ok(v)
        }
    })?;
    conn.create_scalar_function("ns_status_text", 2, flags, |ctx| {
        let (t, l) = (text_arg(ctx, 0)?, text_arg(ctx, 1)?);
        Ok(match (t, l) {
            (Some(t), Some(l)) => status_text(&t, &l).map(str::to_owned).or(Some(l)),
            (_, l) => l,
        })
    })?;
    conn.create_scalar_function("ns_status_code", 2, flags, |ctx| {
        let (t, l) = (text_arg(ctx, 0)?, text_arg(ctx, 1)?);
        Ok(match (t, l) {
            (Some(t), Some(l)) => Some(format!("{t}:{l}")),
            (_, l) => l,
        })
    })?;
    Ok(())
}

/// Rewrites SuiteQL into SQLite: quotes the keyword `transaction` where it is an identifier and
/// replaces `BUILTIN.DF(x)` / `BUILTIN.CF(x)` by expressions that know which column they got.
pub(crate) fn rewrite(q: &str) -> Result<String, String> {
    let q = quote_transaction(q);
    rewrite_builtins(&q)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn quote_transaction(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 16);
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            // Copy a quoted literal or identifier verbatim ('' escapes stay inside).
            out.push(c);
            i += 1;
            while i < chars.len() {
                out.push(chars[i]);
                if chars[i] == c {
                    if i + 1 < chars.len() && chars[i + 1] == c {
                        out.push(c);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            continue;
        }
        if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word.eq_ignore_ascii_case("transaction") {
                out.push_str("\"transaction\"");
            } else {
                out.push_str(&word);
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn rewrite_builtins(q: &str) -> Result<String, String> {
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    loop {
        let upper = rest.to_ascii_uppercase();
        let pos = [upper.find("BUILTIN.DF("), upper.find("BUILTIN.CF(")]
            .into_iter()
            .flatten()
            .min();
        let Some(pos) = pos else {
            out.push_str(rest);
            return Ok(out);
        };
        let kind = &upper[pos + 8..pos + 10];
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 11..];
        let mut depth = 1;
        let mut end = None;
        let mut in_quote = false;
        for (i, c) in after.char_indices() {
            match c {
                '\'' => in_quote = !in_quote,
                '(' if !in_quote => depth += 1,
                ')' if !in_quote => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end.ok_or("unbalanced parentheses after BUILTIN function")?;
        let inner = rewrite_builtins(after[..end].trim())?;
        out.push_str(&builtin(kind, &inner));
        rest = &after[end + 1..];
    }
}

/// `alias.column` or `column` → (alias prefix incl. dot, column name).
fn split_column(inner: &str) -> Option<(String, String)> {
    let (alias, col) = match inner.rsplit_once('.') {
        Some((a, c)) => (format!("{a}."), c.to_string()),
        None => (String::new(), inner.to_string()),
    };
    let col_clean = col.trim_matches('"');
    let alias_ok = alias
        .trim_end_matches('.')
        .chars()
        .all(|c| is_ident(c) || c == '"');
    if alias_ok && !col_clean.is_empty() && col_clean.chars().all(is_ident) {
        Some((alias, col_clean.to_ascii_lowercase()))
    } else {
        None
    }
}

fn builtin(kind: &str, inner: &str) -> String {
    let Some((alias, col)) = split_column(inner) else {
        return format!("CAST(({inner}) AS TEXT)");
    };
    match (kind, col.as_str()) {
        ("DF", "status") => format!("ns_status_text({alias}type, {inner})"),
        ("CF", "status") => format!("ns_status_code({alias}type, {inner})"),
        ("DF", "entity") => format!(
            "(SELECT COALESCE(v__.companyname, v__.entityid) FROM vendor v__ WHERE v__.id = {inner})"
        ),
        ("DF", "item") => format!("(SELECT i__.itemid FROM item i__ WHERE i__.id = {inner})"),
        ("DF", "currency" | "subsidiary" | "location" | "approvalstatus") => format!(
            "COALESCE((SELECT l__.name FROM ns_list l__ WHERE l__.list = '{col}' AND l__.id = {inner}), CAST({inner} AS TEXT))"
        ),
        _ => format!("CAST(({inner}) AS TEXT)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_zones() {
        let tz: Tz = "America/Los_Angeles".parse().unwrap();
        // 2026-01-15 18:00:00 UTC is 10:00 in Los Angeles.
        let epoch = 1_768_500_000 - (1_768_500_000 % 86_400) + 18 * 3600;
        assert_eq!(
            render(epoch, "YYYY-MM-DD HH24:MI:SS", tz).unwrap(),
            "2026-01-15 10:00:00"
        );
        assert_eq!(
            parse_local("2026-01-15 10:00:00", "YYYY-MM-DD HH24:MI:SS", tz).unwrap(),
            epoch
        );
        assert_eq!(
            parse_local("2026-01-15", "YYYY-MM-DD", tz).unwrap(),
            epoch - 10 * 3600
        );
        assert!(oracle_format("YYYY-MM-DD Q").is_err());
    }

    #[test]
    fn rewrites() {
        let q = rewrite("SELECT BUILTIN.DF(t.status), tl.transaction FROM transaction t JOIN transactionline tl ON tl.transaction = t.id WHERE t.memo = 'transaction'").unwrap();
        assert!(q.contains("ns_status_text(t.type, t.status)"), "{q}");
        assert!(q.contains("FROM \"transaction\" t"), "{q}");
        assert!(q.contains("tl.\"transaction\" = t.id"), "{q}");
        assert!(q.contains("'transaction'"), "{q}");
        let q = rewrite("SELECT BUILTIN.DF(t.entity) AS v FROM x").unwrap();
        assert!(q.contains("FROM vendor v__"), "{q}");
    }
}
