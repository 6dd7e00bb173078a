//! Sessions that share one consistent snapshot.
//!
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT` gives a session a snapshot that matches a
//! binlog position (`binlog_snapshot_file/position`). To give several sessions the same
//! one, a control session holds `BACKUP STAGE BLOCK_COMMIT` for the few milliseconds the
//! sessions take to start their transactions, then `BACKUP STAGE END`: commits wait that
//! long, running statements go on, and nothing is written. (mydumper gets the same with
//! `FLUSH TABLES WITH READ LOCK`, which blocks every write.) The positions are compared
//! anyway: sessions that differ fail the backup (its job retries) instead of storing an
//! inconsistent one. Where `BACKUP STAGE` is refused (no RELOAD privilege, or another
//! backup stage held past [`LOCK_WAIT_SECONDS`]), one session dumps alone.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::wire::WireSession;
use super::{BackupError, SESSION_SETTINGS, connect, sql};

/// How long the control session waits for the backup lock (another backup of the same
/// server holds it for milliseconds; running DDL for longer).
const LOCK_WAIT_SECONDS: u32 = 10;

/// Sessions in one snapshot, and its binlog position (`file:position`).
pub(super) struct Snapshot {
    pub(super) sessions: Vec<WireSession>,
    pub(super) position: String,
}

/// Opens `count` sessions (at least one) that see the same snapshot; fewer when the
/// server refuses the lock that takes.
pub(super) async fn open(admin_url: &str, count: usize) -> Result<Snapshot, BackupError> {
    let mut sessions = Vec::new();
    for _ in 0..count.max(1) {
        let mut session = WireSession::connect(admin_url).await.map_err(sql)?;
        session.query_drop(SESSION_SETTINGS).await.map_err(sql)?;
        session
            .query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(sql)?;
        sessions.push(session);
    }
    if sessions.len() > 1 {
        let mut control = connect(admin_url, None).await?;
        match block_commits(&mut control).await {
            Ok(()) => {
                let blocked = std::time::Instant::now();
                // Round trips only while commits wait: the sessions are connected.
                let started = start_all(&mut sessions).await;
                let ended = control.query_drop("BACKUP STAGE END").await;
                tracing::debug!(
                    sessions = sessions.len(),
                    blocked_ms = blocked.elapsed().as_secs_f64() * 1000.0,
                    "backup sessions share a snapshot"
                );
                let _ = control.disconnect().await;
                let positions = started?;
                ended.map_err(sql)?;
                if positions.windows(2).any(|pair| pair[0] != pair[1]) {
                    return Err(BackupError::Snapshot(format!(
                        "sessions started at different binlog positions {positions:?} \
                         while commits were blocked"
                    )));
                }
                let position = positions.into_iter().next().unwrap_or_default();
                return Ok(Snapshot { sessions, position });
            }
            Err(error) => {
                tracing::warn!(%error, "BACKUP STAGE refused: dumping on one session");
                // Disconnecting ends whatever stage the control session reached.
                drop(control);
                for session in sessions.drain(1..) {
                    session.quit().await;
                }
            }
        }
    }
    let position = start(&mut sessions[0]).await?;
    Ok(Snapshot { sessions, position })
}

async fn block_commits(control: &mut Conn) -> Result<(), BackupError> {
    control
        .query_drop(format!(
            "SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}"
        ))
        .await
        .map_err(sql)?;
    control
        .query_drop("BACKUP STAGE START")
        .await
        .map_err(sql)?;
    control
        .query_drop("BACKUP STAGE BLOCK_COMMIT")
        .await
        .map_err(sql)
}

async fn start_all(sessions: &mut [WireSession]) -> Result<Vec<String>, BackupError> {
    let mut positions = Vec::new();
    for session in sessions {
        positions.push(start(session).await?);
    }
    Ok(positions)
}

/// Starts the session's snapshot transaction and returns its binlog position.
async fn start(session: &mut WireSession) -> Result<String, BackupError> {
    session
        .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .await
        .map_err(sql)?;
    let status = session
        .query_rows("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(sql)?;
    let text = |field: Option<&Option<Vec<u8>>>| {
        String::from_utf8_lossy(field.and_then(Option::as_deref).unwrap_or_default()).into_owned()
    };
    let value = |name: &str| {
        status
            .iter()
            .find(|row| text(row.first()).eq_ignore_ascii_case(name))
            .map(|row| text(row.get(1)))
            .unwrap_or_default()
    };
    Ok(format!(
        "{}:{}",
        value("binlog_snapshot_file"),
        value("binlog_snapshot_position")
    ))
}
