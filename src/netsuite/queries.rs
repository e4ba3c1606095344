//! The SuiteQL queries the sync needs (reference §4), each keyset-paged from `offset=0` with an
//! `ORDER BY` over a unique key, so pages never skip or repeat rows and the 100,000-row ceiling
//! never applies (§3.4, §3.5).
//!
//! Datetimes are read with `TO_CHAR(…, 'YYYY-MM-DD HH24:MI:SS')` and fed back with
//! `TO_TIMESTAMP(…)` as the same text: no time-zone conversion happens in the client (§3.7).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::suiteql::{
    MAX_LIMIT, id_list, parse_bool, parse_i64, parse_opt_f64, parse_opt_i64, token_literal,
    validate_field_name, validate_timestamp_text,
};
use super::{Client, Error, Result};

/// Ids per `IN (…)` list when reading records by id (headers, vendors, items): one page of rows
/// each, and Oracle's 1,000-expression cap on `IN` lists stays far away.
pub const ID_BATCH: usize = 500;

/// PO ids per line query. Pages of one query follow each other (keyset), but separate queries
/// run side by side: 100 POs of ~10 lines are one page of 1,000 rows, so a chunk's lines arrive
/// in one round trip instead of five in a row. POs with fewer lines cost more requests per PO
/// (2 lines: one per 100 POs, still far under SPEC §8's 0.02).
pub const LINE_ID_BATCH: usize = 100;

/// Line batches started together; the client's in-flight cap (NetSuite's account limit) is the
/// real bound.
const BATCHES_IN_FLIGHT: usize = 8;

/// Prefix of the aliases under which extra (custom) fields are selected, so they never collide
/// with the standard columns of the same query.
const EXTRA_PREFIX: &str = "x_";

/// Keyset position in the PO change feed: `(lastmod_text, id)`, where `lastmod_text` is exactly
/// what `TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS')` returned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoCursor {
    lastmod: String,
    id: i64,
}

impl PoCursor {
    /// Validates the text form (it is spliced into SuiteQL).
    pub fn new(lastmod: impl Into<String>, id: i64) -> Result<Self> {
        let lastmod = lastmod.into();
        validate_timestamp_text(&lastmod)?;
        Ok(Self { lastmod, id })
    }

    /// Before every PO: the start of a backfill from the beginning.
    pub fn start() -> Self {
        Self {
            lastmod: "1970-01-01 00:00:00".into(),
            id: 0,
        }
    }

    /// The cursor at the start of `date` (`YYYY-MM-DD`), e.g. for `backfill --since`.
    pub fn since_date(date: &str) -> Result<Self> {
        Self::new(format!("{date} 00:00:00"), 0)
    }

