//! `/metrics` over HTTP against the real binary: its series are bounded whatever
//! methods and paths clients send, and deploys, backups and the managed clusters are
//! measured where they happen.

mod backup_support;
mod support;

use dbplane_testkit::{TestServer, wait_until};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use support::deploys::*;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

/// The series of a page: the name and labels of every sample line (the exporter
/// renders them in no fixed order).
fn series(page: &str) -> BTreeSet<&str> {
    page.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.rsplit_once(' ').map_or(line, |(key, _)| key))
        .collect()
}

/// A small deterministic generator, so a failure can be replayed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
    fn word(&mut self, alphabet: &[u8], length: usize) -> String {
        (0..length)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const KNOWN_METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
];

/// A path of one of three shapes: unmatched, a route with a parameter, a fixed route.
fn path(random: &mut Xorshift, shape: usize) -> String {
    let segment = |random: &mut Xorshift| {
        let length = 1 + random.below(12);
        random.word(b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%41", length)
    };
    match shape {
        0 => {
            let depth = 1 + random.below(5);
            (0..depth)
                .map(|_| format!("/{}", segment(random)))
                .collect()
        }
        1 => format!("/v1/organizations/{}", segment(random)),
        _ => "/v1/regions".to_string(),
    }
}

#[tokio::test]
async fn arbitrary_methods_and_paths_do_not_grow_metrics() {
    let server = TestServer::start(BIN).await;
    let http = reqwest::Client::new();
    let base = server.base_url();
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let send = |method: Method, path: String| {
        let request = http.request(method, format!("{base}{path}"));
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().as_u16() < 500, "{}", response.status());
        }
    };
    // Every label combination the hammer can produce, once: each known method and one
    // unknown, on each shape of path.
    for shape in 0..3 {
        for method in KNOWN_METHODS
            .iter()
            .cloned()
            .chain([Method::from_bytes(b"BREW").unwrap()])
        {
            send(method, path(&mut random, shape)).await;
        }
    }
    scrape(base).await;
    let before = scrape(base).await;

    let mut sent_words = Vec::new();
    for round in 0..600 {
        let method = if round % 2 == 0 {
            let length = 4 + random.below(12);
            let word = random.word(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", length);
            sent_words.push(word.clone());
            Method::from_bytes(word.as_bytes()).unwrap()
        } else {
            KNOWN_METHODS[random.below(KNOWN_METHODS.len())].clone()
        };
        let shape = random.below(3);
        send(method, path(&mut random, shape)).await;
    }
    let after = scrape(base).await;

    let (before, after_series) = (series(&before), series(&after));
    let gained: Vec<_> = after_series.difference(&before).collect();
    let lost: Vec<_> = before.difference(&after_series).collect();
    assert!(
        gained.is_empty() && lost.is_empty(),
        "{} series before, gained {gained:?}, lost {lost:?}",
        before.len()
    );
    for word in &sent_words {
        assert!(!after.contains(word.as_str()), "{word} became a label");
    }
    assert!(
        after.contains(r#"method="other",route="unmatched",status="404""#),
        "{after}"
    );
    assert!(
        after.contains(r#"method="other",route="/v1/organizations/{organization}",status="405""#),
        "{after}"
    );
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
    "INSERT INTO users (name) SELECT CONCAT('user-', seq) FROM seq_1_to_2000",
];

#[tokio::test]
async fn deploys_backups_and_managed_clusters_are_measured() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let base = fixture.server.base_url().to_string();
    let page = scrape(&base).await;
    for kind in ["mysql", "postgresql"] {
        assert_eq!(
            sample(
                &page,
                &format!(r#"dbplane_managed_cluster_up{{kind="{kind}"}}"#)
            ),
            Some(1.0),
            "{page}"
        );
    }

    // A deploy copied online and cut over.
    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE users ADD COLUMN age INT NULL")
        .await
        .unwrap();
    let opened = fixture.open("dev", json!({})).await;
    assert_eq!(opened["deployment_state"], "ready", "{opened}");
    fixture.post(1, "deploy").await;
    let deployed = fixture
        .wait_for(1, &["complete_pending_revert", "complete_error"])
        .await;
    assert_eq!(deployed["deployment_state"], "complete_pending_revert");
    let page = scrape(&base).await;
    assert_eq!(
        sample(&page, r#"dbplane_deploys_total{outcome="deployed"}"#),
        Some(1.0),
        "{page}"
    );
    assert!(
        sample(&page, "dbplane_deploy_copied_rows_total").is_some_and(|rows| rows >= 2000.0),
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            r#"dbplane_deploy_cutover_write_block_seconds_count{direction="cutover"}"#
        ),
        Some(1.0),
        "{page}"
    );

    // A backup of main.
    let main = format!("{DB_PATH}/branches/main");
    let backup = backup_support::successful_backup(&fixture.client, &main).await;
    let page = scrape(&base).await;
    assert_eq!(
        sample(&page, r#"dbplane_backups_total{outcome="success"}"#),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            r#"dbplane_backup_duration_seconds_count{outcome="success"}"#
        ),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        sample(&page, "dbplane_backup_size_bytes_sum"),
        backup["size"].as_f64(),
        "{page}"
    );

    // The managed MariaDB dies: it is down, then restarted and counted.
    kill_managed_mysql(&fixture.server);
    wait_until(
        "the managed MariaDB's restart to be counted",
        Duration::from_secs(60),
        || async {
            let page = scrape(&base).await;
            let restarts = sample(
                &page,
                r#"dbplane_managed_cluster_restarts_total{kind="mysql"}"#,
            );
            let up = sample(&page, r#"dbplane_managed_cluster_up{kind="mysql"}"#);
            (restarts == Some(1.0) && up == Some(1.0)).then_some(())
        },
    )
    .await;
}
