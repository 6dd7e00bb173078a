//! `dbplane admin ...`.

use crate::cli::BootstrapArgs;
use anyhow::Context;
use dbplane_store::SqliteStore;

/// Bootstraps an organization; prints `{organization, user, service_token}` as JSON.
pub async fn bootstrap(args: BootstrapArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("create data dir {}", args.data_dir.display()))?;
    let store = SqliteStore::open(&args.data_dir)
        .await
        .context("open the metadata store")?;
    let outcome = dbplane_control::bootstrap::bootstrap(
        &store,
        &args.organization,
        &args.email,
        args.name.as_deref(),
    )
    .await
    .map_err(|error| anyhow::anyhow!("bootstrap failed: {error}"))?;
    store.close().await;
    let printed = serde_json::json!({
        "organization": outcome.organization.name,
        "user": { "id": outcome.user.id.to_string(), "email": outcome.user.email },
        "service_token": { "id": outcome.token.id.to_string(), "token": outcome.secret.expose() },
    });
    println!("{printed}");
    Ok(())
}
