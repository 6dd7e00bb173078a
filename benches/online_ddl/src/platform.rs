//! The platform under test: one release `dbplane serve` with durable managed clusters, a
//! MariaDB database `bench` whose `main` has safe migrations (so schema changes go through
//! deploy requests), and the cluster's superuser for the peers, which run on the same
//! server and the same database.

use anyhow::{Context, Result, bail};
use serde_json::json;
use std::path::Path;

use crate::api::Api;
use crate::server::Server;

/// The API name of the benchmark's database.
pub const DATABASE: &str = "bench";

pub struct Platform {
    pub server: Server,
    pub api: Api,
    /// `mysql://root@127.0.0.1:<port>/`: the managed MariaDB's superuser.
    pub admin_url: String,
    pub port: u16,
    /// The physical database behind `main`, where every method's table lives.
    pub main_db: String,
}

impl Platform {
    pub async fn start(binary: &Path) -> Result<Self> {
        let server = Server::start(binary, false).await?;
        let api = Api::new(
            &server.base_url,
            &server.authorization,
            &server.organization,
        );
        api.create_database(DATABASE, "mysql").await?;
        let main_path = format!("{}/branches/main", api.database_path(DATABASE));
        let (status, main) = api.get(&main_path).await?;
        if status != 200 {
            bail!("GET {main_path} answered {status}: {main}");
        }
        // The managed MariaDB itself (clients' addresses name the connection edge), and
        // `main`'s database on it: the template table is built there as its superuser.
        let port: u16 = std::fs::read_to_string(server.data_dir().join("clusters/mysql/port"))
            .context("read the managed MariaDB's port")?
            .trim()
            .parse()
            .context("the managed MariaDB's port")?;
        let main_db = format!(
            "dbp_{}",
            main["id"]
                .as_str()
                .with_context(|| format!("no id in {main}"))?
        );
        let safe = format!("{main_path}/safe-migrations");
        let (status, body) = api.post(&safe, json!({})).await?;
        if status != 200 {
            bail!("POST {safe} answered {status}: {body}");
        }
        Ok(Platform {
            server,
            api,
            admin_url: format!("mysql://root@127.0.0.1:{port}/"),
            port,
            main_db,
        })
    }
}
