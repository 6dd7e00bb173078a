//! Deadlines, over HTTP against the real binary and a real MariaDB that falls silent: a
//! request that needs a database server which stopped answering gets a prompt 503 in the
//! API's error format, requests that do not need it stay fast, and the server recovers
//! when the database answers again.
//!
//! The silent server is the managed MariaDB seen through a TCP proxy in this test
//! process, configured as the external cluster of region `slow`. The proxy forwards
//! bytes until told to fall silent; then it keeps every connection open (and accepts
//! new ones) but passes nothing either way, as a hung or partitioned server does.

mod support;

use dbplane_testkit::{ApiClient, ApiResponse, TestOptions, TestServer, wait_until};
use serde_json::json;
use std::future::Future;
use std::time::{Duration, Instant};
use support::ready_database;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const SLOW: &str = "/v1/organizations/acme/databases/slow";
const FAST: &str = "/v1/organizations/acme/databases/fast";
/// A request this test makes must have answered within this, or the test fails rather
/// than hangs.
const HANG: Duration = Duration::from_secs(60);

/// A TCP proxy that can fall silent.
struct SilentProxy {
    port: u16,
    silent: watch::Sender<bool>,
}

impl SilentProxy {
    async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (silent, _) = watch::channel(false);
        let switch = silent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, switch.subscribe()));
                tokio::spawn(pump(server_read, client_write, switch.subscribe()));
            }
        });
        Self { port, silent }
    }

    fn fall_silent(&self) {
        self.silent.send_replace(true);
    }

    fn speak_again(&self) {
        self.silent.send_replace(false);
    }
}

/// Copies `from` to `to` while not silent; while silent, reads nothing (so nothing is
/// lost: the bytes wait in the socket until the proxy speaks again).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut silent: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if silent.wait_for(|silent| !*silent).await.is_err() {
            return;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            // Reading from a TCP stream is cancel safe: nothing read is dropped.
            _ = silent.wait_for(|silent| *silent) => continue,
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(count) => {
                if to.write_all(&buffer[..count]).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Fixture {
    _server: TestServer,
    client: ApiClient,
    proxy: SilentProxy,
}

/// A server with managed clusters for region `us-east` and the managed MariaDB, through
/// the proxy, as the cluster of region `slow`; database `fast` in the first, `slow` in
/// the second, both ready. `api` is the `[api]` table's keys; `connect_timeout` is
/// `[clusters] connect_timeout_seconds`.
async fn start(api: &str, connect_timeout: u64) -> Fixture {
    let mysql_port = free_port();
    let proxy = SilentProxy::start(mysql_port).await;
    let server = TestServer::start_with(
        BIN,
        TestOptions {
            clusters: true,
            extra_config: format!(
                "[api]\n{api}\n\
                 [[regions]]\nslug = \"us-east\"\ndefault = true\n\
                 [[regions]]\nslug = \"slow\"\n"
            ),
            cluster_config: format!(
                "managed_mysql_port = {mysql_port}\nconnect_timeout_seconds = {connect_timeout}\n\
                 [[clusters.external]]\nkind = \"mysql\"\nregion = \"slow\"\n\
                 admin_url = \"mysql://root@127.0.0.1:{}/\"\n",
                proxy.port
            ),
            ..TestOptions::default()
        },
    )
    .await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "fast", "mysql").await;
    let created = client
        .post(
            "/v1/organizations/acme/databases",
            json!({"name": "slow", "kind": "mysql", "region": "slow", "cluster_size": "PS_10"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    support::wait_for_database(&client, "acme", "slow").await;
    Fixture {
        _server: server,
        client,
        proxy,
    }
}

/// The answer and how long it took; fails the test instead of hanging.
async fn timed(request: impl Future<Output = ApiResponse>) -> (ApiResponse, Duration) {
    let started = Instant::now();
    let response = tokio::time::timeout(HANG, request)
        .await
        .expect("the request hung");
    (response, started.elapsed())
}

fn password_body(name: &str) -> serde_json::Value {
    json!({"name": name, "role": "reader"})
}

#[tokio::test]
async fn a_silent_cluster_gives_prompt_503s_and_other_requests_stay_fast() {
    // Connecting may take longer than a request's database call: whether the call needs a
    // new connection or has a pooled one, the call's deadline is what answers.
    let fixture = start(
        "request_timeout_seconds = 20\ncluster_timeout_seconds = 1",
        5,
    )
    .await;
    let client = &fixture.client;
    let created = client
        .post(
            &format!("{SLOW}/branches/main/passwords"),
            password_body("before"),
        )
        .await;
    assert_eq!(
        created.status, 201,
        "the proxied cluster works: {}",
        created.body
    );

    fixture.proxy.fall_silent();
    // Requests that need the silent server: a 503 within a few seconds, never a hang.
    let bound = Duration::from_secs(5);
    let touching = [
        ("POST", format!("{SLOW}/branches/main/passwords")),
        ("GET", format!("{SLOW}/branches/main/schema")),
        ("GET", format!("{SLOW}/branches/main/schema/lint")),
    ];
    for (method, path) in &touching {
        let (response, took) = if *method == "POST" {
            timed(client.post(path, password_body("during"))).await
        } else {
            timed(client.get(path)).await
        };
        eprintln!(
            "{method} {path} (silent cluster): {} in {took:?}",
            response.status
        );
        assert_eq!(response.status, 503, "{method} {path}: {}", response.body);
        assert_eq!(response.code(), "internal");
        assert_eq!(
            response.body["message"],
            "a database server did not answer in time, retry later"
        );
        assert_eq!(response.headers["retry-after"], "1");
        assert!(took < bound, "{method} {path} took {took:?}");
    }

    // Requests that do not need it: as fast as ever, on the same database too.
    let fast_bound = Duration::from_millis(750);
    for path in [
        "/v1/organizations/acme".to_string(),
        format!("{SLOW}/branches/main"),
        format!("{SLOW}/branches/main/passwords"),
        format!("{FAST}/branches/main/schema"),
    ] {
        let (response, took) = timed(client.get(&path)).await;
        eprintln!("GET {path}: {} in {took:?}", response.status);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        assert!(took < fast_bound, "GET {path} took {took:?}");
    }
    let (response, took) = timed(client.post(
        &format!("{FAST}/branches/main/passwords"),
        password_body("healthy"),
    ))
    .await;
    assert_eq!(response.status, 201, "{}", response.body);
    assert!(
        took < fast_bound,
        "a password on the healthy cluster took {took:?}"
    );

    // The database answers again: so does the API.
    fixture.proxy.speak_again();
    wait_until("the slow cluster to serve again", HANG, || async {
        let response = client.get(&format!("{SLOW}/branches/main/schema")).await;
        (response.status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_request_past_its_deadline_answers_503() {
    // The database call may wait longer than the request: the request deadline answers.
    let fixture = start(
        "request_timeout_seconds = 1\ncluster_timeout_seconds = 30",
        30,
    )
    .await;
    let client = &fixture.client;
    fixture.proxy.fall_silent();
    let path = format!("{SLOW}/branches/main/schema");
    let (response, took) = timed(client.get(&path)).await;
    eprintln!(
        "GET {path} (silent cluster, 1 s deadline): {} in {took:?}",
        response.status
    );
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.code(), "internal");
    assert_eq!(
        response.body["message"],
        "the request did not finish in time, retry later"
    );
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // Fast requests are untouched by the deadline.
    let (response, _) = timed(client.get("/v1/organizations/acme")).await;
    assert_eq!(response.status, 200);
}
