//! Schema copy on PostgreSQL through a schema-only template database per parent.
//!
//! Replaying a `pg_dump` into every new branch is slow: each index build and each new
//! relation file is synced (a 200-table parent took 1.2 s of which 1.06 s was the replay).
//! `CREATE DATABASE ... TEMPLATE` instead copies a database's files in one pass (WAL_LOG on
//! PostgreSQL 15+). The parent cannot be that template (it holds rows and live sessions),
//! so each parent gets `<parent>_tmpl`: an empty copy of its schema, built by replaying the
//! dump once. Its comment records a fingerprint of the parent's catalogs (see
//! [`catalog_fingerprint`]); while the parent's fingerprint is the same the template is
//! reused, otherwise it is rebuilt. So the first branch after a schema change pays the
//! dump and its replay, and later ones do not.
//!
//! Objects in the template belong to the NOLOGIN role `<parent>_tmpl_owner`, never to the
//! template's owner (the admin): after the copy, `REASSIGN OWNED` + `DROP OWNED` in the new
//! database hand them to the branch's owner role without touching any shared object.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::dump::{run_pg_dump, strip_meta_commands};
use super::{
    PostgresAdmin, close_to_public, database_exists, ensure_owner_role, missing_database, sql,
};
use crate::error::EngineResult;
use crate::physical::PhysicalName;
use dbplane_schema::quote::{postgres_ident, postgres_string};

/// Appended to a parent's database name to name its template.
const TEMPLATE_SUFFIX: &str = "_tmpl";

/// The template database of parent `db`: `<db>_tmpl`.
pub(super) fn template_of(db: &PhysicalName) -> EngineResult<PhysicalName> {
    PhysicalName::new(format!("{db}{TEMPLATE_SUFFIX}"))
}

/// Copies the schema of `from` into `to`, creating `to` (owned by `<to>_owner`) from the
/// template of `from`.
///
/// Crash-safe and repeatable: the last statement of the copy sets `to`'s comment to
/// `dbplane: schema copied from <from>` in the same transaction as the ownership change.
/// A `to` without that mark holds nothing yet (no credential exists before the branch is
/// ready), so it is dropped and made again.
pub(super) async fn copy_schema(
    admin: &PostgresAdmin,
    from: &PhysicalName,
    to: &PhysicalName,
) -> EngineResult<()> {
    let client = admin.maintenance().await?;
    if !database_exists(&client, from).await? {
        return Err(missing_database(from));
    }
    let marker = format!("dbplane: schema copied from {from}");
    if database_comment(&client, to).await?.as_deref() == Some(marker.as_str()) {
        return Ok(());
    }
    let owner = to.owner()?;
    ensure_owner_role(&client, &owner).await?;

    // One template build or copy at a time: a rebuild drops the template, which would
    // fail a copy running from it.
    let _serialized = admin.template_lock.lock().await;
    let (template, timing) = ensure_template(admin, &client, from).await?;
    let started = Instant::now();
    let target = postgres_ident(to.as_str());
    // Each its own statement: neither may run inside a (multi-statement) transaction.
    for statement in [
        format!("DROP DATABASE IF EXISTS {target} WITH (FORCE)"),
        format!(
            "CREATE DATABASE {target} OWNER {} TEMPLATE {}",
            postgres_ident(owner.as_str()),
            postgres_ident(template.as_str()),
        ),
    ] {
        client.batch_execute(&statement).await.map_err(sql)?;
    }
    let template_owner = template.owner()?;
    let inside = admin.open(to.as_str()).await?;
    close_to_public(admin, &client, &inside, to).await?;
    // On error the transaction is left aborted and dropping the connection rolls it back.
    inside
        .batch_execute(&format!(
            "BEGIN;
             REASSIGN OWNED BY {template_owner} TO {owner_role};
             DROP OWNED BY {template_owner};
             COMMENT ON DATABASE {target} IS {marker};
             COMMIT;",
            marker = postgres_string(&marker),
            template_owner = postgres_ident(template_owner.as_str()),
            owner_role = postgres_ident(owner.as_str()),
        ))
        .await
        .map_err(sql)?;
    tracing::debug!(
        %from, %to, fingerprint = ?timing.fingerprint, rebuild = ?timing.rebuild, copy = ?started.elapsed(),
        "schema copied from template"
    );
    Ok(())
}

/// Where [`ensure_template`] spent its time (logged, read back by the latency benchmark).
struct TemplateTiming {
    fingerprint: Duration,
    /// Set when the template was (re)built.
    rebuild: Option<Duration>,
}

