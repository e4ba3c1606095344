//! POs deleted in NetSuite: the `DeletedRecord` feed, its checkpoint, and the ION side.

use super::*;

impl Engine {
    /// Where this cycle reads the deletions feed from.
    pub(super) fn deletions_start(&self) -> Result<DeletionsStart> {
        let stored = self.store().checkpoint(Checkpoint::NetSuiteDeletions)?;
        let high = match &stored {
            Some(c) => Some(DeletedCursor::new(c.at.clone(), c.id)?),
            None => None,
        };
        let cursor = match &stored {
            Some(c) => {
                let back = PoCursor::new(c.at.clone(), c.id)?
                    .rewind(self.ctx.settings.overlap + DST_GUARD);
                DeletedCursor::new(back.lastmod(), 0)?
            }
            None => DeletedCursor::start(),
        };
        Ok(DeletionsStart { high, cursor })
    }

    /// Deletions from NetSuite's `DeletedRecord`, with their own checkpoint (and the overlap),
    /// from `start`; `first` is its first page, read while the cycle's changes were synced.
    pub(super) async fn deletions(
        &self,
        start: DeletionsStart,
        first: crate::netsuite::Result<DeletedPage>,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        let DeletionsStart {
            mut high,
            mut cursor,
        } = start;
        let mut first = Some(first);
        loop {
            let page = match first.take() {
                Some(page) => page,
                None => self.ctx.netsuite.deleted_pos_page(&cursor, MAX_LIMIT).await,
            }
            .context("reading NetSuite deletions")?;
            let ids: Vec<i64> = page.deleted.iter().map(|d| d.record_id).collect();
            self.delete_pos(&ids, opts, sum).await?;
            let last = page.deleted.last().map(|d| d.cursor());
            if let Some(n) = &last
                && high.as_ref().is_none_or(|h| {
                    (n.deleted_at(), n.record_id()) > (h.deleted_at(), h.record_id())
                })
            {
                if !opts.dry_run {
                    self.store().set_checkpoint(
                        Checkpoint::NetSuiteDeletions,
                        &Cursor {
                            at: n.deleted_at().to_string(),
                            id: n.record_id(),
                        },
                    )?;
                }
                high = Some(n.clone());
            }
            match (page.has_more, last) {
                (true, Some(n)) => cursor = n,
                _ => return Ok(()),
            }
        }
    }

    /// Deletes (or, where ION refuses, cancels the open lines of) the ION copies of `ids`.
    pub(super) async fn delete_pos(
        &self,
        ids: &[i64],
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = ids.iter().map(i64::to_string).collect();
        let found = self
            .ctx
            .ion
            .purchase_orders_by_netsuite_id(&keys)
            .await
            .context("looking up ION POs of deleted NetSuite POs")?;
        for &id in ids {
            let link = self.store().po_link(id)?;
            let candidates: Vec<IonPurchaseOrder> = found
                .iter()
                .filter(|p| record_id(p) == Some(id))
                .cloned()
                .collect();
            let ion_po = pick(&candidates, link.as_ref().map(|l| l.ion_po_id)).cloned();
            if ion_po.is_none() && link.is_none() {
                continue;
            }
            let state = ion_po.as_ref().map(state_of);
            let plan = po::plan_delete(id, state.as_ref(), link.as_ref());
            log_plan(&plan);
            sum.deleted += 1;
            if opts.dry_run {
                sum.plans.push(plan);
                continue;
            }
            let tran = plan.tran_id.clone();
            let (problems, keep_link) = match apply::apply(&self.ctx, &plan, ion_po.clone()).await {
                Ok(_) => (to_store_problems(&plan, None), !plan.problems.is_empty()),
                Err(e) if e.delete_refused => {
                    let fresh = match ion_po.as_ref() {
                        Some(p) => self.ctx.ion.purchase_order(p.id).await?,
                        None => None,
                    };
                    match fresh {
                        // Already gone: an earlier attempt deleted it and its answer was lost
                        // (ION then says "does not exist"). The delete is done: unlink.
                        None => {
                            tracing::info!(tran_id = %tran, "the ION PO is already deleted; unlinking");
                            (Vec::new(), false)
                        }
                        Some(fresh) => {
                            let reason = e.error.to_string();
                            let fallback = po::plan_delete_refused(
                                id,
                                &state_of(&fresh),
                                link.as_ref(),
                                &reason,
                            );
                            log_plan(&fallback);
                            if let Err(e2) = apply::apply(&self.ctx, &fallback, Some(fresh)).await {
                                warn!(tran_id = %tran, ion_po = ?e2.ion_po_id, error = %e2, "canceling lines of a deleted PO failed; retried next cycle");
                                sum.failed += 1;
                                continue;
                            }
                            (to_store_problems(&fallback, None), true)
                        }
                    }
                }
                Err(e) => {
                    let why = error_chain(&e);
                    warn!(tran_id = %tran, ion_po = ?e.ion_po_id, error = %why, "deleting ION PO failed");
                    sum.failed += 1;
                    self.park(
                        &tran,
                        id,
                        link.clone(),
                        self.store().problems_of(id)?,
                        Vec::new(),
                        format!("delete: {why}"),
                    )?;
                    continue;
                }
            };
            let commit = if keep_link {
                PoCommit {
                    link: link.clone(),
                    problems: Some(PoProblems {
                        ns_po_id: id,
                        tran_id: Some(tran.clone()),
                        problems,
                    }),
                    ..Default::default()
                }
            } else {
                PoCommit {
                    unlink: Some(id),
                    ..Default::default()
                }
            };
            self.store().commit_po(&commit)?;
        }
        Ok(())
    }
}
