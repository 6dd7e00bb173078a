//! Backups written by earlier versions still restore: a format 2 MariaDB backup (framed
//! `INSERT` statements) and a format 2 PostgreSQL backup (one whole `pg_dump -Fc` archive
//! split into objects), built here the way those versions wrote them.

// Shared with `backup.rs`, which uses the rest of it.
#[allow(dead_code)]
#[path = "backup/support.rs"]
mod backup_support;

use backup_support::{Fixture, name};
use dbplane_engine::ClusterKind;
use dbplane_engine::backup::{
    BackupManifest, BackupStore, LocalDirStore, ManifestObject, ManifestPart, ManifestSchemaObject,
    ManifestTable, restore_branch,
};
use dbplane_engine::physical::PhysicalName;
use sha2::{Digest, Sha256};

const MYSQL_TABLE: &str = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NULL, \
                           b VARBINARY(8) NULL, KEY by_v (v))";
const POSTGRES_TABLE: &str = "CREATE TABLE t (id int PRIMARY KEY, v text, b bytea); \
                              CREATE INDEX by_v ON t (v); \
                              INSERT INTO t VALUES (1, 'a''b\\c', '\\x00ff'), (2, NULL, NULL)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_2_backups_restore() {
    let fixture = Fixture::start().await;
    let store = LocalDirStore::open(fixture.temp_path().join("backups"))
        .await
        .expect("open store");
    let scratch = fixture.temp_path().join("scratch");
    mysql_insert_frames(&fixture, &store, &scratch).await;
    postgres_whole_archive(&fixture, &store, &scratch).await;
    fixture.shutdown().await;
}

async fn mysql_insert_frames(fixture: &Fixture, store: &LocalDirStore, scratch: &std::path::Path) {
    let kind = ClusterKind::Mysql;
    let admin = fixture.admin(kind);
    let source = name("dbp_old_src_mysql");
    admin.create_database(&source).await.expect("create source");
    let client = fixture.client(kind, source.as_str()).await;
    client.batch(MYSQL_TABLE).await;
    let statements = [
        (
            "INSERT INTO `t` (`id`,`v`,`b`) VALUES (1,'a\\'b\\\\c',0x00ff),(2,NULL,NULL)",
            2,
        ),
        ("INSERT INTO `t` (`id`,`v`,`b`) VALUES (3,'ü\\n',0x09)", 1),
    ];
    let mut frames = Vec::new();
    for (statement, rows) in statements {
        frames.extend_from_slice(&(statement.len() as u32).to_le_bytes());
        frames.extend_from_slice(&(rows as u32).to_le_bytes());
        frames.extend_from_slice(statement.as_bytes());
        client.batch(statement).await;
    }
    let object = put_object(store, "old-mysql/data/0001-0001.sql.zst", &frames).await;
    let tables = vec![ManifestTable {
        name: "t".to_string(),
        rows: 3,
        object: None,
        parts: vec![ManifestPart {
            object: object.key.clone(),
            rows: 3,
        }],
        columns: Vec::new(),
        indexes: Vec::new(),
    }];
    let old = OldBackup {
        backup_id: "old-mysql",
        kind,
        source: &source,
        tables,
        objects: vec![object],
    };
    restore_and_compare(fixture, store, scratch, old, "dbp_old_dst_mysql").await;
}

