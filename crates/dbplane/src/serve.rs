//! `dbplane serve`: layer the configuration, open the store, serve until SIGINT or
//! SIGTERM, then drain in-flight requests.

use crate::cli::ServeArgs;
use anyhow::Context;
use dbplane_control::backups::jobs::BackupJobs;
use dbplane_control::data_jobs::DataPlaneJobs;
use dbplane_control::{Config, ControlPlane};
use dbplane_jobs::{JobNotifier, JobRunner};
use dbplane_store::{JobStore, MetadataStore, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    crate::logging::init(args.log_format);
    // First, so the managed clusters' start and every later event are counted.
    dbplane_api::metrics::install().context("install the metrics recorder")?;
    dbplane_control::metrics::describe();
    dbplane_engine::cluster::metrics::describe();
    dbplane_edge::metrics::describe();
    let config = layered_config(&args)?;
    dbplane_jobs::check_failpoints().context("read the failpoints")?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create data dir {}", config.data_dir.display()))?;
    let _lock = crate::data_dir_lock::acquire(&config.data_dir)?;
    let store = SqliteStore::open(&config.data_dir)
        .await
        .context("open the metadata store")?;
    // This process holds the data dir lock, so no other worker can hold a lease.
    store
        .release_all_leases()
        .await
        .context("release stale job leases")?;
    let store_handle = store.clone();
    let store: Arc<dyn MetadataStore> = Arc::new(store);
    let data_plane = crate::data_plane::start(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen on {}", config.listen))?;
    let local_address = listener.local_addr().context("read the bound address")?;
    write_address_file(&config.data_dir, ADDRESS_FILE, local_address)?;
    // With port 0 the configured address is not the one clients reach.
    let config = Arc::new(Config {
        listen: local_address,
        ..config
    });
    let notifier = JobNotifier::default();
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let edge = crate::edge::start(
        &config,
        store.clone(),
        data_plane.registry.clone(),
        jobs_stopped.clone(),
    )
    .await?;
    let mut control = ControlPlane::with_data_plane(
        store.clone(),
        config.clone(),
        data_plane.registry.clone(),
        notifier.clone(),
    );
    if let Some(edge) = &edge {
        control = control.with_edge(edge.link.clone());
    }
    let control = Arc::new(control);
    let backup_store = crate::backups::open_store(&config).await?;
    let backup_jobs = Arc::new(BackupJobs::new(
        store.clone(),
        data_plane.registry.clone(),
        backup_store,
        crate::backups::open_scratch(&config).await?,
    ));
    let scheduler = tokio::spawn(dbplane_control::backups::scheduler::run(
        store.clone(),
        Duration::from_millis(config.backups.scheduler_interval_ms),
        notifier.clone(),
        jobs_stopped.clone(),
    ));
    let rechecker = tokio::spawn(dbplane_control::deploys::recheck::run(
        store.clone(),
        config.deploys.recheck_after_millis,
        notifier.clone(),
        jobs_stopped.clone(),
    ));
    let table_counter = tokio::spawn(dbplane_control::table_counts::run(
        store.clone(),
        data_plane.registry.clone(),
        Duration::from_millis(config.jobs.stats_refresh_millis),
        jobs_stopped.clone(),
    ));
    let runner = JobRunner::new(
        store.clone(),
        Arc::new({
            let jobs = DataPlaneJobs::with_deploys(
                store.clone(),
                data_plane.registry.clone(),
                config.deploys.clone(),
            )
            .with_backups(backup_jobs);
            match &edge {
                Some(edge) => jobs.with_edge(edge.link.clone()),
                None => jobs,
            }
        }),
        config.jobs.runner_config(&config.backups),
        notifier,
    );
    let runner = tokio::spawn(runner.run(jobs_stopped));
    let router = dbplane_api::router(control);
    tracing::info!(address = %local_address, data_dir = %config.data_dir.display(), "dbplane serving");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serve HTTP");
    tracing::info!("shutting down");
    let _ = stop_jobs.send(true);
    let _ = runner.await;
    let _ = scheduler.await;
    let _ = rechecker.await;
    let _ = table_counter.await;
    if let Some(edge) = edge {
        edge.stopped().await;
    }
    if let Some(clusters) = data_plane.local
        && let Err(error) = clusters.shutdown().await
    {
        tracing::error!(%error, "stopping the managed clusters");
    }
    store_handle.close().await;
    served
}

/// Name of the file in the data dir that holds the address being served, so tools and
/// tests that asked for port 0 can find the real one.
const ADDRESS_FILE: &str = "dbplane.addr";

/// Writes `address` to `<data_dir>/<name>` (through a temporary file: readers never see
/// half an address).
pub fn write_address_file(
    data_dir: &std::path::Path,
    name: &str,
    address: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let temporary = data_dir.join(format!("{name}.tmp"));
    std::fs::write(&temporary, address.to_string()).context("write the address file")?;
    std::fs::rename(&temporary, data_dir.join(name)).context("publish the address file")?;
    Ok(())
}

/// File, then environment and flags (clap merges those two).
fn layered_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(data_dir) = &args.data_dir {
        config.data_dir = data_dir.clone();
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(listen) = args.edge_listen {
        config.edge.listen = listen;
    }
    if let Some(listen) = args.edge_http_listen {
        config.edge.http_listen = listen;
    }
    config.validate()?;
    Ok(config)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