    pub fn lastmod(&self) -> &str {
        &self.lastmod
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    /// The overlap restart point of §3.7: `lastmod − overlap` as naive wall-clock arithmetic on
    /// the text (no time zone involved), with id 0 so the whole second is re-read.
    pub fn rewind(&self, overlap: std::time::Duration) -> Self {
        let parsed = chrono::NaiveDateTime::parse_from_str(&self.lastmod, "%Y-%m-%d %H:%M:%S").ok();
        let back = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
        match parsed.and_then(|t| t.checked_sub_signed(back)) {
            Some(t) => Self {
                lastmod: t.format("%Y-%m-%d %H:%M:%S").to_string(),
                id: 0,
            },
            None => Self::start(),
        }
    }
}

/// A changed PO header.
#[derive(Debug, Clone, PartialEq)]
pub struct PoHeader {
    pub id: i64,
    pub tran_id: String,
    /// `TO_CHAR(lastmodifieddate)` text, the first half of this row's cursor.
    pub lastmod: String,
    /// Status letter (`B`, `D`, …; reference §5).
    pub status: String,
    pub status_text: Option<String>,
    pub vendor_id: Option<i64>,
    pub vendor_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub tran_date: Option<String>,
    pub due_date: Option<String>,
    pub memo: Option<String>,
    pub currency_id: Option<i64>,
    pub approval_status: Option<String>,
    /// Extra body fields as display text (`BUILTIN.DF`), keyed by field name.
    pub fields: BTreeMap<String, Option<String>>,
}

impl PoHeader {
    /// This row's keyset position.
    pub fn cursor(&self) -> PoCursor {
        PoCursor {
            lastmod: self.lastmod.clone(),
            id: self.id,
        }
    }
}

/// One page of the PO change feed.
#[derive(Debug, Clone)]
pub struct PoHeaderPage {
    pub headers: Vec<PoHeader>,
    /// Whether NetSuite has more rows after this page.
    pub has_more: bool,
    /// NetSuite's `totalResults`: how many rows the query matches from this page's cursor on
    /// (this page included), when NetSuite says. On a keyset feed it shrinks page by page, so
    /// the first page's value is the size of the whole feed (`backfill` shows it as the total).
    pub total_results: Option<u64>,
}

impl PoHeaderPage {
    /// The cursor to ask from next (the last row's), or `None` for an empty page.
    pub fn next_cursor(&self) -> Option<PoCursor> {
        self.headers.last().map(PoHeader::cursor)
    }
}

/// A PO line (item sublist row).
#[derive(Debug, Clone, PartialEq)]
pub struct PoLine {
    pub po_id: i64,
    /// `transactionline.id`: the key, and the transform's `orderLine` (reference §4.2).
    pub line_id: i64,
    pub line_seq: Option<i64>,
    pub item_id: Option<i64>,
    pub item_name: Option<String>,
    /// `InvtPart`, `Service`, `OthCharge`, …
    pub item_type: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_received: Option<f64>,
    pub rate: Option<f64>,
    pub is_closed: bool,
    pub memo: Option<String>,
    /// `YYYY-MM-DD`.
    pub expected_receipt_date: Option<String>,
    /// Extra line fields as display text, keyed by field name.
    pub fields: BTreeMap<String, Option<String>>,
}

/// Keyset position in the `DeletedRecord` feed: `(deleted_at_text, record_id)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeletedCursor {
    deleted_at: String,
    record_id: i64,
}

impl DeletedCursor {
    pub fn new(deleted_at: impl Into<String>, record_id: i64) -> Result<Self> {
        let deleted_at = deleted_at.into();
        validate_timestamp_text(&deleted_at)?;
        Ok(Self {
            deleted_at,
            record_id,
        })
    }

    pub fn start() -> Self {
        Self {
            deleted_at: "1970-01-01 00:00:00".into(),
            record_id: 0,
        }
    }

    pub fn deleted_at(&self) -> &str {
        &self.deleted_at
    }

    pub fn record_id(&self) -> i64 {
        self.record_id
    }
}

/// A deleted purchase order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPo {
    pub record_id: i64,
    pub deleted_at: String,
}

impl DeletedPo {
    pub fn cursor(&self) -> DeletedCursor {
        DeletedCursor {
            deleted_at: self.deleted_at.clone(),
            record_id: self.record_id,
        }
    }
}

/// One page of the deletion feed.
#[derive(Debug, Clone)]
pub struct DeletedPage {
    pub deleted: Vec<DeletedPo>,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendor {
    pub id: i64,
    pub entity_id: Option<String>,
    pub company_name: Option<String>,
    pub is_inactive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: i64,
    pub item_id: Option<String>,
    pub item_type: Option<String>,
    pub display_name: Option<String>,
    pub fields: BTreeMap<String, Option<String>>,
}

fn extras(fields: &[String], alias: &str) -> Result<String> {
    let mut s = String::new();
    for f in fields {
        validate_field_name(f)?;
        s.push_str(&format!(", BUILTIN.DF({alias}.{f}) AS {EXTRA_PREFIX}{f}"));
    }
    Ok(s)
}

fn take_extras(
    fields: &[String],
    raw: &mut BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, Option<String>> {
    fields
        .iter()
        .map(|f| {
            let v = raw
                .remove(&format!("{EXTRA_PREFIX}{f}"))
                .and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                });
            (f.clone(), v)
        })
        .collect()
}

