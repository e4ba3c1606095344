//! `run`: the real binary as a daemon against both simulators, with a systemd notify socket.
//! Synchronisation is by explicit signals only: the daemon's JSON log lines and its sd_notify
//! datagrams.

use std::process::Stdio;
use std::time::Duration;

use crate::support::sync::{Sims, line};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_syncs_reports_to_systemd_and_stops_on_sigterm() {
    let sims = Sims::default().await;
    let vendor = sims.vendor("Acme Metals");
    let item = sims.item("WIDGET-1", "InvtPart");
    sims.part("WIDGET-1");
    let ns_po = sims.po(vendor, "B", vec![line(item, 4.0)]);

    let dir = tempfile::tempdir().expect("tempdir");
    let config = sims.write_config(dir.path());
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("\n[schedule]\nnetsuite_poll = \"1h\"\nion_receipts_poll = \"1h\"\n");
    std::fs::write(&config, text).expect("config");

    let socket_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).expect("notify socket");

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn run");

    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), socket.recv(&mut buf))
        .await
        .expect("READY within 30 s")
        .expect("recv");
    let first = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(first.contains("READY=1"), "{first}");

    // Both loops run a first cycle at start; wait for both to report.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut finished = Vec::new();
    let wait = async {
        while let Ok(Some(l)) = lines.next_line().await {
            let v: serde_json::Value = match serde_json::from_str(&l) {
                Ok(v) => v,
                Err(_) => panic!("a log line that is not JSON under format = json: {l}"),
            };
            if v["message"] == "cycle finished" {
                finished.push(v["cycle"].as_str().unwrap_or_default().to_string());
                if finished.iter().any(|c| c == "netsuite_poll")
                    && finished.iter().any(|c| c == "ion_receipts_poll")
                {
                    return;
                }
            }
        }
        panic!("the daemon ended before both cycles finished: {finished:?}");
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("both cycles within 60 s");

    // The PO cycle really happened: ION has the PO.
    let po = sims.ion_po(ns_po);
    assert_eq!(po["status"], "ORDERED", "{po}");

    // SIGTERM: the daemon says STOPPING and exits 0.
    let pid = child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut saw_stopping = false;
    let drain = async {
        loop {
            let n = socket.recv(&mut buf).await.expect("recv");
            if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
                return true;
            }
        }
    };
    if let Ok(v) = tokio::time::timeout(Duration::from_secs(30), drain).await {
        saw_stopping = v;
    }
    assert!(saw_stopping, "STOPPING=1 sent to systemd");
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
}
