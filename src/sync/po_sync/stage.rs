//! Staging a chunk: read NetSuite and ION, choose the POs that need work, plan them into jobs.

use super::*;

impl Engine {
    /// The reading half of [`Self::process`]: NetSuite lines, vendors and items, ION's copies
    /// by Netsuite RecordID, suppliers and parts, then the plans, grouped into apply jobs. Writes
    /// to ION only to create missing suppliers (under the supplier gate).
    pub(super) async fn stage(
        &self,
        headers: Vec<PoHeader>,
        force: bool,
        opts: CycleOptions,
        sum: &mut CycleSummary,
        cache: &StageCache,
    ) -> Result<Staged> {
        if headers.is_empty() {
            return Ok(Staged::default());
        }
        sum.seen += headers.len();
        let started = std::time::Instant::now();
        let count = headers.len();
        // Exactly once: ION's copy is found by its natural key, whatever the link table says.
        // A PO with no link needs that lookup whatever its lines turn out to be, and it needs
        // only the PO's id: it is in flight while NetSuite's lines, vendors and items are read
        // (the first chunk's lookups then use connections that would otherwise wait idle).
        // The links read here stay valid for the whole stage: the chunk is claimed, so no
        // apply of these POs runs meanwhile.
        let mut links: BTreeMap<i64, Option<PoLink>> = BTreeMap::new();
        for h in &headers {
            links.insert(h.id, self.store().po_link(h.id)?);
        }
        let unlinked: Vec<String> = links
            .iter()
            .filter(|(_, link)| link.is_none())
            .map(|(id, _)| id.to_string())
            .collect();
        // Two chains follow the lines. Suppliers need only the vendors, which come with the
        // lines: they are resolved (and the missing ones created) right away. That is every
        // named vendor of the chunk, not only those of POs that turn out to need work: a vendor
        // with a link costs no request, and one without is almost always a new PO's. Beside
        // them, the items are read, the POs that need work chosen, and their parts and (for
        // linked POs) ION copies looked up; so a chunk waits for the slower chain, not the sum.
        let read = async {
            let (ns, settings) = (&self.ctx.netsuite, &self.ctx.settings);
            let mut reads = cache.reads.lock().await;
            let lined = read_lines(ns, settings, headers, &mut reads)
                .await
                .context("reading NetSuite lines and vendors")?;
            let names = reads.supplier_names(settings, lined.headers());
            let chosen = async {
                let read = read_items(ns, settings, lined, &mut reads).await;
                // The next chunk may read while this one looks things up in ION.
                drop(reads);
                let (good, bad) = read.context("reading NetSuite items")?;
                let work = self.choose_work(good, &mut links, force, sum)?;
                let linked: Vec<String> = work
                    .iter()
                    .filter(|w| w.link.is_some())
                    .map(|w| w.read.po.id.to_string())
                    .collect();
                let parts = async {
                    self.resolve_parts(&work, &mut *cache.parts.lock().await)
                        .await
                };
                let (late, parts) = tokio::try_join!(self.ion_pos_by_record_id(&linked), parts)?;
                Ok::<_, anyhow::Error>((work, bad, late, parts))
            };
            let (chosen, suppliers) =
                tokio::join!(chosen, self.resolve_suppliers(names, opts.dry_run));
            Ok::<_, anyhow::Error>((chosen?, suppliers?))
        };
        let (read, early) = tokio::join!(read, self.ion_pos_by_record_id(&unlinked));
        let ((work, bad, late, parts), suppliers) = read?;
        let mut by_ns = early?;
        by_ns.extend(late);
        debug!(pos = count, elapsed = ?started.elapsed(), "read NetSuite; looked up suppliers, parts and ION POs");
        for (h, reason) in bad {
            warn!(tran_id = %h.tran_id, ns_id = h.id, %reason, "NetSuite PO cannot be synced");
            sum.failed += 1;
            if !opts.dry_run {
                let link = match links.remove(&h.id) {
                    Some(link) => link,
                    None => self.store().po_link(h.id)?,
                };
                let old = self.store().problems_of(h.id)?;
                self.park(
                    &h.tran_id,
                    h.id,
                    link,
                    old,
                    Vec::new(),
                    format!("malformed NetSuite data: {reason}"),
                )?;
            }
        }
        if work.is_empty() {
            return Ok(Staged::default());
        }

        // Plan everything (pure), then apply: plain creates in groups that share requests,
        // everything else PO by PO; both kinds in flight together.
        let mut jobs: Vec<Job> = Vec::new();
        let mut group: Vec<Prepared> = Vec::new();
        for w in work {
            let candidates = by_ns.remove(&w.read.po.id).unwrap_or_default();
            let supplier = suppliers.get(&w.read.po.vendor_id).cloned().unwrap_or(
                SupplierLookup::MustCreate {
                    name: w.read.po.vendor_name.clone(),
                },
            );
            let parts: BTreeMap<i64, Option<i64>> = w
                .read
                .po
                .lines
                .iter()
                .map(|l| (l.item_id, parts.get(&l.item_id).copied().flatten()))
                .collect();
            let resolved = Resolved { parts, supplier };
            let plain = candidates.is_empty() && w.link.is_none() && !opts.dry_run;
            if plain {
                let plan = po::plan_po(
                    &w.read.po,
                    None,
                    None,
                    &resolved,
                    &self.ctx.settings.mapping,
                );
                if let Some(new) = apply::plain_create(&plan) {
                    group.push(Prepared {
                        w,
                        resolved,
                        plan,
                        new,
                    });
                    if group.len() == CREATE_GROUP {
                        jobs.push(Job::Group(std::mem::take(&mut group)));
                    }
                    continue;
                }
            }
            jobs.push(Job::One(Box::new((w, candidates, resolved))));
        }
        if !group.is_empty() {
            jobs.push(Job::Group(group));
        }
        debug!(elapsed = ?started.elapsed(), jobs = jobs.len(), "planned");
        Ok(Staged { jobs })
    }

