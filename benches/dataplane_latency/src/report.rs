//! The Markdown summary of a benchmark run.

use super::*;

pub(crate) fn report(
    options: &Options,
    cases: &[Case],
    cold: &[Cold],
    jobs: &[JobTimeline],
    startup: Duration,
    load_start: &str,
) -> bool {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Data plane latency: unix time {now}, {cpus} CPUs ({}), {} runs per case, \
         poll every {} ms, clusters {}",
        cpu_model(),
        options.runs,
        api::POLL_INTERVAL.as_millis(),
        if options.no_fsync {
            "with experimental_unsafe_no_fsync"
        } else {
            "durable (default config)"
        }
    );
    println!(
        "load average at start: {load_start}; server start {startup:.1?} (initialises both clusters)"
    );
    println!();
    println!(
        "| case | n | median | p90 | max | min | median < 1 s | max < 1 s | load 1/5/15 before → after | CPU busy (machine / others) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |");
    let mut all_met = true;
    for case in cases {
        let durations: Vec<Duration> = case.samples.iter().map(|s| s.elapsed).collect();
        let s = stats(&durations);
        let met = s.median < TARGET;
        all_met &= met;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {:.0}% / {:.0}% |",
            case.name,
            durations.len(),
            ms(s.median),
            ms(s.p90),
            ms(s.max),
            ms(s.min),
            if met { "PASS" } else { "MISS" },
            if s.max < TARGET { "yes" } else { "no" },
            case.load_before,
            case.load_after,
            case.busy,
            case.others,
        );
    }
    println!();
    println!("Where the time goes (medians over the runs; from the server's job log):");
    println!();
    println!(
        "| case | POST | POST → job's 1st step | create_database | copy_schema | finish | job done → GET saw ready | fingerprint / template rebuilds / copy | retries |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
    for case in cases {
        let mut post = Vec::new();
        let mut queue = Vec::new();
        let mut steps: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
        let mut after = Vec::new();
        let mut fingerprint = Vec::new();
        let mut rebuilds = Vec::new();
        let mut copy = Vec::new();
        let mut retries = 0;
        let mut matched = 0;
        for sample in &case.samples {
            post.push(sample.post);
            let Some(job) = job_of(jobs, case.job_kind, sample) else {
                continue;
            };
            matched += 1;
            if let Some(first) = job.started() {
                queue.push(signed_ms(first, sample.posted_at));
            }
            for (step, duration) in job.step_durations() {
                steps.entry(step).or_default().push(duration);
            }
            if let Some(done) = job.finished {
                after.push(since(sample.ready_at, done));
            }
            if let Some(pg) = job.pg_copy {
                fingerprint.push(pg.fingerprint);
                rebuilds.extend(pg.rebuild);
                copy.push(pg.copy);
            }
            retries += job.warnings.len();
        }
        let step = |name: &str| {
            steps
                .get(name)
                .map_or("–".to_string(), |durations| ms(stats(durations).median))
        };
        let pg = if fingerprint.is_empty() {
            "–".to_string()
        } else {
            let rebuilt = match rebuilds.as_slice() {
                [] => "none".to_string(),
                times => format!(
                    "{}× ({})",
                    times.len(),
                    times.iter().map(|t| ms(*t)).collect::<Vec<_>>().join(", ")
                ),
            };
            format!(
                "{} / {rebuilt} / {}",
                ms(stats(&fingerprint).median),
                ms(stats(&copy).median)
            )
        };
        println!(
            "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.name,
            if matched == case.samples.len() {
                String::new()
            } else {
                format!(" ({matched}/{} matched)", case.samples.len())
            },
            ms(stats(&post).median),
            median_ms(&queue),
            step("create_database"),
            step("copy_schema"),
            step("finish"),
            ms(stats(&after).median),
            pg,
            retries,
        );
    }
    println!();
    println!(
        "Not in the tables above (the parents: each engine's first databases and their schema; \
         the deletes between branch runs):"
    );
    println!();
    for c in cold {
        println!(
            "- {}: ready in {}, schema created in {}",
            c.name,
            ms(c.elapsed),
            ms(c.schema)
        );
    }
    for case in cases.iter().filter(|case| !case.deletes.is_empty()) {
        let s = stats(&case.deletes);
        println!(
            "- {}: branch delete (DELETE to its job finished) median {}, max {}",
            case.name,
            ms(s.median),
            ms(s.max)
        );
    }
    println!();
    for case in cases {
        let samples: Vec<String> = case.samples.iter().map(|s| ms(s.elapsed)).collect();
        println!("raw, {}: {}", case.name, samples.join(", "));
    }
    println!();
    if all_met {
        println!("targets met: every case's median is under 1 s");
    } else {
        for case in cases {
            let durations: Vec<Duration> = case.samples.iter().map(|s| s.elapsed).collect();
            let s = stats(&durations);
            if s.median >= TARGET {
                println!(
                    "MISSED: {}: median {} (target < 1 s)",
                    case.name,
                    ms(s.median)
                );
            }
        }
    }
    all_met
}