/// The columns of a PO header, shared by the change feed and the lookups by id.
const HEADER_SELECT: &str = "SELECT t.id AS id, t.tranid AS tranid, \
     TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmod, \
     t.status AS status_letter, BUILTIN.DF(t.status) AS status_text, \
     t.entity AS vendor_id, BUILTIN.DF(t.entity) AS vendor_name, \
     TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, \
     t.memo AS memo, t.currency AS currency_id, t.approvalstatus AS approvalstatus";

fn header_from_row(mut r: HeaderRow, extra_body_fields: &[String]) -> Result<PoHeader> {
    let fields = take_extras(extra_body_fields, &mut r.rest);
    let lastmod = need_text("lastmod", r.lastmod)?;
    validate_timestamp_text(&lastmod)?;
    Ok(PoHeader {
        id: parse_i64("id", &r.id)?,
        tran_id: r.tranid.unwrap_or_default(),
        lastmod,
        status: need_text("status_letter", r.status_letter)?,
        status_text: r.status_text,
        vendor_id: parse_opt_i64(&r.vendor_id),
        vendor_name: r.vendor_name,
        tran_date: r.trandate,
        due_date: r.duedate,
        memo: r.memo,
        currency_id: parse_opt_i64(&r.currency_id),
        approval_status: r.approvalstatus,
        fields,
    })
}

