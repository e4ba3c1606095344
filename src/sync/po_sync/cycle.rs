//! The cycle's phases that see all of it: the poll cycle, `resync`, the full reconciliation,
//! and the checkpoint that moves only past applied chunks.

use super::*;

impl Engine {
    /// One NetSuite → ION poll cycle: changed POs (checkpoint minus the overlap window), POs with
    /// open problems, then deletions. Records a [`CycleReport`] and the status snapshot (not in a
    /// dry run). An error means the cycle stopped early (NetSuite or ION unreachable, store
    /// failure); the checkpoints then still point before everything not yet applied.
    pub async fn po_cycle(&self, opts: CycleOptions) -> Result<CycleSummary> {
        let started = Utc::now();
        let mut sum = CycleSummary::default();
        let result = self.cycle_inner(opts, &mut sum).await;
        if !opts.dry_run {
            self.record_run(LOOP_NAME, started, &sum, &result)?;
        }
        match result {
            Ok(()) => {
                info!(%sum, dry_run = opts.dry_run, "NetSuite → ION cycle done");
                Ok(sum)
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn cycle_inner(
        &self,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        let s = &self.ctx.settings;
        let stored = self
            .store()
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)?;
        let mut high = match &stored {
            Some(c) => Some(PoCursor::new(c.at.clone(), c.id)?),
            None => None,
        };
        let cursor = match &high {
            Some(c) => c.rewind(s.overlap + DST_GUARD),
            None => PoCursor::start(),
        };
        let mut seen: BTreeSet<i64> = BTreeSet::new();
        // Read, planned and applied as a pipeline (see `pipeline`): the checkpoint moves only
        // past chunks that are fully applied. The first page of deletions is read meanwhile
        // (they are applied after the changes, as before): a deletion made during the cycle is
        // then left to the next one, which the deletions' own checkpoint already guarantees.
        let deletions = self.deletions_start()?;
        let (pages, first_deleted) = tokio::join!(
            self.run_pages(cursor, &mut high, opts, sum, &mut seen),
            self.ctx
                .netsuite
                .deleted_pos_page(&deletions.cursor, MAX_LIMIT)
        );
        pages?;

        // POs with open problems are re-planned every cycle (a missing part may exist now),
        // wherever the cursor is.
        let retry: Vec<i64> = self
            .store()
            .all_problems()?
            .into_iter()
            .filter(|p| !seen.contains(&p.ns_po_id))
            .filter(|p| {
                p.problems
                    .iter()
                    .any(|x| x.kind != StoredKind::DeleteRefused && !is_receipt_problem(x))
            })
            .map(|p| p.ns_po_id)
            .collect();
        if !retry.is_empty() {
            let headers = self
                .ctx
                .netsuite
                .po_headers_by_ids(&retry, &s.body_fields())
                .await
                .context("reading NetSuite POs with open problems")?;
            self.process(headers, false, opts, sum).await?;
        }

        self.deletions(deletions, first_deleted, opts, sum).await
    }

    /// `resync <PO>`: reconciles one PO now (by internal id or tranId), ignoring the content
    /// hash, the backoff and the checkpoints. A PO no longer in NetSuite is handled as deleted.
    pub async fn resync_po(&self, po: &str, dry_run: bool) -> Result<CycleSummary> {
        let ns = &self.ctx.netsuite;
        let ids = match po.trim().parse::<i64>() {
            Ok(id) => vec![id],
            Err(_) => ns.po_ids_by_tran_id(po.trim()).await?,
        };
        let ids = if ids.is_empty() {
            match self
                .store()
                .po_links()?
                .into_iter()
                .find(|l| l.tran_id == po.trim())
            {
                Some(l) => vec![l.ns_po_id],
                None => anyhow::bail!("no NetSuite purchase order {po:?} (by id or tranId)"),
            }
        } else {
            ids
        };
        let opts = CycleOptions { dry_run };
        let mut sum = CycleSummary::default();
        let headers = ns
            .po_headers_by_ids(&ids, &self.ctx.settings.body_fields())
            .await?;
        let found: BTreeSet<i64> = headers.iter().map(|h| h.id).collect();
        self.process(headers, true, opts, &mut sum).await?;
        let gone: Vec<i64> = ids.into_iter().filter(|i| !found.contains(i)).collect();
        if !gone.is_empty() {
            self.delete_pos(&gone, opts, &mut sum).await?;
        }
        if !dry_run {
            self.store().write_status_snapshot()?;
        }
        Ok(sum)
    }

    /// The nightly full reconciliation (SPEC §4: "every linked, still-open PO"): every linked PO
    /// whose NetSuite status is still open (A, B, D, E; [`crate::plan::status::still_open`]) is
    /// re-planned against ION as it is now, whatever the hash says, which catches manual ION
    /// edits and NetSuite changes that did not bump `lastmodifieddate`. Closed, rejected and
    /// fully received POs (C, F, G, H) are re-planned only when NetSuite's content differs from
    /// what was last applied (the content hash, as in a cycle) or they have open problems: a
    /// close that did not bump `lastmodifieddate` changes the status, hence the hash, so it is
    /// still caught, while finished POs, which pile up forever, cost no ION call — and F/G POs
    /// nothing was received against in ION (ION keeps them ORDERED) are not re-sent a RECEIVED
    /// status every night. What this gives up: a manual ION edit of a PO that is finished in
    /// NetSuite is no longer reverted.
    ///
    /// Records a [`CycleReport`] under [`RECONCILE_LOOP_NAME`] (not in a dry run), so `status`
    /// shows when the nightly run last happened and how it ended.
    pub async fn reconcile_all(&self, dry_run: bool) -> Result<CycleSummary> {
        let started = Utc::now();
        let mut sum = CycleSummary::default();
        let result = self.reconcile_inner(dry_run, &mut sum).await;
        if !dry_run {
            self.record_run(RECONCILE_LOOP_NAME, started, &sum, &result)?;
        }
        result.map(|()| sum)
    }

    /// Records a run of `loop_name` for `status`: ok when it finished with no failed PO.
    pub(super) fn record_run(
        &self,
        loop_name: &str,
        started: DateTime<Utc>,
        sum: &CycleSummary,
        result: &Result<()>,
    ) -> Result<()> {
        let (ok, summary) = match result {
            Ok(()) => (sum.failed == 0, sum.to_string()),
            Err(e) => (false, format!("{sum}; stopped: {e:#}")),
        };
        self.store().record_cycle(&CycleReport {
            loop_name: loop_name.into(),
            started,
            finished: Utc::now(),
            ok,
            summary,
        })?;
        Ok(())
    }

    pub(super) async fn reconcile_inner(
        &self,
        dry_run: bool,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        let opts = CycleOptions { dry_run };
        let ids: Vec<i64> = self
            .store()
            .po_links()?
            .iter()
            .map(|l| l.ns_po_id)
            .collect();
        for chunk in ids.chunks(self.ctx.settings.page_size.max(1) as usize) {
            let headers = self
                .ctx
                .netsuite
                .po_headers_by_ids(chunk, &self.ctx.settings.body_fields())
                .await?;
            let (open, finished): (Vec<PoHeader>, Vec<PoHeader>) = headers
                .into_iter()
                .partition(|h| crate::plan::status::still_open(&h.status));
            self.process(open, true, opts, sum).await?;
            self.process(finished, false, opts, sum).await?;
        }
        Ok(())
    }

    /// Moves the PO checkpoint to `done` (the end of an applied page) if that is past `high`;
    /// never backwards, never in a dry run.
    pub(super) fn advance_po_checkpoint(
        &self,
        done: Option<PoCursor>,
        high: &mut Option<PoCursor>,
        opts: CycleOptions,
    ) -> Result<()> {
        if let Some(n) = done
            && high.as_ref().is_none_or(|h| &n > h)
        {
            if !opts.dry_run {
                self.store().set_checkpoint(
                    Checkpoint::NetSuitePurchaseOrders,
                    &Cursor {
                        at: n.lastmod().to_string(),
                        id: n.id(),
                    },
                )?;
            }
            *high = Some(n);
        }
        Ok(())
    }

    /// Reads, plans and applies one batch of headers. `force`: ignore hash and backoff.
    /// (`pub(crate)` for `backfill`, which feeds it its own pages.)
    pub(crate) async fn process(
        &self,
        headers: Vec<PoHeader>,
        force: bool,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        let staged = self
            .stage(headers, force, opts, sum, &StageCache::default())
            .await?;
        self.apply_staged(staged, opts, sum).await
    }
}
