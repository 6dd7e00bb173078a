//! Throwaway MariaDB and PostgreSQL servers for the round-trip tests, started the way
//! `dbplane serve` starts its managed local clusters.

use std::os::unix::fs::PermissionsExt;

use dbplane_engine::{LocalClusterConfig, LocalClusters, start_local_clusters};
use dbplane_schema::{Dialect, Schema, introspect};
use mysql_async::prelude::Queryable;

pub struct Servers {
    pub runtime: tokio::runtime::Runtime,
    clusters: Option<LocalClusters>,
    _directory: tempfile::TempDir,
}

impl Servers {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build runtime");
        let directory = tempfile::tempdir().expect("create temp dir");
        // The postgres OS user must be able to enter it.
        std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open up temp dir");
        let config = LocalClusterConfig {
            fast_unsafe: true,
            ..LocalClusterConfig::new(directory.path().join("clusters"))
        };
        let clusters = runtime
            .block_on(start_local_clusters(config))
            .expect("start local clusters");
        Servers {
            runtime,
            clusters: Some(clusters),
            _directory: directory,
        }
    }

    pub fn mysql_url(&self) -> String {
        self.clusters.as_ref().expect("running").mysql().admin_url()
    }

    pub fn postgres_url(&self) -> String {
        self.clusters
            .as_ref()
            .expect("running")
            .postgresql()
            .admin_url()
    }

    pub async fn connect(&self, dialect: Dialect) -> EngineConnection {
        match dialect {
            Dialect::Mariadb => {
                let options = mysql_async::Opts::from_url(&self.mysql_url()).expect("parse url");
                let options = mysql_async::OptsBuilder::from_opts(options).prefer_socket(false);
                let connection = mysql_async::Conn::new(options)
                    .await
                    .expect("connect to mariadb");
                EngineConnection::Mariadb(connection)
            }
            Dialect::Postgres => {
                let admin = postgres_client(&self.postgres_url())
                    .await
                    .expect("connect to postgres");
                EngineConnection::Postgres {
                    admin,
                    database: None,
                }
            }
        }
    }

    pub fn stop(mut self) {
        if let Some(clusters) = self.clusters.take() {
            self.runtime
                .block_on(clusters.shutdown())
                .expect("shut down clusters");
        }
    }
}

pub async fn postgres_client(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// One connection per engine, reused across cases.
pub enum EngineConnection {
    Mariadb(mysql_async::Conn),
    Postgres {
        admin: tokio_postgres::Client,
        /// The case schema, also the connection's `search_path`.
        database: Option<String>,
    },
}

impl EngineConnection {
    pub fn dialect(&self) -> Dialect {
        match self {
            EngineConnection::Mariadb(_) => Dialect::Mariadb,
            EngineConnection::Postgres { .. } => Dialect::Postgres,
        }
    }

    pub async fn create_database(&mut self, name: &str) -> Result<(), String> {
        match self {
            EngineConnection::Mariadb(connection) => {
                connection
                    .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await
                    .map_err(|e| format!("drop database: {e}"))?;
                connection
                    .query_drop(format!("CREATE DATABASE `{name}`"))
                    .await
                    .map_err(|e| format!("create database: {e}"))
            }
            EngineConnection::Postgres {
                admin, database, ..
            } => {
                // A schema per case: PostgreSQL's counterpart of a MariaDB database,
                // and far cheaper to create than a database.
                admin
                    .batch_execute(&format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}; SET search_path TO {name}"
                    ))
                    .await
                    .map_err(|e| format!("create schema: {e:?}"))?;
                *database = Some(name.to_owned());
                Ok(())
            }
        }
    }

    pub async fn apply(&mut self, name: &str, statements: &[String]) -> Result<(), String> {
        match self {
            EngineConnection::Mariadb(connection) => {
                connection
                    .query_drop(format!("USE `{name}`"))
                    .await
                    .map_err(|e| e.to_string())?;
                for statement in statements {
                    connection
                        .query_drop(statement.as_str())
                        .await
                        .map_err(|e| format!("{statement}\n  failed: {e}"))?;
                }
                Ok(())
            }
            EngineConnection::Postgres { admin: client, .. } => {
                for statement in statements {
                    client
                        .batch_execute(statement)
                        .await
                        .map_err(|e| format!("{statement}\n  failed: {e:?}"))?;
                }
                Ok(())
            }
        }
    }

    pub async fn introspect(&mut self, name: &str) -> Result<Schema, String> {
        match self {
            EngineConnection::Mariadb(connection) => introspect::mariadb(connection, name)
                .await
                .map_err(|e| format!("introspect: {e:?}")),
            EngineConnection::Postgres { admin, .. } => introspect::postgres(admin, name)
                .await
                .map_err(|e| format!("introspect: {e:?}")),
        }
    }

    pub async fn drop_database(&mut self, name: &str) -> Result<(), String> {
        match self {
            EngineConnection::Mariadb(connection) => connection
                .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                .await
                .map_err(|e| format!("drop database: {e}")),
            EngineConnection::Postgres {
                admin, database, ..
            } => {
                database.take();
                admin
                    .batch_execute(&format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE; SET search_path TO public"
                    ))
                    .await
                    .map_err(|e| format!("drop schema: {e}"))
            }
        }
    }
}
