//! The steady write load: N writers, each on its own connection, alternating an INSERT of a
//! new row and an UPDATE of an existing one by primary key, paced to a total rate. A writer
//! that stalls skips the ticks it missed (a real client's requests do not wait for it), so
//! a stall shows up as lost throughput as well as latency.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use mysql_async::prelude::Queryable;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::table::{C_EXPR, UPDATED_EXPR};

/// One statement: when it started (since the load started), how long it took, whether it
/// succeeded.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Duration,
    pub latency: Duration,
    pub ok: bool,
}

struct Writer {
    index: u64,
    writers: u64,
    seeded: u64,
    model: HashMap<i64, i32>,
    samples: Vec<Sample>,
    next_insert: i64,
    random: u64,
}

impl Writer {
    fn next_random(&mut self) -> u64 {
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random
    }

    async fn run(
        mut self,
        mut conn: mysql_async::Conn,
        table: String,
        interval: Duration,
        started: Instant,
        stop: Arc<AtomicBool>,
    ) -> Result<Writer> {
        let insert = format!(
            "INSERT INTO `{table}` (id, k, v, c, updated_at) VALUES (?, (? * 7919) % 1000003, 0, \
             RPAD(CONCAT(?, ':0:'), 176, SHA1(?)), \
             TIMESTAMPADD(MICROSECOND, ? * 1000, '2026-01-01 00:00:00.000000'))"
        );
        // `v` is the first assignment: the later ones read the new version.
        let update = format!(
            "UPDATE `{table}` SET v = ?, c = {C_EXPR}, updated_at = {UPDATED_EXPR} WHERE id = ?"
        );
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut do_insert = self.index.is_multiple_of(2);
        while !stop.load(Ordering::Relaxed) {
            ticker.tick().await;
            let at = started.elapsed();
            let begin = Instant::now();
            let (result, change) = if do_insert {
                let id = self.next_insert;
                self.next_insert += self.writers as i64;
                let result = conn.exec_drop(&insert, (id, id, id, id, id)).await;
                (result, (id, 0))
            } else {
                // An existing row of this writer's own residue class.
                let slots = self.seeded / self.writers;
                let id = (1 + (self.next_random() % slots) * self.writers + self.index) as i64;
                let v = self.model.get(&id).copied().unwrap_or(0) + 1;
                let result = conn.exec_drop(&update, (v, id)).await;
                (result, (id, v))
            };
            let latency = begin.elapsed();
            let ok = result.is_ok();
            if ok {
                self.model.insert(change.0, change.1);
            }
            self.samples.push(Sample { at, latency, ok });
            do_insert = !do_insert;
        }
        conn.disconnect().await?;
        Ok(self)
    }
}

/// The running load.
pub struct Load {
    started: Instant,
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<Result<Writer>>>,
}

/// What the writers did.
pub struct LoadResult {
    pub samples: Vec<Sample>,
    /// id → last committed version, for every row a writer touched.
    pub model: HashMap<i64, i32>,
}

impl Load {
    /// `writers` writers on `db.table`, `rate` statements a second in total.
    pub async fn start(
        admin_url: &str,
        db: &str,
        table: &str,
        writers: u64,
        rate: u64,
        seeded: u64,
    ) -> Result<Load> {
        let opts = mysql_async::Opts::from_url(&format!("{admin_url}{db}"))?;
        let interval = Duration::from_secs_f64(writers as f64 / rate as f64);
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for index in 0..writers {
            let conn = mysql_async::Conn::new(opts.clone()).await?;
            let writer = Writer {
                index,
                writers,
                seeded,
                model: HashMap::new(),
                samples: Vec::new(),
                // Ids above the seeded ones, in this writer's residue class.
                next_insert: (seeded + 1 + index) as i64,
                random: 0x9E37_79B9_7F4A_7C15 ^ ((index + 1) << 32),
            };
            handles.push(tokio::spawn(writer.run(
                conn,
                table.to_string(),
                interval,
                started,
                stop.clone(),
            )));
        }
        Ok(Load {
            started,
            stop,
            handles,
        })
    }

    /// Time since the load started (the samples' clock).
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    pub async fn stop(self) -> Result<LoadResult> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Vec::new();
        let mut model = HashMap::new();
        for handle in self.handles {
            let writer = handle.await??;
            samples.extend(writer.samples);
            model.extend(writer.model);
        }
        samples.sort_by_key(|s| s.at);
        Ok(LoadResult { samples, model })
    }
}

/// The writers' figures over a window of the load's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct WindowStats {
    /// Successful statements a second.
    pub throughput: f64,
    pub p99: Duration,
    pub max: Duration,
    /// When the slowest statement started, from the window's start.
    pub max_at: Duration,
    pub errors: u64,
}

pub fn window(samples: &[Sample], from: Duration, to: Duration) -> WindowStats {
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= from && s.at < to)
        .collect();
    let seconds = (to - from).as_secs_f64().max(1e-9);
    let mut latencies: Vec<Duration> = inside.iter().map(|s| s.latency).collect();
    latencies.sort();
    let percentile = |p: f64| {
        if latencies.is_empty() {
            Duration::ZERO
        } else {
            let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            latencies[rank - 1]
        }
    };
    WindowStats {
        throughput: inside.iter().filter(|s| s.ok).count() as f64 / seconds,
        p99: percentile(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        max_at: inside
            .iter()
            .max_by_key(|s| s.latency)
            .map_or(Duration::ZERO, |s| s.at - from),
        errors: inside.iter().filter(|s| !s.ok).count() as u64,
    }
}
