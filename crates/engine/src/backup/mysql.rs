//! MariaDB backups: several sessions share one consistent snapshot ([`snapshot`]) and
//! stream the tables, a big table split into primary-key ranges, as `LOAD DATA` text into
//! zstd objects ([`dump`]); restore loads the objects on several sessions and builds plain
//! secondary indexes after the rows ([`load`]).
//!
//! Format 3 data objects are the text of a `LOAD DATA` with its default field and line
//! options. Formats 1 and 2 (still restored) framed `INSERT` statements: repeated
//! `[u32 LE statement length][u32 LE rows][statement]`.

mod dump;
mod load;
mod snapshot;
mod wire;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use super::BackupError;
use crate::cluster::ClusterKind;

pub(super) use dump::backup;
pub(super) use load::restore;

const KIND: ClusterKind = ClusterKind::Mysql;
/// Bytes of a frame's header: `[u32 LE statement length][u32 LE rows]`.
const FRAME_HEADER: usize = 8;

fn sql(error: impl std::error::Error + Send + Sync + 'static) -> BackupError {
    BackupError::sql(KIND, error)
}

use dbplane_schema::quote::mariadb_ident as quote;

/// Every session's character set and time zone (TIMESTAMPs read and written in UTC).
const SESSION_SETTINGS: &str = "SET NAMES utf8mb4, SESSION time_zone = '+00:00'";

async fn connect(admin_url: &str, db: Option<&str>) -> Result<Conn, BackupError> {
    let options = Opts::from_url(admin_url).map_err(sql)?;
    let options = OptsBuilder::from_opts(options).db_name(db);
    let mut conn = Conn::new(options).await.map_err(sql)?;
    conn.query_drop(SESSION_SETTINGS).await.map_err(sql)?;
    Ok(conn)
}