#[derive(Deserialize)]
struct HeaderRow {
    id: Option<String>,
    tranid: Option<String>,
    lastmod: Option<String>,
    status_letter: Option<String>,
    status_text: Option<String>,
    vendor_id: Option<String>,
    vendor_name: Option<String>,
    trandate: Option<String>,
    duedate: Option<String>,
    memo: Option<String>,
    currency_id: Option<String>,
    approvalstatus: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct LineRow {
    po_id: Option<String>,
    line_id: Option<String>,
    line_seq: Option<String>,
    item_id: Option<String>,
    item_name: Option<String>,
    itemtype: Option<String>,
    quantity: Option<String>,
    qty_received: Option<String>,
    rate: Option<String>,
    isclosed: Option<String>,
    memo: Option<String>,
    expectedreceiptdate: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct DeletedRow {
    recordid: Option<String>,
    deleted_at: Option<String>,
}

#[derive(Deserialize)]
struct VendorRow {
    id: Option<String>,
    entityid: Option<String>,
    companyname: Option<String>,
    isinactive: Option<String>,
}

#[derive(Deserialize)]
struct ItemRow {
    id: Option<String>,
    itemid: Option<String>,
    itemtype: Option<String>,
    displayname: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct IdRow {
    id: Option<String>,
}

fn need_text(field: &str, v: Option<String>) -> Result<String> {
    v.ok_or_else(|| Error::Decode {
        context: "SuiteQL row".into(),
        reason: format!("{field} is missing"),
    })
}

/// Refuses to loop: a full page whose last key does not move past the cursor (§3.7.2).
fn ensure_progress<K: PartialOrd + std::fmt::Debug>(from: &K, to: Option<&K>) -> Result<()> {
    match to {
        Some(to) if to > from => Ok(()),
        _ => Err(Error::Decode {
            context: "SuiteQL keyset".into(),
            reason: format!("page did not advance past {from:?}; refusing to loop"),
        }),
    }
}

impl Client {
    /// One page of PO headers changed after `after` (strictly), in `(lastmodified, id)` order.
    /// The sync applies the page, checkpoints [`PoHeaderPage::next_cursor`], and asks again
    /// while `has_more`.
    pub async fn po_headers_page(
        &self,
        after: &PoCursor,
        extra_body_fields: &[String],
        limit: u32,
    ) -> Result<PoHeaderPage> {
        let limit = limit.clamp(1, MAX_LIMIT);
        validate_timestamp_text(&after.lastmod)?;
        let q = format!(
            "SELECT t.id AS id, t.tranid AS tranid, \
             TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmod, \
             t.status AS status_letter, BUILTIN.DF(t.status) AS status_text, \
             t.entity AS vendor_id, BUILTIN.DF(t.entity) AS vendor_name, \
             TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, \
             t.memo AS memo, t.currency AS currency_id, t.approvalstatus AS approvalstatus{extra} \
             FROM transaction t \
             WHERE t.type = 'PurchOrd' \
             AND (t.lastmodifieddate > TO_TIMESTAMP('{lm}', 'YYYY-MM-DD HH24:MI:SS') \
             OR (t.lastmodifieddate = TO_TIMESTAMP('{lm}', 'YYYY-MM-DD HH24:MI:SS') AND t.id > {id})) \
             ORDER BY t.lastmodifieddate ASC, t.id ASC",
            extra = extras(extra_body_fields, "t")?,
            lm = after.lastmod,
            id = after.id,
        );
        let page = self.suiteql_page::<HeaderRow>(&q, limit, 0).await?;
        let headers = page
            .items
            .into_iter()
            .map(|r| header_from_row(r, extra_body_fields))
            .collect::<Result<Vec<_>>>()?;
        let out = PoHeaderPage {
            headers,
            has_more: page.has_more,
            total_results: page.total_results,
        };
        if out.has_more {
            ensure_progress(after, out.next_cursor().as_ref())?;
        }
        Ok(out)
    }

    /// The headers of the given POs (any modification date), in batches, ordered by id. Unknown
    /// ids (deleted POs) are simply absent. The sync uses it to re-plan POs with open problems
    /// every cycle, whatever the change cursor says, and for `resync`.
    pub async fn po_headers_by_ids(
        &self,
        ids: &[i64],
        extra_body_fields: &[String],
    ) -> Result<Vec<PoHeader>> {
        let extra = extras(extra_body_fields, "t")?;
        let rows: Vec<HeaderRow> = self
            .by_ids(
                ids,
                |batch, after| {
                    format!(
                        "{HEADER_SELECT}{extra} FROM transaction t \
                         WHERE t.type = 'PurchOrd' AND t.id IN ({batch}) AND t.id > {after} \
                         ORDER BY t.id ASC"
                    )
                },
                |r: &HeaderRow| parse_opt_i64(&r.id),
            )
            .await?;
        rows.into_iter()
            .map(|r| header_from_row(r, extra_body_fields))
            .collect()
    }

    /// Internal ids of the POs whose `tranid` is `tran_id` (normally one), for `resync PO1042`.
    pub async fn po_ids_by_tran_id(&self, tran_id: &str) -> Result<Vec<i64>> {
        let q = format!(
            "SELECT t.id AS id FROM transaction t WHERE t.type = 'PurchOrd' \
             AND t.tranid = {} ORDER BY t.id ASC",
            token_literal(tran_id)?
        );
        let page = self.suiteql_page::<IdRow>(&q, MAX_LIMIT, 0).await?;
        page.items.iter().map(|r| parse_i64("id", &r.id)).collect()
    }

    /// Every PO header changed after `cursor`, page by page to the end. Convenient for small
    /// feeds and tests; the sync should prefer [`Client::po_headers_page`] to checkpoint.
    pub async fn po_headers_changed_since(
        &self,
        cursor: &PoCursor,
        extra_body_fields: &[String],
        page_limit: u32,
    ) -> Result<Vec<PoHeader>> {
        let mut all = Vec::new();
        let mut cursor = cursor.clone();
        loop {
            let page = self
                .po_headers_page(&cursor, extra_body_fields, page_limit)
                .await?;
            if let Some(next) = page.next_cursor() {
                cursor = next;
            }
            let more = page.has_more;
            all.extend(page.headers);
            if !more {
                return Ok(all);
            }
        }
    }

    /// The lines of the given POs: one query per batch of [`LINE_ID_BATCH`] ids, keyset-paged on
    /// `(transaction, id)` within the batch. Ordered by PO id, then line id. Batches are in
    /// flight together (the client's cap bounds them); pages within a batch follow each other.
    pub async fn po_lines(
        &self,
        po_ids: &[i64],
        extra_line_fields: &[String],
    ) -> Result<Vec<PoLine>> {
        let extra = extras(extra_line_fields, "tl")?;
        let mut ids = po_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        use futures_util::StreamExt as _;
        let batches: Vec<_> = ids
            .chunks(LINE_ID_BATCH)
            .map(|batch| self.po_lines_batch(batch, &extra, extra_line_fields))
            .collect();
        let results: Vec<Result<Vec<PoLine>>> = futures_util::stream::iter(batches)
            .buffered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        let mut out = Vec::new();
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    /// The lines of one batch of PO ids (ascending), page after page.
    async fn po_lines_batch(
        &self,
        batch: &[i64],
        extra: &str,
        extra_line_fields: &[String],
    ) -> Result<Vec<PoLine>> {
        let mut out = Vec::new();
        {
            let mut after: (i64, i64) = (i64::MIN, i64::MIN);
            loop {
                let keyset = if after.0 == i64::MIN {
                    String::new()
                } else {
                    format!(
                        " AND (tl.transaction > {t} OR (tl.transaction = {t} AND tl.id > {l}))",
                        t = after.0,
                        l = after.1
                    )
                };
                let q = format!(
                    "SELECT tl.transaction AS po_id, tl.id AS line_id, \
                     tl.linesequencenumber AS line_seq, tl.item AS item_id, \
                     BUILTIN.DF(tl.item) AS item_name, tl.itemtype AS itemtype, \
                     tl.quantity AS quantity, tl.quantityshiprecv AS qty_received, tl.rate AS rate, \
                     tl.isclosed AS isclosed, tl.memo AS memo, \
                     TO_CHAR(tl.expectedreceiptdate, 'YYYY-MM-DD') AS expectedreceiptdate{extra} \
                     FROM transactionline tl \
                     WHERE tl.transaction IN ({ids}) \
                     AND tl.mainline = 'F' AND tl.taxline = 'F' AND tl.item IS NOT NULL{keyset} \
                     ORDER BY tl.transaction ASC, tl.id ASC",
                    ids = id_list(batch),
                );
                let page = self.suiteql_page::<LineRow>(&q, MAX_LIMIT, 0).await?;
                let start = after;
                for mut r in page.items {
                    let fields = take_extras(extra_line_fields, &mut r.rest);
                    let line = PoLine {
                        po_id: parse_i64("po_id", &r.po_id)?,
                        line_id: parse_i64("line_id", &r.line_id)?,
                        line_seq: parse_opt_i64(&r.line_seq),
                        item_id: parse_opt_i64(&r.item_id),
                        item_name: r.item_name,
                        item_type: r.itemtype,
                        quantity: parse_opt_f64(&r.quantity),
                        quantity_received: parse_opt_f64(&r.qty_received),
                        rate: parse_opt_f64(&r.rate),
                        is_closed: parse_bool(&r.isclosed),
                        memo: r.memo,
                        expected_receipt_date: r.expectedreceiptdate,
                        fields,
                    };
                    after = (line.po_id, line.line_id);
                    out.push(line);
                }
                if !page.has_more {
                    break;
                }
                ensure_progress(&start, Some(&after))?;
            }
        }
        Ok(out)
    }

    /// One page of purchase orders deleted after `after` (strictly), from `DeletedRecord`
    /// (§4.3). The `type` spelling for POs is unverified, so both plausible forms match.
    pub async fn deleted_pos_page(&self, after: &DeletedCursor, limit: u32) -> Result<DeletedPage> {
        validate_timestamp_text(&after.deleted_at)?;
        let q = format!(
            "SELECT dr.recordid AS recordid, \
             TO_CHAR(dr.deleteddate, 'YYYY-MM-DD HH24:MI:SS') AS deleted_at \
             FROM deletedrecord dr \
             WHERE LOWER(dr.type) IN ('purchaseorder', 'purchord') \
             AND (dr.deleteddate > TO_TIMESTAMP('{d}', 'YYYY-MM-DD HH24:MI:SS') \
             OR (dr.deleteddate = TO_TIMESTAMP('{d}', 'YYYY-MM-DD HH24:MI:SS') AND dr.recordid > {r})) \
             ORDER BY dr.deleteddate ASC, dr.recordid ASC",
            d = after.deleted_at,
            r = after.record_id,
        );
        let page = self
            .suiteql_page::<DeletedRow>(&q, limit.clamp(1, MAX_LIMIT), 0)
            .await?;
        let mut deleted = Vec::with_capacity(page.items.len());
        for r in page.items {
            let deleted_at = need_text("deleted_at", r.deleted_at)?;
            validate_timestamp_text(&deleted_at)?;
            deleted.push(DeletedPo {
                record_id: parse_i64("recordid", &r.recordid)?,
                deleted_at,
            });
        }
        if page.has_more {
            ensure_progress(after, deleted.last().map(DeletedPo::cursor).as_ref())?;
        }
        Ok(DeletedPage {
            deleted,
            has_more: page.has_more,
        })
    }

    /// Every PO deleted after `cursor`, to the end of the feed.
    pub async fn deleted_pos_since(&self, cursor: &DeletedCursor) -> Result<Vec<DeletedPo>> {
        let mut all: Vec<DeletedPo> = Vec::new();
        let mut cursor = cursor.clone();
        loop {
            let page = self.deleted_pos_page(&cursor, MAX_LIMIT).await?;
            if let Some(last) = page.deleted.last() {
                cursor = last.cursor();
            }
            all.extend(page.deleted);
            if !page.has_more {
                return Ok(all);
            }
        }
    }

    /// Vendors by id, in batches, ordered by id. Unknown ids are simply absent.
    pub async fn vendors(&self, ids: &[i64]) -> Result<Vec<Vendor>> {
        let rows: Vec<VendorRow> = self
            .by_ids(ids, |batch, after| {
                format!(
                    "SELECT v.id AS id, v.entityid AS entityid, v.companyname AS companyname, \
                     v.isinactive AS isinactive FROM vendor v WHERE v.id IN ({batch}) AND v.id > {after} \
                     ORDER BY v.id ASC"
                )
            }, |r: &VendorRow| parse_opt_i64(&r.id))
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Vendor {
                    id: parse_i64("id", &r.id)?,
                    entity_id: r.entityid,
                    company_name: r.companyname,
                    is_inactive: parse_bool(&r.isinactive),
                })
            })
            .collect()
    }

    /// Items by id, in batches, ordered by id; `extra_fields` come back as display text.
    pub async fn items(&self, ids: &[i64], extra_fields: &[String]) -> Result<Vec<Item>> {
        let extra = extras(extra_fields, "i")?;
        let rows: Vec<ItemRow> = self
            .by_ids(
                ids,
                |batch, after| {
                    format!(
                        "SELECT i.id AS id, i.itemid AS itemid, i.itemtype AS itemtype, \
                     i.displayname AS displayname{extra} FROM item i \
                     WHERE i.id IN ({batch}) AND i.id > {after} ORDER BY i.id ASC"
                    )
                },
                |r: &ItemRow| parse_opt_i64(&r.id),
            )
            .await?;
        rows.into_iter()
            .map(|mut r| {
                let fields = take_extras(extra_fields, &mut r.rest);
                Ok(Item {
                    id: parse_i64("id", &r.id)?,
                    item_id: r.itemid,
                    item_type: r.itemtype,
                    display_name: r.displayname,
                    fields,
                })
            })
            .collect()
    }

    /// Keyset over `id` within batches of [`ID_BATCH`] ids.
    async fn by_ids<R: serde::de::DeserializeOwned>(
        &self,
        ids: &[i64],
        query: impl Fn(&str, i64) -> String,
        id_of: impl Fn(&R) -> Option<i64>,
    ) -> Result<Vec<R>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for batch in ids.chunks(ID_BATCH) {
            let list = id_list(batch);
            // Internal ids are positive, so 0 is "before the first".
            let mut after = 0;
            loop {
                let page = self
                    .suiteql_page::<R>(&query(&list, after), MAX_LIMIT, 0)
                    .await?;
                let start = after;
                for r in page.items {
                    if let Some(id) = id_of(&r) {
                        after = after.max(id);
                    }
                    out.push(r);
                }
                if !page.has_more {
                    break;
                }
                ensure_progress(&start, Some(&after))?;
            }
        }
        Ok(out)
    }

