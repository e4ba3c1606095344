//! The daemon's two cycles, run as its poll loops run them (with `--faults`, repeated until
//! one comes out clean).

use std::time::Duration;

use super::{Tour, out};
use crate::sync::CycleOptions;

impl Tour {
    /// One NetSuite → ION PO cycle, as the daemon's poll loop runs it. With `--faults`, a PO
    /// whose apply hit an injected fault is parked as an open problem and retried by the next
    /// cycles (as the poll loop would, after its backoff), until one comes out clean.
    pub(super) async fn po_cycle(&mut self) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let attempts = if self.faults { 10 } else { 1 };
        for attempt in 1..=attempts {
            match engine.po_cycle(CycleOptions::default()).await {
                Ok(sum) => {
                    out(format_args!("   daemon: NetSuite → ION cycle: {sum}"));
                    if sum.failed == 0 && sum.deferred == 0 {
                        self.check(true, "the PO cycle applied every PO it read");
                        return;
                    }
                }
                Err(e) => {
                    out(format_args!(
                        "   daemon: NetSuite → ION cycle FAILED: {e:#}"
                    ));
                }
            }
            if attempt < attempts {
                // The retry backoff is the poll interval (1 s with --faults) doubling per
                // failure; wait it out for real, the store's problem timestamps are wall time.
                let wait = Duration::from_secs(1 << (attempt - 1).min(3));
                out(format_args!(
                    "   (injected faults: the next cycle retries in {} s)",
                    wait.as_secs()
                ));
                tokio::time::sleep(wait).await;
            }
        }
        self.check(false, "the PO cycle applied every PO it read");
    }

    /// One ION → NetSuite receipts cycle at the simulated now.
    pub(super) async fn receipts_cycle(&mut self) -> Option<crate::sync::receipts::ReceiptSummary> {
        let receipts = self.receipts.as_ref()?;
        match receipts.receipts_cycle(self.now, false).await {
            Ok(sum) => {
                out(format_args!(
                    "   daemon: ION → NetSuite receipts cycle: {sum}"
                ));
                Some(sum)
            }
            Err(e) => {
                out(format_args!(
                    "   daemon: ION → NetSuite receipts cycle FAILED: {e}"
                ));
                None
            }
        }
    }

    /// Receipts cycles until one creates an item receipt. Without faults that is the first;
    /// with `--faults` an unconfirmed or failed transform is looked up by its `externalId` on
    /// later cycles and re-sent only after the resend grace, which the simulated clock skips.
    pub(super) async fn receipts_until_created(&mut self) {
        let attempts = if self.faults { 6 } else { 1 };
        for attempt in 1..=attempts {
            let sum = self.receipts_cycle().await;
            let done = sum
                .as_ref()
                .is_some_and(|s| !s.created.is_empty() || !s.recovered.is_empty());
            if done || attempt == attempts {
                return;
            }
            let grace = self
                .receipts
                .as_ref()
                .map_or(Duration::ZERO, |r| r.resend_grace)
                + Duration::from_secs(1);
            out(format_args!(
                "   (injected faults: {} s later the daemon looks the externalId up and retries)",
                grace.as_secs()
            ));
            self.advance(grace);
        }
    }
}