/// Makes `<from>_tmpl` hold exactly the current schema of `from`, rebuilding it when
/// `from`'s catalogs changed, and returns its name.
async fn ensure_template(
    admin: &PostgresAdmin,
    client: &Client,
    from: &PhysicalName,
) -> EngineResult<(PhysicalName, TemplateTiming)> {
    let template = template_of(from)?;
    let started = Instant::now();
    // Taken before the dump: a change made meanwhile is in a later fingerprint, so at
    // worst it costs one more rebuild.
    let fingerprint = catalog_fingerprint(admin, from).await?;
    let mut timing = TemplateTiming {
        fingerprint: started.elapsed(),
        rebuild: None,
    };
    // Built from a validated name and hex digits: no quote to escape.
    let marker = format!("dbplane: template of {from} {fingerprint}");
    if database_comment(client, &template).await?.as_deref() == Some(marker.as_str()) {
        return Ok((template, timing));
    }
    let script = strip_meta_commands(&run_pg_dump(admin, from).await?)?;

    let template_owner = template.owner()?;
    ensure_owner_role(client, &template_owner).await?;
    let name = postgres_ident(template.as_str());
    for statement in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"),
        format!("REVOKE CONNECT, TEMPORARY ON DATABASE {name} FROM PUBLIC"),
    ] {
        client.batch_execute(&statement).await.map_err(sql)?;
    }
    let owner_role = postgres_ident(template_owner.as_str());
    let inside = admin.open(template.as_str()).await?;
    // The marker goes last, in the replay's transaction: a template without it is rebuilt.
    inside
        .batch_execute(&format!(
            "GRANT CREATE ON SCHEMA public TO {owner_role};
             BEGIN;
             SET LOCAL ROLE {owner_role};
             {script}
             RESET ROLE;
             COMMENT ON DATABASE {name} IS {marker};
             COMMIT;",
            marker = postgres_string(&marker),
        ))
        .await
        .map_err(sql)?;
    drop(inside);
    timing.rebuild = Some(started.elapsed() - timing.fingerprint);
    Ok((template, timing))
}

/// Drops the template of `db` and its objects' owner role, if they exist.
pub(super) async fn drop_template_of(client: &Client, db: &PhysicalName) -> EngineResult<()> {
    let template = template_of(db)?;
    for statement in [
        format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            postgres_ident(template.as_str())
        ),
        format!(
            "DROP ROLE IF EXISTS {}",
            postgres_ident(template.owner()?.as_str())
        ),
    ] {
        client.batch_execute(&statement).await.map_err(sql)?;
    }
    Ok(())
}

/// The catalogs of a database that any DDL statement writes to (a new row version has a
/// new `xmin`). Shared catalogs (roles, databases) are left out: they do not belong to
/// the schema `pg_dump` copies.
const SCHEMA_CATALOGS: &[&str] = &[
    "pg_aggregate",
    "pg_am",
    "pg_amop",
    "pg_amproc",
    "pg_attrdef",
    "pg_attribute",
    "pg_cast",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_conversion",
    "pg_default_acl",
    "pg_depend",
    "pg_description",
    "pg_enum",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_foreign_table",
    "pg_index",
    "pg_inherits",
    "pg_init_privs",
    "pg_language",
    "pg_namespace",
    "pg_opclass",
    "pg_operator",
    "pg_opfamily",
    "pg_partitioned_table",
    "pg_policy",
    "pg_proc",
    "pg_publication",
    "pg_publication_rel",
    "pg_range",
    "pg_rewrite",
    "pg_seclabel",
    "pg_sequence",
    "pg_statistic_ext",
    "pg_transform",
    "pg_trigger",
    "pg_ts_config",
    "pg_ts_config_map",
    "pg_ts_dict",
    "pg_ts_parser",
    "pg_ts_template",
    "pg_type",
    "pg_user_mapping",
];

/// A digest of the row versions (`xmin` of every row) of `db`'s schema catalogs: any
/// DDL statement creates, updates or deletes one of those rows, so a changed schema has
/// a changed fingerprint. It costs a few milliseconds, against ~150 ms for a `pg_dump`.
/// VACUUM's and ANALYZE's in-place updates keep `xmin`; anything else that changes it
/// only costs a rebuild.
async fn catalog_fingerprint(admin: &PostgresAdmin, db: &PhysicalName) -> EngineResult<String> {
    let rows = SCHEMA_CATALOGS
        .iter()
        .map(|catalog| {
            format!("SELECT '{catalog}' AS c, xmin::text AS x FROM pg_catalog.{catalog}")
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let client = admin.open(db.as_str()).await?;
    let row = client
        .query_one(
            &format!("SELECT md5(string_agg(c || ':' || x, ',' ORDER BY c, x)) FROM ({rows}) s"),
            &[],
        )
        .await
        .map_err(sql)?;
    Ok(row.get(0))
}

async fn database_comment(client: &Client, db: &PhysicalName) -> EngineResult<Option<String>> {
    let row = client
        .query_opt(
            "SELECT pg_catalog.shobj_description(oid, 'pg_database')
             FROM pg_catalog.pg_database WHERE datname = $1",
            &[&db.as_str()],
        )
        .await
        .map_err(sql)?;
    Ok(row.and_then(|row| row.get(0)))
}