    /// The SuiteQL time-zone offset (reference §3.7.4): one PO's `lastmodifieddate` as SuiteQL
    /// renders it (`TO_CHAR`, naive text) minus the record API's UTC `lastModifiedDate`,
    /// rounded to 15 minutes (REST values may be minute-truncated). `doctor` reports it and
    /// the daemon can alarm when it changes between runs. `None` when the account has no PO.
    pub async fn suiteql_time_zone_offset(&self) -> Result<Option<chrono::Duration>> {
        let q = "SELECT t.id AS id, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmod \
                 FROM transaction t WHERE t.type = 'PurchOrd' ORDER BY t.id DESC";
        #[derive(Deserialize)]
        struct Row {
            id: Option<String>,
            lastmod: Option<String>,
        }
        let page = self.suiteql_page::<Row>(q, 1, 0).await?;
        let Some(row) = page.items.into_iter().next() else {
            return Ok(None);
        };
        let id = parse_i64("id", &row.id)?;
        let bad = |what: &str, v: &str| Error::Decode {
            context: "time-zone probe".into(),
            reason: format!("{what} {v:?} does not parse"),
        };
        let text = need_text("lastmod", row.lastmod)?;
        let local = chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S")
            .map_err(|_| bad("SuiteQL lastmod", &text))?;
        let record = self.get_purchase_order(id).await?;
        let utc_text = record.last_modified_date.unwrap_or_default();
        let utc = chrono::DateTime::parse_from_rfc3339(&utc_text)
            .map_err(|_| bad("REST lastModifiedDate", &utc_text))?
            .naive_utc();
        let minutes = (local - utc).num_seconds() as f64 / 60.0;
        let rounded = (minutes / 15.0).round() as i64 * 15;
        Ok(Some(chrono::Duration::minutes(rounded)))
    }

    /// The item receipt carrying `external_id`, if one exists (reference §4.4, §7.4): the
    /// lookup that must precede any retry of an ambiguous create.
    pub async fn item_receipt_by_external_id(&self, external_id: &str) -> Result<Option<i64>> {
        let q = format!(
            "SELECT t.id AS id FROM transaction t WHERE t.type = 'ItemRcpt' \
             AND t.externalid = {} ORDER BY t.id ASC",
            token_literal(external_id)?
        );
        let page = self.suiteql_page::<IdRow>(&q, 10, 0).await?;
        match page.items.first() {
            Some(r) => Ok(Some(parse_i64("id", &r.id)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewind_is_naive_text_arithmetic() {
        let c = PoCursor::new("2026-03-29 02:05:00", 17).unwrap();
        let r = c.rewind(std::time::Duration::from_secs(600));
        assert_eq!(r.lastmod(), "2026-03-29 01:55:00");
        assert_eq!(r.id(), 0);
        assert!(PoCursor::new("2026-03-29T02:05:00", 1).is_err());
    }
}
