//! The apply jobs: a group of new POs created in batches, or one PO planned and applied alone.

use super::*;

impl Engine {
    /// Creates a group of new POs together (headers, lines and statuses batched across them).
    /// If the batch fails half-way, each PO is looked up again by its `Netsuite RecordID` and
    /// completed alone, so nothing is created twice.
    pub(super) async fn create_group(
        &self,
        group: Vec<Prepared>,
        opts: CycleOptions,
    ) -> Vec<Result<Outcome>> {
        let news: Vec<_> = group.iter().map(|p| p.new.clone()).collect();
        match self.ctx.ion.create_purchase_orders(&news).await {
            Ok(created) => {
                // One transaction and one flush for the whole group (not one fsync per PO).
                let mut commits = Vec::with_capacity(group.len());
                let mut outcomes = Vec::with_capacity(group.len());
                for (p, po) in group.into_iter().zip(created) {
                    log_plan(&p.plan);
                    info!(tran_id = %p.plan.tran_id, ion_po = po.id, lines = po.lines.len(), status = ?po.status, "created ION PO");
                    match self.recorded(&p.w.read.po, &p.w, &p.plan, Some((po.id, po.line_map()))) {
                        Ok(c) => commits.push(c),
                        Err(e) => return vec![Err(e)],
                    }
                    outcomes.push(Ok(Outcome::Applied {
                        problems: p.plan.problems.len(),
                        plan: None,
                    }));
                }
                match self.store().commit_pos(&commits) {
                    Ok(()) => outcomes,
                    Err(e) => vec![Err(e.into())],
                }
            }
            Err(e) => {
                warn!(error = %e, pos = group.len(), "batched ION create failed; completing the POs one by one");
                let keys: Vec<String> = group.iter().map(|p| p.w.read.po.id.to_string()).collect();
                let found = match self.ctx.ion.purchase_orders_by_netsuite_id(&keys).await {
                    Ok(f) => f,
                    Err(e) => {
                        return vec![Err(anyhow::Error::new(e)
                            .context("looking up ION POs after a failed batched create"))];
                    }
                };
                let mut out = Vec::with_capacity(group.len());
                for p in group {
                    let id = p.w.read.po.id;
                    let candidates: Vec<IonPurchaseOrder> = found
                        .iter()
                        .filter(|f| record_id(f) == Some(id))
                        .cloned()
                        .collect();
                    out.push(self.sync_one(p.w, candidates, p.resolved, opts).await);
                }
                out
            }
        }
    }

    /// Plans and applies one PO and records the outcome (link + problems) in one commit.
    pub(super) async fn sync_one(
        &self,
        w: Work,
        candidates: Vec<IonPurchaseOrder>,
        resolved: Resolved,
        opts: CycleOptions,
    ) -> Result<Outcome> {
        let ns = &w.read.po;
        let mut ion_po = pick(&candidates, w.link.as_ref().map(|l| l.ion_po_id)).cloned();
        if candidates.len() > 1 {
            warn!(
                tran_id = %ns.tran_id,
                ion_pos = ?candidates.iter().map(|p| p.id).collect::<Vec<_>>(),
                "several ION POs carry this Netsuite RecordID; syncing the linked (or oldest) one, delete the others"
            );
        }
        if ion_po.is_none()
            && let Some(l) = &w.link
        {
            // Linked but not found by attribute (someone cleared it in ION): read it by id.
            ion_po = self
                .ctx
                .ion
                .purchase_order(l.ion_po_id)
                .await
                .with_context(|| format!("reading ION PO {}", l.ion_po_id))?;
        }
        let state = ion_po.as_ref().map(state_of);
        let plan = po::plan_po(
            ns,
            state.as_ref(),
            w.link.as_ref(),
            &resolved,
            &self.ctx.settings.mapping,
        );
        log_plan(&plan);
        if opts.dry_run {
            return Ok(Outcome::Applied {
                problems: plan.problems.len(),
                plan: Some(plan),
            });
        }
        let before = ion_po.as_ref().map(|p| p.id);
        match apply::apply(&self.ctx, &plan, ion_po).await {
            Ok(applied) => {
                self.record(ns, &w, &plan, &applied)?;
                Ok(Outcome::Applied {
                    problems: plan.problems.len(),
                    plan: None,
                })
            }
            Err(e) => {
                let ion_po_id = e.ion_po_id.or(before);
                let why = error_chain(&e);
                warn!(
                    tran_id = %ns.tran_id,
                    ion_po = ?ion_po_id,
                    error = %why,
                    "applying NetSuite PO to ION failed; parked as an open problem and retried later"
                );
                let link = ion_po_id.map(|id| PoLink {
                    ns_po_id: ns.id,
                    ion_po_id: id,
                    tran_id: ns.tran_id.clone(),
                    // Empty: never equal to a content hash, so the PO is planned again.
                    content_hash: String::new(),
                    last_lastmod: ns.lastmod.clone(),
                    line_map: w
                        .link
                        .as_ref()
                        .map(|l| l.line_map.clone())
                        .unwrap_or_default(),
                });
                let message = format!(
                    "NetSuite PO {} → ION PO {}: {why}",
                    ns.tran_id,
                    ion_po_id.map_or("(not created)".to_string(), |i| i.to_string())
                );
                let planned: Vec<Problem> = to_store_problems(&plan, w.problems.as_ref());
                self.park(
                    &ns.tran_id,
                    ns.id,
                    link.or(w.link.clone()),
                    w.problems.clone(),
                    planned,
                    message,
                )?;
                Ok(Outcome::Failed)
            }
        }
    }
}
