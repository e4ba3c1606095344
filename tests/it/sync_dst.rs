//! Time zones (issue #5): NetSuite renders `lastmodifieddate` in the integration user's zone
//! (here Los Angeles) and the cursor is that text. Across both DST changes of a year, with a
//! cycle every few simulated minutes and edits landing inside the overlap window right around
//! each change, no edit is missed: after every cycle ION matches NetSuite.

use std::time::Duration;

use crate::support::sync::*;
use chrono::{TimeZone, Utc};
use netsuite_ion_sync::sandbox::ion::SimConfig as IonConfig;
use netsuite_ion_sync::sandbox::netsuite::SimConfig as NsConfig;
use rand::{Rng, SeedableRng};
use serde_json::json;

async fn walk_through(s: &Sims, engine: &netsuite_ion_sync::sync::Engine, pos: &[i64], seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // 40 cycles, 3 simulated minutes apart: 2 hours around the change.
    for step in 0..40 {
        // An edit somewhere inside this step (the clock is then moved to the cycle).
        let edit_at = rng.random_range(0..170u64);
        s.ns.advance(Duration::from_secs(edit_at));
        let po = pos[rng.random_range(0..pos.len())];
        let line = s.ns.po_lines(po)[0].line_id;
        let qty = 10 + step;
        s.ns.set_line_field(po, line, "quantity", json!(qty))
            .unwrap();
        s.ns.advance(Duration::from_secs(180 - edit_at));
        let sum = cycle(engine).await;
        assert_eq!(sum.failed, 0, "{sum}");
        for &p in pos {
            let ns_line = &s.ns.po_lines(p)[0];
            let ion = s.ion_po(p);
            let il = s.ion_line(&ion, ns_line.line_id).expect("line");
            assert_eq!(
                il["quantity"].as_f64(),
                Some(ns_line.quantity),
                "step {step} ({} UTC): edit of PO{p} missed",
                s.ns.now()
            );
        }
    }
}

#[tokio::test]
async fn no_edit_is_missed_across_spring_forward_and_fall_back() {
    let spring = Utc.with_ymd_and_hms(2026, 3, 8, 9, 0, 0).unwrap(); // 01:00 PST; gap at 10:00 UTC
    let s = Sims::start(
        NsConfig {
            time_zone: chrono_tz::America::Los_Angeles,
            start_time: Some(spring),
            ..Default::default()
        },
        IonConfig::default(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let pos: Vec<i64> = (0..5).map(|_| s.po(v, "B", vec![line(p, 1.0)])).collect();
    cycle(&engine).await;
    walk_through(&s, &engine, &pos, 1).await;

    // Fall back: 01:00–02:00 happens twice (08:00–10:00 UTC).
    s.ns.set_now(Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap());
    cycle(&engine).await;
    walk_through(&s, &engine, &pos, 2).await;
}
