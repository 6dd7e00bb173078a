//! The online schema change corpus (issue 13): every case a table, rows, writers that
//! commit every kind of statement during the change, one ALTER through a branch and a gated
//! deploy request; the migrated table must equal what MariaDB's own `ALTER TABLE` makes of
//! the same rows, or the deploy must refuse or fail exactly when that `ALTER` does.
//!
//! `OSC_CASES=name,other` runs only the cases whose names contain one of the parts;
//! `OSC_BINARY=path` runs the corpus against another build of `dbplane` (an older one, to
//! see which cases it fails).

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod compare;
mod harness;
mod workload;

use std::sync::Arc;

use dbplane_testkit::{TestOptions, TestServer};
use tokio::sync::Mutex;

/// Databases that run cases side by side (one deploy queue each).
const LANES: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_case_converts_exactly_like_alter_table() {
    let all = cases::all();
    assert!(all.len() >= 60, "the corpus has {} cases", all.len());
    let filter: Vec<String> = std::env::var("OSC_CASES")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let selected: Vec<(usize, cases::Case)> = all
        .into_iter()
        .enumerate()
        .filter(|(_, case)| {
            filter.is_empty() || filter.iter().any(|f| case.name.contains(f.as_str()))
        })
        .collect();

    let binary =
        std::env::var("OSC_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_dbplane").into());
    let server = TestServer::start_with(
        &binary,
        TestOptions {
            clusters: true,
            extra_config:
                "[deploys]\npoll_millis = 50\nrecheck_after_millis = 300\ncopy_step_millis = 200\n"
                    .into(),
            env: Vec::new(),
            cluster_config: String::new(),
        },
    )
    .await;
    let token = server.bootstrap("acme", "ops@acme.test").header();
    let client = server.client(Some(token));

    let queue = Arc::new(Mutex::new(selected.into_iter()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut lanes = Vec::new();
    let cluster_port = server.managed_mysql_port();
    for lane in 0..LANES {
        let client = client.clone();
        let queue = queue.clone();
        let failures = failures.clone();
        lanes.push(tokio::spawn(async move {
            let lane =
                harness::Lane::create(&client, "acme", &format!("corpus{lane}"), cluster_port)
                    .await;
            loop {
                let next = queue.lock().await.next();
                let Some((index, case)) = next else { break };
                let started = std::time::Instant::now();
                let outcome = lane.run(&client, index, &case).await;
                println!(
                    "{:>3} {:<48} {:>6.1}s {}",
                    index,
                    case.name,
                    started.elapsed().as_secs_f64(),
                    match &outcome {
                        Ok(()) => "ok".to_string(),
                        Err(error) => format!("FAILED: {error}"),
                    }
                );
                if let Err(error) = outcome {
                    failures
                        .lock()
                        .await
                        .push(format!("{} ({index}): {error}", case.name));
                }
            }
        }));
    }
    for lane in lanes {
        lane.await.expect("lane");
    }
    let failures = failures.lock().await;
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}\n\nserver log tail:\n{}",
        failures.len(),
        failures.join("\n"),
        server
            .log()
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
