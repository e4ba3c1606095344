//! Suppliers and parts of a chunk, looked up (and suppliers created) in batches.

use super::*;

impl Engine {
    /// Vendor → supplier for `names` (vendor id → supplier name): the link table, else ION by
    /// name (one batched query), else created once (not in a dry run) and remembered.
    pub(super) async fn resolve_suppliers(
        &self,
        names: BTreeMap<i64, String>,
        dry_run: bool,
    ) -> Result<BTreeMap<i64, SupplierLookup>> {
        let mut out = BTreeMap::new();
        let mut wanted = names;
        self.take_linked(&mut wanted, &mut out)?;
        if wanted.is_empty() {
            return Ok(out);
        }
        // Not in a dry run (nothing is created): no gate, so a dry run never waits on a writer.
        let _gate = match dry_run {
            false => Some(apply::SUPPLIER_GATE.lock().await),
            true => None,
        };
        // Whoever held the gate meanwhile (the chunk staged beside this one, say) may have just
        // linked these vendors: then they need no lookup.
        self.take_linked(&mut wanted, &mut out)?;
        if wanted.is_empty() {
            return Ok(out);
        }
        let mut names: Vec<String> = wanted.values().cloned().collect();
        names.sort();
        names.dedup();
        let found = self
            .ctx
            .ion
            .suppliers_by_name(&names)
            .await
            .context("looking up ION suppliers by name")?;
        let mut by_name: BTreeMap<&str, i64> = BTreeMap::new();
        for s in &found {
            let e = by_name.entry(s.name.as_str()).or_insert(s.id);
            *e = (*e).min(s.id);
        }
        // Suppliers to create: one per missing name (two vendors may share one), in aliased
        // batches. A batch that fails creates none for sure: its vendors' POs then look the name
        // up again and create it themselves (`apply::find_or_create_supplier`), failing alone.
        let mut to_create: Vec<String> = wanted
            .values()
            .filter(|n| !by_name.contains_key(n.as_str()))
            .cloned()
            .collect();
        to_create.sort();
        to_create.dedup();
        let mut created: BTreeMap<String, i64> = BTreeMap::new();
        if !dry_run && !to_create.is_empty() {
            match self.ctx.ion.create_suppliers(&to_create).await {
                Ok(suppliers) => {
                    for (name, s) in to_create.into_iter().zip(suppliers) {
                        info!(supplier = s.id, name = %name, "created ION supplier");
                        created.insert(name, s.id);
                    }
                }
                Err(e) => warn!(
                    suppliers = to_create.len(),
                    error = %e,
                    "creating ION suppliers failed; their POs will look them up and retry"
                ),
            }
        }
        let mut remembered = Vec::new();
        for (vendor, name) in wanted {
            let existing = by_name
                .get(name.as_str())
                .copied()
                .or_else(|| created.get(&name).copied());
            let lookup = match existing {
                Some(id) => {
                    remembered.push(VendorLink {
                        ns_vendor_id: vendor,
                        ion_supplier_id: id,
                        name: name.clone(),
                    });
                    SupplierLookup::Existing(id)
                }
                None => SupplierLookup::MustCreate { name },
            };
            out.insert(vendor, lookup);
        }
        if !dry_run {
            self.store().put_vendor_links(&remembered)?;
        }
        Ok(out)
    }

    /// NetSuite item id → ION part id for every line of the batch: one `in` query per 50 part
    /// numbers, not one per line, and only for numbers no earlier chunk of the cycle asked for
    /// (`known`; a number not found stays not found until the next cycle re-checks it).
    pub(super) async fn resolve_parts(
        &self,
        work: &[Work],
        known: &mut BTreeMap<String, Vec<ion::parts::Part>>,
    ) -> Result<BTreeMap<i64, Option<i64>>> {
        let mut numbers: BTreeMap<i64, (String, Option<String>)> = BTreeMap::new();
        for w in work {
            for (item, n) in &w.read.part_numbers {
                numbers.insert(*item, (n.clone(), w.read.revisions.get(item).cloned()));
            }
        }
        let mut list: Vec<String> = numbers
            .values()
            .map(|(n, _)| n.clone())
            .filter(|n| !known.contains_key(n))
            .collect();
        list.sort();
        list.dedup();
        if !list.is_empty() {
            let parts = self
                .ctx
                .ion
                .parts_by_number(&list)
                .await
                .context("looking up ION parts")?;
            for n in list {
                known.insert(n, Vec::new());
            }
            for p in parts {
                if let Some(revisions) = known.get_mut(&p.part_number) {
                    revisions.push(p);
                }
            }
        }
        Ok(numbers
            .into_iter()
            .map(|(item, (n, rev))| {
                let p = known
                    .get(&n)
                    .and_then(|parts| ion::parts::pick_revision(parts, &n, rev.as_deref()))
                    .map(|p| p.id);
                (item, p)
            })
            .collect())
    }
}
