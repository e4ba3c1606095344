//! `once --dry-run` and `resync <tranId>` through the real binary, against both simulators.

use crate::support::sync::*;
use tokio::process::Command;

async fn run(config: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_dry_run_prints_the_plan_and_resync_applies_one_po() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let config = s.write_config(dir.path());
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    let po1 = s.po(v, "B", vec![line(p, 2.0)]);
    let po2 = s.po(v, "B", vec![line(p, 3.0)]);

    let (code, out) = run(&config, &["once", "--dry-run"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("NetSuite PO PO{po1}")), "{out}");
    assert!(out.contains("ION: create PO as DRAFT"), "{out}");
    assert!(out.contains("ION: set PO status DRAFT -> ORDERED"), "{out}");
    assert!(s.ion_pos_for(po1).is_empty(), "dry run changes nothing");

    let (code, out) = run(&config, &["resync", &format!("PO{po1}")]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.ion_po(po1)["status"], "ORDERED");
    assert!(s.ion_pos_for(po2).is_empty(), "resync touches one PO");

    let (code, out) = run(&config, &["once"]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.ion_po(po2)["status"], "ORDERED");
    assert_eq!(s.ion_pos_for(po1).len(), 1);

    let (code, _) = run(&config, &["resync", "PO-NOPE"]).await;
    assert_eq!(code, 1, "unknown PO fails");
}
