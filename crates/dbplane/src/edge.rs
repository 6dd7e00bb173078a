//! Starting the connection edge inside `serve`: bind its listener (its bound address goes
//! to `<data_dir>/edge.addr`, like the API's), publish the first route table before any
//! client is told about it, then serve sessions, republish routes now and then and drain
//! statement statistics until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dbplane_control::Config;
use dbplane_control::clusters::ClusterRegistry;
use dbplane_control::edge::EdgeLink;
use dbplane_edge::Edge;
use dbplane_store::MetadataStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// File in the data dir holding the edge's bound address.
const EDGE_ADDRESS_FILE: &str = "edge.addr";
/// File in the data dir holding the HTTP SQL API's bound address.
const EDGE_HTTP_ADDRESS_FILE: &str = "edge-http.addr";
/// Routes are republished this often (changes made by jobs: branches becoming ready,
/// passwords expiring); the API republishes at once after its own changes.
const REPUBLISH_EVERY: Duration = Duration::from_secs(5);

/// The running edge.
pub struct RunningEdge {
    pub link: EdgeLink,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningEdge {
    /// Waits for its tasks after `stop` was sent (the last statistics are stored).
    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

pub async fn start(
    config: &Config,
    store: Arc<dyn MetadataStore>,
    clusters: Arc<ClusterRegistry>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<RunningEdge>> {
    let settings = &config.edge;
    if !settings.enabled {
        return Ok(None);
    }
    let edge_config = settings
        .edge_config(&config.data_dir)
        .context("read or create the edge's HTTP session key")?;
    let edge = Edge::new(edge_config).context("set up the edge's TLS")?;
    let listener = edge
        .bind()
        .await
        .with_context(|| format!("listen for MySQL clients on {}", settings.listen))?;
    let http_listener = edge
        .bind_http()
        .await
        .with_context(|| format!("listen for the HTTP SQL API on {}", settings.http_listen))?;
    let public_http_address = match &http_listener {
        Some(http) => {
            let bound = http
                .local_addr()
                .context("read the HTTP API's bound address")?;
            crate::serve::write_address_file(&config.data_dir, EDGE_HTTP_ADDRESS_FILE, bound)?;
            tracing::info!(address = %bound, "edge serving the HTTP SQL API");
            Some(
                settings
                    .http_public_address
                    .clone()
                    .unwrap_or_else(|| bound.to_string()),
            )
        }
        None => None,
    };
    let bound = listener
        .local_addr()
        .context("read the edge's bound address")?;
    crate::serve::write_address_file(&config.data_dir, EDGE_ADDRESS_FILE, bound)?;
    let public_address = settings
        .public_address
        .clone()
        .unwrap_or_else(|| bound.to_string());
    let link = EdgeLink::new(edge.clone(), public_address, public_http_address);
    let routed = link
        .publish(store.as_ref(), &clusters)
        .await
        .context("publish the edge's first routes")?;
    tracing::info!(address = %bound, passwords = routed, "edge serving MySQL clients");
    let mut serving_stop = stop.clone();
    let serving = tokio::spawn(async move {
        edge.serve(listener, http_listener, async move {
            let _ = serving_stop.changed().await;
        })
        .await;
    });
    let republish = tokio::spawn(dbplane_control::edge::republish(
        link.clone(),
        store.clone(),
        clusters,
        REPUBLISH_EVERY,
        stop.clone(),
    ));
    let statistics = tokio::spawn(dbplane_control::edge::stats::run(
        link.clone(),
        store,
        Duration::from_secs(settings.stats_flush_seconds.max(1)),
        Duration::from_secs(settings.stats_retention_hours * 3600),
        stop,
    ));
    Ok(Some(RunningEdge {
        link,
        tasks: vec![serving, republish, statistics],
    }))
}
