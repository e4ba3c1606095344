//! NetSuite rows (SuiteQL headers, lines, vendors, items) → the planner's [`NsPurchaseOrder`].
//!
//! One chunk of headers costs a handful of requests whatever its size: the lines, vendors and
//! items of the whole chunk are read in batches (SPEC §8 "few API calls"), and vendors and
//! items an earlier chunk of the cycle brought are not read again ([`ReadCache`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::context::SyncSettings;
use crate::netsuite::{self, Item, PoHeader, PoLine, Vendor};
use crate::plan::model::{NsLine, NsPurchaseOrder};

/// A PO as read from NetSuite, plus what the poll layer needs besides the planner's view.
#[derive(Debug, Clone)]
pub struct ReadPo {
    pub po: NsPurchaseOrder,
    /// The header's keyset position, for the checkpoint.
    pub cursor: netsuite::PoCursor,
    /// NetSuite item id → the ION part number to look up (the mapped item field).
    pub part_numbers: BTreeMap<i64, String>,
    /// NetSuite item id → the ION revision to pick, when a revision field is mapped.
    pub revisions: BTreeMap<i64, String>,
}

/// Vendors and items already read in this cycle. A cycle reads its POs in chunks (so the ION
/// half of one chunk overlaps the reading of the next); with this, a later chunk asks NetSuite
/// only for the vendors and items no earlier chunk brought, so chunking costs no extra requests.
/// Scoped to one cycle: a vendor or item renamed meanwhile is read fresh by the next cycle.
#[derive(Debug, Default)]
pub struct ReadCache {
    vendors: BTreeMap<i64, Vendor>,
    items: BTreeMap<i64, Item>,
    /// Ids asked for, found or not (an unknown id is not asked again in the same cycle).
    asked_vendors: BTreeSet<i64>,
    asked_items: BTreeSet<i64>,
}

impl ReadCache {
    /// The supplier name of each vendor of `headers` that has one (vendor id → name), as
    /// [`build`] gives it to the PO: read once a chunk's vendors are ([`read_lines`]), so
    /// suppliers can be resolved while its items are still being read.
    pub fn supplier_names(
        &self,
        settings: &SyncSettings,
        headers: &[PoHeader],
    ) -> BTreeMap<i64, String> {
        headers
            .iter()
            .filter_map(|h| {
                let vendor = h.vendor_id?;
                Some((vendor, supplier_name(settings, h, vendor, &self.vendors)?))
            })
            .collect()
    }
}

/// A chunk after its first NetSuite round trip: its lines read, its vendors in the cache.
pub struct Lined {
    headers: Vec<PoHeader>,
    lines: Vec<PoLine>,
}

impl Lined {
    pub fn headers(&self) -> &[PoHeader] {
        &self.headers
    }
}

/// A chunk's first NetSuite round trip: the lines of `headers` and their vendors, side by side,
/// in batches. [`read_items`] finishes the chunk; in between, the vendors are known
/// ([`ReadCache::supplier_names`]).
pub async fn read_lines(
    ns: &netsuite::Client,
    settings: &SyncSettings,
    headers: Vec<PoHeader>,
    cache: &mut ReadCache,
) -> netsuite::Result<Lined> {
    if headers.is_empty() {
        return Ok(Lined {
            headers,
            lines: Vec::new(),
        });
    }
    let ids: Vec<i64> = headers.iter().map(|h| h.id).collect();
    let vendor_ids: Vec<i64> = headers
        .iter()
        .filter_map(|h| h.vendor_id)
        .filter(|v| !cache.asked_vendors.contains(v))
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect();
    // The vendors do not depend on the lines: both are in flight together.
    let line_fields = settings.line_fields();
    let (lines, vendors) = tokio::join!(ns.po_lines(&ids, &line_fields), async {
        match vendor_ids.is_empty() {
            true => Ok(Vec::new()),
            false => ns.vendors(&vendor_ids).await,
        }
    });
    let (lines, vendors) = (lines?, vendors?);
    cache.asked_vendors.extend(vendor_ids);
    cache.vendors.extend(vendors.into_iter().map(|v| (v.id, v)));
    Ok(Lined { headers, lines })
}

