//! Backups and restores on real MariaDB and PostgreSQL servers: a consistent snapshot
//! under concurrent writes, schema and data equality after restore, corruption and
//! incomplete-backup detection, and a throughput figure.

#[path = "backup/support.rs"]
mod backup_support;

use std::time::Instant;

use backup_support::{Fixture, Writer, name};
use dbplane_engine::ClusterKind;
use dbplane_engine::backup::{
    BackupError, BackupOptions, BackupStatus, BackupStore, LocalDirStore, backup_branch,
    backup_status, delete_backup, read_manifest, restore_branch,
};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_on_both_engines() {
    let fixture = Fixture::start().await;
    let store_dir = fixture.temp_path().join("backups");
    let store = LocalDirStore::open(&store_dir).await.expect("open store");
    store
        .remove_partial_objects()
        .await
        .expect("clean partials");

    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        consistent_backup_and_restore(&fixture, &store, kind).await;
    }
    aborted_writes_leave_nothing(&store).await;
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        throughput(&fixture, &store, kind).await;
    }
    fixture.shutdown().await;
}

async fn consistent_backup_and_restore(
    fixture: &Fixture,
    store: &LocalDirStore,
    kind: ClusterKind,
) {
    let admin = fixture.admin(kind);
    let source = name(&format!("dbp_src_{}", kind.as_str()));
    admin.create_database(&source).await.expect("create source");
    let client = fixture.client(kind, source.as_str()).await;
    // The MariaDB dump has its own client: it must log in with a password as drivers do.
    // The account is for TCP only, so the move to the unix socket (`dumper@localhost`)
    // fails and the sessions stay on TCP (the superuser's backups elsewhere take the
    // socket).
    let url = match kind {
        ClusterKind::Mysql => {
            client
                .batch(
                    "CREATE USER dumper@'127.0.0.1' IDENTIFIED BY 'dump pw'; \
                     GRANT ALL ON *.* TO dumper@'127.0.0.1'",
                )
                .await;
            let (host, port) = fixture.address(kind);
            format!("mysql://dumper:dump%20pw@{host}:{port}/")
        }
        ClusterKind::Postgresql => fixture.admin_url(kind),
    };
    client.batch(&backup_support::schema_sql(kind)).await;
    client.batch(&backup_support::static_rows_sql(kind)).await;
    // Some bulk so the backup takes long enough for writes to overlap it.
    client.batch(&backup_support::bulk_sql(kind, 40_000)).await;
    // The MariaDB dump sizes its key ranges by the table's statistics, which InnoDB
    // updates in the background a while after a bulk insert.
    if kind == ClusterKind::Mysql {
        client.batch("ANALYZE TABLE bulk").await;
    }

    let writer = Writer::start(fixture.client(kind, source.as_str()).await);
    writer.wait_for_ops(50).await;
    let before = writer.ops();
    let backup_id = format!("bk-{}", kind.as_str());
    // Tiny parts and three sessions: the snapshot shared by several sessions and the
    // key-range split are what this checks (the bulk table has an integer key).
    let options = BackupOptions {
        part_bytes: 64 << 10,
        sessions: 3,
    };
    let scratch = fixture.temp_path().join("scratch");
    let manifest = backup_branch(admin, &url, &source, store, &backup_id, &scratch, &options)
        .await
        .expect("backup");
    let after = writer.ops();
    writer.wait_for_ops(after + 20).await;
    let total = writer.stop().await;

    assert_eq!(
        read_manifest(store, &backup_id).await.expect("manifest"),
        manifest
    );
    assert_eq!(manifest.engine, kind.as_str());
    assert!(!manifest.snapshot_position.is_empty());
    assert!(manifest.schema_snapshot().contains("items"));
    for object in &manifest.objects {
        assert_eq!(object.sha256.len(), 64);
    }
    if kind == ClusterKind::Mysql {
        let bulk = manifest.tables.iter().find(|t| t.name == "bulk").unwrap();
        assert!(bulk.parts.len() > 1, "bulk is not split: {bulk:?}");
    }

    let target = name(&format!("dbp_dst_{}", kind.as_str()));
    admin.create_database(&target).await.expect("create target");
    let started = Instant::now();
    restore_branch(admin, &url, &manifest, store, &target, &scratch)
        .await
        .expect("restore");
    // Restarting a restore (as after a crash) gives the same result.
    restore_branch(admin, &url, &manifest, store, &target, &scratch)
        .await
        .expect("restore again");
    eprintln!("{kind}: two restores took {:?}", started.elapsed());
    assert_scratch_empty(&scratch);

    // Schema: equal to the source's.
    assert_eq!(
        admin.schema(&target).await.expect("target schema"),
        admin.schema(&source).await.expect("source schema"),
        "{kind}: restored schema differs"
    );
    // Static tables: every value equal.
    let restored = fixture.client(kind, target.as_str()).await;
    for table in ["parents", "kinds", "bulk"] {
        assert_eq!(
            restored.table_rows(table).await,
            client.table_rows(table).await,
            "{kind}: table {table} differs"
        );
    }
    // Concurrently written tables: exactly the state after op N for some N between the
    // ops counted before and after the backup (a consistent snapshot across tables).
    let snapshot_ops = restored.max_item_id().await;
    assert!(
        snapshot_ops >= before && snapshot_ops <= after,
        "{kind}: snapshot at op {snapshot_ops}, outside {before}..={after}"
    );
    assert!(
        total > snapshot_ops,
        "{kind}: writes went on after the snapshot"
    );
    assert_eq!(
        restored.table_rows("items").await,
        backup_support::expected_items(kind, snapshot_ops),
        "{kind}: items differ from the snapshot"
    );
    assert_eq!(
        restored.table_rows("counters").await,
        backup_support::expected_counters(kind, snapshot_ops),
        "{kind}: counters differ from the snapshot"
    );
    let items_rows = manifest
        .tables
        .iter()
        .find(|table| table.name == "items")
        .expect("items in manifest")
        .rows;
    assert_eq!(items_rows, snapshot_ops);
    eprintln!(
        "{kind}: snapshot at op {snapshot_ops} (ops {before} before, {after} after the backup, \
         {} during it)",
        after - before
    );
    // The view works in the restored database.
    restored.table_rows("item_totals").await;

    // A flipped byte: restore refuses with a checksum error, before touching the target.
    let object = &manifest.objects[0];
    let path = store.root().join(&object.key);
    let mut bytes = std::fs::read(&path).expect("read object");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).expect("corrupt object");
    let error = restore_branch(admin, &url, &manifest, store, &target, &scratch)
        .await
        .expect_err("corrupted backup restored");
    assert!(
        matches!(&error, BackupError::Checksum { key, .. } if *key == object.key),
        "{kind}: unexpected error {error}"
    );
    assert!(error.to_string().contains("checksum mismatch"), "{error}");
    assert_scratch_empty(&scratch);
    assert_eq!(
        restored.max_item_id().await,
        snapshot_ops,
        "target untouched"
    );

    // No manifest: the backup is incomplete, and deleting it removes everything.
    store
        .delete(&format!("{backup_id}/manifest.json"))
        .await
        .expect("delete manifest");
    assert!(matches!(
        backup_status(store, &backup_id).await.expect("status"),
        BackupStatus::Incomplete { objects } if !objects.is_empty()
    ));
    assert!(matches!(
        read_manifest(store, &backup_id).await,
        Err(BackupError::Incomplete { .. })
    ));
    delete_backup(store, &backup_id)
        .await
        .expect("delete backup");
    assert_eq!(
        backup_status(store, &backup_id).await.expect("status"),
        BackupStatus::Missing
    );
    drop(restored);
    drop(client);
    admin.drop_database(&target).await.expect("drop target");
    admin.drop_database(&source).await.expect("drop source");
}

