//! Plugs the sync engine into the `run` loop ([`crate::daemon::Work`]).
//!
//! The PO leg and the receipts leg both rewrite a PO's open problems in the store, so their
//! cycles are serialised by one async mutex: the loops keep their own intervals, but never
//! write the same record at the same time. Cycles are short, so the wait is too.

use tokio::sync::Mutex;

use super::{CycleOptions, Engine, ReceiptSync};
use crate::daemon::{CycleFuture, Work};

/// The daemon's work: the PO engine, the receipts leg and the gate between them.
pub struct SyncWork {
    engine: Engine,
    receipts: ReceiptSync,
    gate: Mutex<()>,
}

impl SyncWork {
    pub fn new(engine: Engine, receipts: ReceiptSync) -> Self {
        Self {
            engine,
            receipts,
            gate: Mutex::new(()),
        }
    }
}

impl Work for SyncWork {
    fn po_cycle(&self) -> CycleFuture<'_> {
        Box::pin(async move {
            let _one_at_a_time = self.gate.lock().await;
            let sum = self
                .engine
                .po_cycle(CycleOptions { dry_run: false })
                .await?;
            if sum.failed > 0 {
                tracing::warn!(
                    failed = sum.failed,
                    "some purchase orders failed; parked and retried"
                );
            }
            Ok(sum.to_string())
        })
    }

    fn receipts_cycle(&self) -> CycleFuture<'_> {
        Box::pin(async move {
            let _one_at_a_time = self.gate.lock().await;
            let sum = self
                .receipts
                .receipts_cycle(chrono::Utc::now(), false)
                .await
                .map_err(|e| anyhow::anyhow!("receipts cycle: {e}"))?;
            Ok(sum.to_string())
        })
    }

    fn full_reconcile(&self) -> CycleFuture<'_> {
        Box::pin(async move {
            let _one_at_a_time = self.gate.lock().await;
            let sum = self.engine.reconcile_all(false).await?;
            Ok(sum.to_string())
        })
    }
}