    /// The writing half of [`Self::process`]: runs the staged jobs (up to `apply_concurrency`
    /// at once) and tallies their outcomes. Each job records its own POs in the store.
    pub(super) async fn apply_staged(
        &self,
        staged: Staged,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        if staged.jobs.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let results: Vec<Vec<Result<Outcome>>> = futures_util::stream::iter(staged.jobs)
            .map(|job| self.run_job(job, opts))
            .buffer_unordered(self.ctx.settings.apply_concurrency.max(1))
            .collect()
            .await;
        debug!(elapsed = ?started.elapsed(), "applied");
        for r in results {
            tally(sum, r)?;
        }
        Ok(())
    }

    /// Runs one apply job: a PO alone, or a group of new POs created together.
    pub(super) async fn run_job(&self, job: Job, opts: CycleOptions) -> Vec<Result<Outcome>> {
        match job {
            Job::One(one) => {
                let (w, candidates, resolved) = *one;
                vec![self.sync_one(w, candidates, resolved, opts).await]
            }
            Job::Group(group) => self.create_group(group, opts).await,
        }
    }

    /// The POs of a read chunk that need work: not those whose content hash equals the last
    /// applied one (unless `force`), nor failing ones not yet due for a retry. Each PO's link
    /// is taken out of `links` (read once per stage).
    pub(super) fn choose_work(
        &self,
        reads: Vec<ReadPo>,
        links: &mut BTreeMap<i64, Option<PoLink>>,
        force: bool,
        sum: &mut CycleSummary,
    ) -> Result<Vec<Work>> {
        let now = Utc::now();
        let mut work = Vec::new();
        for read in reads {
            let id = read.po.id;
            // Every read comes from one of the headers, so its link was read above.
            let link = match links.remove(&id) {
                Some(link) => link,
                None => self.store().po_link(id)?,
            };
            // Receipt problems (kept by the receipts leg) neither make a PO due nor get
            // replaced here: see `with_receipt_problems`.
            let problems = self
                .store()
                .problems_of(id)?
                .map(|mut p| {
                    p.problems.retain(|x| !is_receipt_problem(x));
                    p
                })
                .filter(|p| !p.problems.is_empty());
            if !force {
                let unchanged = link
                    .as_ref()
                    .is_some_and(|l| l.content_hash == content_hash(&read.po));
                if unchanged && problems.is_none() {
                    sum.unchanged += 1;
                    continue;
                }
                if let Some(due) = retry_due(problems.as_ref(), self.ctx.settings.poll_interval)
                    && due > now
                {
                    debug!(tran_id = %read.po.tran_id, %due, "failing PO not due for retry yet");
                    sum.deferred += 1;
                    continue;
                }
            }
            work.push(Work {
                read,
                link,
                problems,
            });
        }
        Ok(work)
    }

    /// ION's POs whose Netsuite RecordID is one of `ns_ids`, grouped by that id. No request
    /// when `ns_ids` is empty.
    pub(super) async fn ion_pos_by_record_id(
        &self,
        ns_ids: &[String],
    ) -> Result<BTreeMap<i64, Vec<IonPurchaseOrder>>> {
        let found = self
            .ctx
            .ion
            .purchase_orders_by_netsuite_id(ns_ids)
            .await
            .context("looking up ION POs by Netsuite RecordID")?;
        let mut by_ns: BTreeMap<i64, Vec<IonPurchaseOrder>> = BTreeMap::new();
        for p in found {
            if let Some(ns) = record_id(&p) {
                by_ns.entry(ns).or_default().push(p);
            }
        }
        Ok(by_ns)
    }

    /// Moves the vendors of `wanted` that have a link to `out`, as existing suppliers.
    pub(super) fn take_linked(
        &self,
        wanted: &mut BTreeMap<i64, String>,
        out: &mut BTreeMap<i64, SupplierLookup>,
    ) -> Result<()> {
        let mut linked = Vec::new();
        for v in wanted.keys() {
            if let Some(l) = self.store().vendor_link(*v)? {
                linked.push((*v, l.ion_supplier_id));
            }
        }
        for (v, supplier) in linked {
            wanted.remove(&v);
            out.insert(v, SupplierLookup::Existing(supplier));
        }
        Ok(())
    }
}