/// Backups and restores leave no temporary files behind.
fn assert_scratch_empty(scratch: &std::path::Path) {
    let left: Vec<_> = match std::fs::read_dir(scratch) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).collect(),
        Err(_) => Vec::new(),
    };
    assert!(left.is_empty(), "scratch files left: {left:?}");
}

async fn aborted_writes_leave_nothing(store: &LocalDirStore) {
    let mut writer = store
        .put("bk-aborted/data/0001.sql.zst")
        .await
        .expect("put");
    writer.write_all(b"partial").await.expect("write");
    drop(writer);
    assert!(store.list("bk-aborted/").await.expect("list").is_empty());
    assert_eq!(
        backup_status(store, "bk-aborted").await.expect("status"),
        BackupStatus::Missing
    );
    assert!(matches!(
        store.get("bk-aborted/data/0001.sql.zst").await,
        Err(BackupError::ObjectMissing { .. })
    ));
}

async fn throughput(fixture: &Fixture, store: &LocalDirStore, kind: ClusterKind) {
    let rows: u64 = std::env::var("BACKUP_BENCH_ROWS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300_000);
    let admin = fixture.admin(kind);
    let url = fixture.admin_url(kind);
    let source = name(&format!("dbp_bench_{}", kind.as_str()));
    admin.create_database(&source).await.expect("create");
    let client = fixture.client(kind, source.as_str()).await;
    client.batch(&backup_support::bulk_sql(kind, rows)).await;
    let table_bytes = client.table_bytes("bulk").await;
    let backup_id = format!("bench-{}", kind.as_str());
    let started = Instant::now();
    let scratch = fixture.temp_path().join("scratch");
    let options = BackupOptions::default();
    let manifest = backup_branch(admin, &url, &source, store, &backup_id, &scratch, &options)
        .await
        .expect("backup");
    let backup_time = started.elapsed();
    let target = name(&format!("dbp_bench_{}_r", kind.as_str()));
    admin.create_database(&target).await.expect("create target");
    let started = Instant::now();
    restore_branch(admin, &url, &manifest, store, &target, &scratch)
        .await
        .expect("restore");
    let restore_time = started.elapsed();
    let restored = fixture.client(kind, target.as_str()).await;
    assert_eq!(restored.count("bulk").await, rows);
    let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
    eprintln!(
        "THROUGHPUT {kind}: {rows} rows, table {:.1} MB on disk, dump {:.1} MB raw -> {:.1} MB \
         zstd; backup {:.2} s ({:.1} MB/s of table), restore {:.2} s ({:.1} MB/s of table); \
         load average {}",
        mb(table_bytes),
        mb(manifest.uncompressed_size),
        mb(manifest.size),
        backup_time.as_secs_f64(),
        mb(table_bytes) / backup_time.as_secs_f64(),
        restore_time.as_secs_f64(),
        mb(table_bytes) / restore_time.as_secs_f64(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim(),
    );
    if kind == ClusterKind::Mysql {
        // The alternative considered: mariadb-dump's own single-transaction dump.
        let (host, port) = fixture.address(kind);
        let started = Instant::now();
        let status = tokio::process::Command::new("mariadb-dump")
            .args([
                "--no-defaults",
                "--single-transaction",
                "--skip-lock-tables",
            ])
            .arg(format!("--host={host}"))
            .arg(format!("--port={port}"))
            .args(["--user=root", source.as_str()])
            .stdout(std::process::Stdio::null())
            .status()
            .await;
        if let Ok(status) = status {
            eprintln!(
                "COMPARE mariadb-dump --single-transaction to /dev/null (no compression): {:.2} s \
                 ({status})",
                started.elapsed().as_secs_f64()
            );
        }
    }
    drop(restored);
    drop(client);
    delete_backup(store, &backup_id).await.expect("delete");
    admin.drop_database(&target).await.expect("drop");
    admin.drop_database(&source).await.expect("drop");
}