/// A chunk's second NetSuite round trip: the items of its lines that no earlier chunk brought,
/// in batches; then the POs. A PO whose data cannot be understood is returned in the second
/// list with the reason, so it is parked as an open problem instead of stopping the page.
pub async fn read_items(
    ns: &netsuite::Client,
    settings: &SyncSettings,
    lined: Lined,
    cache: &mut ReadCache,
) -> netsuite::Result<(Vec<ReadPo>, Vec<(PoHeader, String)>)> {
    let Lined { headers, lines } = lined;
    let item_ids: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.item_id)
        .filter(|i| !cache.asked_items.contains(i))
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect();
    if !item_ids.is_empty() {
        let items = ns.items(&item_ids, &settings.item_fields()).await?;
        cache.asked_items.extend(item_ids);
        cache.items.extend(items.into_iter().map(|i| (i.id, i)));
    }
    let (vendors, items) = (&cache.vendors, &cache.items);
    let mut by_po: BTreeMap<i64, Vec<PoLine>> = BTreeMap::new();
    for l in lines {
        by_po.entry(l.po_id).or_default().push(l);
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for h in headers {
        let lines = by_po.remove(&h.id).unwrap_or_default();
        match build(settings, &h, lines, vendors, items) {
            Ok(po) => good.push(po),
            Err(reason) => bad.push((h, reason)),
        }
    }
    Ok((good, bad))
}

fn date(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>, String> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|e| format!("{field} {s:?} is not a YYYY-MM-DD date: {e}")),
    }
}

/// The ION supplier name of a PO's vendor: the configured vendor field, else its entity id,
/// else the name on the PO header; `None` if all are blank.
fn supplier_name(
    settings: &SyncSettings,
    h: &PoHeader,
    vendor_id: i64,
    vendors: &BTreeMap<i64, Vendor>,
) -> Option<String> {
    vendors
        .get(&vendor_id)
        .and_then(|v| {
            let by_field = match settings.supplier_name_field.to_ascii_lowercase().as_str() {
                "entityid" => v.entity_id.clone(),
                _ => v.company_name.clone(),
            };
            by_field
                .filter(|s| !s.trim().is_empty())
                .or_else(|| v.entity_id.clone())
        })
        .or_else(|| h.vendor_name.clone())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn build(
    settings: &SyncSettings,
    h: &PoHeader,
    lines: Vec<PoLine>,
    vendors: &BTreeMap<i64, Vendor>,
    items: &BTreeMap<i64, Item>,
) -> Result<ReadPo, String> {
    let vendor_id = h.vendor_id.ok_or("the PO has no vendor (entity)")?;
    let vendor_name = supplier_name(settings, h, vendor_id, vendors)
        .ok_or_else(|| format!("vendor {vendor_id} has no name to match an ION supplier"))?;
    let mut part_numbers = BTreeMap::new();
    let mut revisions = BTreeMap::new();
    let mut out_lines = Vec::with_capacity(lines.len());
    for l in lines {
        let item_id = l
            .item_id
            .ok_or_else(|| format!("line {} has no item", l.line_id))?;
        let item = items.get(&item_id);
        let part_number = item
            .and_then(|i| {
                if settings.part_number_field.eq_ignore_ascii_case("itemid") {
                    i.item_id.clone()
                } else {
                    i.fields.get(&settings.part_number_field).cloned().flatten()
                }
            })
            .or_else(|| l.item_name.clone())
            .unwrap_or_else(|| format!("item {item_id}"));
        if let (Some(field), Some(i)) = (&settings.revision_field, item)
            && let Some(Some(rev)) = i.fields.get(field)
        {
            revisions.insert(item_id, rev.clone());
        }
        part_numbers.insert(item_id, part_number.clone());
        out_lines.push(NsLine {
            line_id: l.line_id,
            item_id,
            item_name: part_number,
            item_type: l
                .item_type
                .clone()
                .or_else(|| item.and_then(|i| i.item_type.clone()))
                .unwrap_or_default(),
            quantity: l.quantity.unwrap_or(0.0),
            quantity_received: l.quantity_received.unwrap_or(0.0),
            rate: l.rate.unwrap_or(0.0),
            is_closed: l.is_closed,
            memo: l.memo.clone(),
            expected_receipt_date: date("expectedreceiptdate", &l.expected_receipt_date)?,
            line_fields: l.fields.clone(),
        });
    }
    let po = NsPurchaseOrder {
        id: h.id,
        tran_id: h.tran_id.clone(),
        status_letter: h.status.clone(),
        vendor_id,
        vendor_name,
        memo: h.memo.clone(),
        tran_date: date("trandate", &h.tran_date)?,
        due_date: date("duedate", &h.due_date)?,
        lastmod: h.lastmod.clone(),
        body_fields: h.fields.clone(),
        lines: out_lines,
    };
    Ok(ReadPo {
        po,
        cursor: h.cursor(),
        part_numbers,
        revisions,
    })
}
