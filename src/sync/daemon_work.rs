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
                .map_err(|e| anyhow::Error::new(e).context("receipts cycle"))?;
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

/// The zone NetSuite dates are taken in (an itemReceipt's `tranDate` is the receiving day *in
/// the account's zone*, not UTC). There is no config key for it: it is measured, as SuiteQL's
/// offset from UTC (reference §3.7.4), and mapped to the matching fixed `Etc/GMT±N` zone.
/// Offsets that are not whole hours, or a failed probe, fall back to UTC with a warning.
pub async fn account_time_zone(netsuite: &crate::netsuite::Client) -> chrono_tz::Tz {
    match netsuite.suiteql_time_zone_offset().await {
        Ok(Some(offset)) => match zone_for_offset(offset) {
            Some(tz) => {
                tracing::info!(zone = %tz.name(), "NetSuite dates are taken in the account's measured zone");
                tz
            }
            None => {
                tracing::warn!(
                    offset_minutes = offset.num_minutes(),
                    "SuiteQL's offset is not a whole number of hours; item receipt dates use UTC"
                );
                chrono_tz::UTC
            }
        },
        Ok(None) => chrono_tz::UTC,
        Err(e) => {
            tracing::warn!(error = %e, "cannot measure the SuiteQL time zone; item receipt dates use UTC");
            chrono_tz::UTC
        }
    }
}

/// `Etc/GMT+8` is UTC−8: the sign of the Etc names is inverted (POSIX).
fn zone_for_offset(offset: chrono::Duration) -> Option<chrono_tz::Tz> {
    let minutes = offset.num_minutes();
    if minutes % 60 != 0 || minutes.abs() > 14 * 60 {
        return None;
    }
    let hours = minutes / 60;
    let name = match hours {
        0 => "Etc/UTC".to_string(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Offset, TimeZone};

    #[test]
    fn offsets_map_to_the_matching_fixed_zone() {
        for hours in [-8i64, -5, 0, 1, 9, 14] {
            let tz = zone_for_offset(chrono::Duration::hours(hours)).expect("zone");
            let at = tz
                .with_ymd_and_hms(2026, 7, 1, 12, 0, 0)
                .single()
                .expect("time");
            assert_eq!(
                i64::from(at.offset().fix().local_minus_utc()),
                hours * 3600,
                "{hours}: {}",
                tz.name()
            );
        }
        assert_eq!(
            zone_for_offset(chrono::Duration::minutes(330)),
            None,
            "India +5:30"
        );
    }
}