async fn postgres_whole_archive(
    fixture: &Fixture,
    store: &LocalDirStore,
    scratch: &std::path::Path,
) {
    let kind = ClusterKind::Postgresql;
    let admin = fixture.admin(kind);
    let source = name("dbp_old_src_pg");
    admin.create_database(&source).await.expect("create source");
    let client = fixture.client(kind, source.as_str()).await;
    client.batch(POSTGRES_TABLE).await;
    let (host, port) = fixture.address(kind);
    let archive = std::process::Command::new(pg_dump())
        .args([
            "--format=custom",
            "--compress=0",
            "--no-owner",
            "--no-privileges",
        ])
        .args([
            "--host",
            &host,
            "--port",
            &port.to_string(),
            "--username=postgres",
        ])
        .arg(format!("--dbname={source}"))
        .output()
        .expect("run pg_dump");
    assert!(archive.status.success(), "{archive:?}");
    // Format 2 split the archive into byte ranges, concatenated in manifest order.
    let middle = archive.stdout.len() / 2;
    let objects = vec![
        put_object(
            store,
            "old-pg/database.pgdump.01.zst",
            &archive.stdout[..middle],
        )
        .await,
        put_object(
            store,
            "old-pg/database.pgdump.02.zst",
            &archive.stdout[middle..],
        )
        .await,
    ];
    let table = |name: &str, rows| ManifestTable {
        name: name.to_string(),
        rows,
        object: None,
        parts: Vec::new(),
        columns: Vec::new(),
        indexes: Vec::new(),
    };
    let old = OldBackup {
        backup_id: "old-pg",
        kind,
        source: &source,
        tables: vec![table("t", 2)],
        objects,
    };
    restore_and_compare(fixture, store, scratch, old, "dbp_old_dst_pg").await;
}

/// A format 2 backup of `source`, its objects already stored.
struct OldBackup<'a> {
    backup_id: &'a str,
    kind: ClusterKind,
    source: &'a PhysicalName,
    tables: Vec<ManifestTable>,
    objects: Vec<ManifestObject>,
}

/// Restores `old` into a new database `target` and compares it with its source: the rows
/// of `t` and the schema.
async fn restore_and_compare(
    fixture: &Fixture,
    store: &LocalDirStore,
    scratch: &std::path::Path,
    old: OldBackup<'_>,
    target: &str,
) {
    let (kind, source) = (old.kind, old.source);
    let admin = fixture.admin(kind);
    let schema = admin.schema(source).await.expect("schema");
    let manifest = &manifest(
        old.backup_id,
        kind,
        source,
        schema.iter().map(ManifestSchemaObject::from).collect(),
        old.tables,
        old.objects,
    );
    let target = name(target);
    admin.create_database(&target).await.expect("create target");
    restore_branch(
        admin,
        &fixture.admin_url(kind),
        manifest,
        store,
        &target,
        scratch,
    )
    .await
    .unwrap_or_else(|error| panic!("restore a format 2 {kind} backup: {error}"));
    let restored = fixture.client(kind, target.as_str()).await;
    let original = fixture.client(kind, source.as_str()).await;
    assert_eq!(
        restored.table_rows("t").await,
        original.table_rows("t").await
    );
    assert_eq!(
        admin.schema(&target).await.expect("target schema"),
        admin.schema(source).await.expect("source schema")
    );
}

/// `pg_dump` of the newest installed PostgreSQL (the managed clusters' own).
fn pg_dump() -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|entry| Some(entry.ok()?.path().join("bin/pg_dump")))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found.pop().expect("a pg_dump")
}

/// Stores `bytes` zstd-compressed under `key`, as a backup object.
async fn put_object(store: &LocalDirStore, key: &str, bytes: &[u8]) -> ManifestObject {
    let compressed = zstd::encode_all(bytes, 1).expect("compress");
    store.put_bytes(key, &compressed).await.expect("store");
    ManifestObject {
        key: key.to_string(),
        sha256: hex::encode(Sha256::digest(&compressed)),
        size: compressed.len() as u64,
        uncompressed_size: bytes.len() as u64,
    }
}

fn manifest(
    backup_id: &str,
    kind: ClusterKind,
    source: &PhysicalName,
    schema: Vec<ManifestSchemaObject>,
    tables: Vec<ManifestTable>,
    objects: Vec<ManifestObject>,
) -> BackupManifest {
    BackupManifest {
        format: 2,
        backup_id: backup_id.to_string(),
        engine: kind.as_str().to_string(),
        server_version: String::new(),
        database: source.as_str().to_string(),
        snapshot_position: String::new(),
        schema,
        tables,
        size: objects.iter().map(|object| object.size).sum(),
        uncompressed_size: objects.iter().map(|object| object.uncompressed_size).sum(),
        objects,
        started_at: String::new(),
        completed_at: String::new(),
    }
}
