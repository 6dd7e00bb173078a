//! DDL on users' tables with a bounded wait for the table's metadata lock.
//!
//! A DDL statement (even an instant `ALTER`, a `RENAME`, a `DROP`) needs an exclusive
//! metadata lock on its table. While it waits for one — behind a long transaction that
//! read the table — every later reader and writer of the table queues behind *it*: one
//! forgotten `BEGIN` in a console turns a deploy step into an outage. So the platform never
//! lets a DDL statement wait long: the first attempts do not wait at all
//! (`lock_wait_timeout = 0`, nobody queues), later ones wait [`LONGEST_WAIT`] (enough to get
//! between the short transactions of a busy table), with a growing pause in between, for at
//! most the caller's budget. Then the lock-wait error is returned; it is transient, so the
//! deploy job runs the step again later. The online schema change's cutover has its own,
//! stricter protocol (`online_ddl/swap.rs`).

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

/// MariaDB's `ER_LOCK_WAIT_TIMEOUT`.
const LOCK_WAIT_TIMEOUT: u16 = 1205;
/// Attempts that do not wait at all before the first that does.
const NO_WAIT_ATTEMPTS: u32 = 3;
/// The longest an attempt waits for the lock (and so stalls the table's other sessions).
pub const LONGEST_WAIT: Duration = Duration::from_secs(1);
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);
/// How long one call keeps trying by default.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// Runs `statement` with a bounded metadata-lock wait, retrying a lock-wait timeout with
/// backoff for up to `budget`. Other errors return at once.
pub async fn bounded_ddl(
    conn: &mut Conn,
    statement: &str,
    budget: Duration,
) -> Result<(), mysql_async::Error> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    for attempt in 0.. {
        let wait = if attempt < NO_WAIT_ATTEMPTS {
            0
        } else {
            LONGEST_WAIT.as_secs()
        };
        let result = conn
            .query_drop(format!(
                "SET STATEMENT lock_wait_timeout = {wait} FOR {statement}"
            ))
            .await;
        match result {
            Err(mysql_async::Error::Server(error))
                if error.code == LOCK_WAIT_TIMEOUT && started.elapsed() + pause < budget =>
            {
                tracing::debug!(attempt, %error, "DDL waits for a metadata lock; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            other => return other,
        }
    }
    unreachable!("the loop returns")
}
