//! Starting the data plane of `serve`: the managed local clusters (unless disabled),
//! connections to every cluster, and the registry the control plane routes with.

use anyhow::Context;
use dbplane_control::Config;
use dbplane_control::clusters::{ClusterEndpoint, ClusterRegistry};
use dbplane_domain::data_plane::DatabaseKind;
use dbplane_engine::physical::ClusterAdmin;
use dbplane_engine::{ClusterKind, LocalClusterConfig, LocalClusters, start_local_clusters};
use std::sync::Arc;

/// What `serve` must stop on shutdown.
pub struct DataPlane {
    pub registry: Arc<ClusterRegistry>,
    pub local: Option<LocalClusters>,
}

pub async fn start(config: &Config) -> anyhow::Result<DataPlane> {
    let mut endpoints = Vec::new();
    let local = if config.clusters.managed {
        let region = config
            .clusters
            .managed_region
            .clone()
            .or_else(|| {
                config
                    .regions
                    .iter()
                    .find(|r| r.default)
                    .map(|r| r.slug.clone())
            })
            .unwrap_or_else(|| config.regions[0].slug.clone());
        let local_config = LocalClusterConfig {
            root: config.data_dir.join("clusters"),
            mysql_port: config.clusters.managed_mysql_port,
            postgres_port: config.clusters.managed_postgres_port,
            fast_unsafe: config.clusters.experimental_unsafe_no_fsync,
        };
        let clusters = start_local_clusters(local_config)
            .await
            .context("start the managed clusters")?;
        for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
            let cluster = clusters.get(kind);
            let admin = ClusterAdmin::connect_with_timeout(
                kind,
                &cluster.admin_url(),
                config.clusters.connect_timeout(),
            )
            .await
            .with_context(|| format!("connect to the managed {kind} cluster"))?;
            endpoints.push(ClusterEndpoint {
                region: region.clone(),
                kind: database_kind(kind),
                admin: Arc::new(admin),
                admin_url: cluster.admin_url(),
                public_host: cluster.host().to_string(),
                public_port: cluster.port(),
                server_address: format!("{}:{}", cluster.host(), cluster.port()),
                server_socket: cluster.socket_path(),
            });
        }
        tracing::info!(
            mysql = %clusters.mysql().port(),
            postgresql = %clusters.postgresql().port(),
            %region,
            "managed clusters running"
        );
        Some(clusters)
    } else {
        None
    };
    for external in &config.clusters.external {
        let kind = if external.kind == "mysql" {
            ClusterKind::Mysql
        } else {
            ClusterKind::Postgresql
        };
        let admin = ClusterAdmin::connect_with_timeout(
            kind,
            &external.admin_url,
            config.clusters.connect_timeout(),
        )
        .await
        .with_context(|| {
            format!(
                "connect to the external {kind} cluster of region {}",
                external.region
            )
        })?;
        admin.ping().await.with_context(|| {
            format!(
                "check the external {kind} cluster of region {}",
                external.region
            )
        })?;
        let (host, port) = host_and_port(&external.admin_url, kind);
        endpoints.push(ClusterEndpoint {
            region: external.region.clone(),
            kind: database_kind(kind),
            admin: Arc::new(admin),
            admin_url: external.admin_url.clone(),
            server_address: format!("{host}:{port}"),
            server_socket: None,
            public_host: external.public_host.clone().unwrap_or(host),
            public_port: external.public_port.unwrap_or(port),
        });
    }
    Ok(DataPlane {
        registry: Arc::new(ClusterRegistry::new(endpoints)),
        local,
    })
}

fn database_kind(kind: ClusterKind) -> DatabaseKind {
    match kind {
        ClusterKind::Mysql => DatabaseKind::Mysql,
        ClusterKind::Postgresql => DatabaseKind::Postgresql,
    }
}

/// Host and port of an admin URL (`scheme://user:pw@host:port/...`).
fn host_and_port(url: &str, kind: ClusterKind) -> (String, u16) {
    let default_port = match kind {
        ClusterKind::Mysql => 3306,
        ClusterKind::Postgresql => 5432,
    };
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(default_port)),
        None => (host_port.to_string(), default_port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_admin_urls() {
        assert_eq!(
            host_and_port("mysql://root:pw@10.0.0.5:3307/", ClusterKind::Mysql),
            ("10.0.0.5".to_string(), 3307)
        );
        assert_eq!(
            host_and_port(
                "postgres://postgres@db.example.com/postgres",
                ClusterKind::Postgresql
            ),
            ("db.example.com".to_string(), 5432)
        );
    }
}
