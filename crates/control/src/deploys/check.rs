//! The deploy checks of semantics.md §8.1: introspect the base and head databases, merge
//! the head's changes onto the base (three-way, against the base as it was when the head
//! branched from it), diff, lint, and decide `ready | no_changes | error`.

use dbplane_domain::data_plane::{Branch, Database};
use dbplane_domain::deploys::{
    CheckOutcome, DeployOperation, DeployOperationKind, DeployRequest, Deployment, SchemaDiff,
};
use dbplane_engine::deploy::{DeployEngine, table_definition};
use dbplane_engine::physical::PhysicalName;
use dbplane_schema::diff::{ColumnRenames, ObjectKind, StatementKind, diff};
use dbplane_schema::lint::{LintError, LintOptions, lint};
use dbplane_schema::merge::three_way;
use dbplane_schema::object_diff::{definitions, object_diffs};
use dbplane_schema::online::{self, TableShape};
use dbplane_schema::{Dialect, Schema, ServerVersion};
use dbplane_store::MetadataStore;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the checks found.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub outcome: CheckOutcome,
    pub operations: Vec<DeployOperation>,
    pub lint_errors: Vec<Value>,
    pub deploy_check_errors: Option<String>,
    pub instant_eligible: bool,
    /// The base's canonical statements now (the merge base for later checks).
    pub base_statements: Vec<String>,
    /// Canonical definition of every table the deployment changes, as it will be.
    pub target_tables: BTreeMap<String, Option<String>>,
    /// What a reviewer sees: each changed object's `CREATE` statement, diffed.
    pub diff: Vec<SchemaDiff>,
    /// The head's canonical statements now.
    pub head_statements: Vec<String>,
    /// The base's `CREATE VIEW` of every view it has now: what a revert puts back.
    pub base_views: BTreeMap<String, String>,
    /// Per altered table, the columns its change renames (their values follow them).
    pub renamed_columns: BTreeMap<String, ColumnRenames>,
    /// Per altered table, its `ALTER TABLE` statements in order, as the diff wrote them:
    /// what the deployment runs (`ddl_statement` only shows them).
    pub alters: BTreeMap<String, Vec<TableAlter>>,
}

/// One `ALTER TABLE` of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableAlter {
    /// The statement.
    pub sql: String,
    /// Its clauses (what follows the table's name).
    pub clauses: String,
}

impl CheckResult {
    /// Whether two results would run the same statements.
    pub fn same_operations(&self, operations: &[DeployOperation]) -> bool {
        let mine: Vec<_> = self.operations.iter().map(|o| &o.ddl_statement).collect();
        let theirs: Vec<_> = operations.iter().map(|o| &o.ddl_statement).collect();
        mine == theirs
    }

    /// Whether the head's schema changed since `deployment` was last checked (approvals
    /// are dismissed, a queued deployment leaves the queue). A deployment checked before
    /// the head was recorded compares its operations instead.
    pub fn head_changed(&self, deployment: &Deployment) -> bool {
        if deployment.head_schema.is_empty() {
            !self.same_operations(&deployment.operations)
        } else {
            deployment.head_schema != self.head_statements
        }
    }
}

fn physical(name: String) -> Result<PhysicalName, String> {
    PhysicalName::new(name).map_err(|e| e.to_string())
}

/// The merge base of the three-way check: the base's canonical schema when the head was
/// branched from it (recorded at branch creation). A head branched from another branch,
/// restored from a backup or created before branch points were recorded falls back to
/// the base at the request's first check (empty before it).
async fn merge_base(
    store: &dyn MetadataStore,
    request: &DeployRequest,
    head: &Branch,
) -> Result<Vec<String>, String> {
    if head.parent_branch_id.as_ref() == Some(&request.into_branch_id)
        && let Some(statements) = store
            .branch_fork_schema(&head.id)
            .await
            .map_err(|e| e.to_string())?
    {
        return Ok(statements);
    }
    Ok(request.deployment.base_schema_at_fork.clone())
}

/// The canonical statements of a branch's schema, as the checks compare them.
pub async fn canonical_schema(
    engine: &DeployEngine,
    branch: &Branch,
) -> Result<Vec<String>, String> {
    let schema = engine
        .introspect(&physical(branch.physical_name())?)
        .await
        .map_err(|e| e.to_string())?;
    Ok(dbplane_schema::ddl::create_statements(
        &schema,
        Dialect::Mariadb,
    ))
}

/// Who runs the checks. Each has its own scratch database for the merge base, so the
/// check job, a `deploy` call and the deployment's `submit` step, which may overlap for
/// one request, never build it in the same place at once.
#[derive(Clone, Copy, Debug)]
pub enum CheckedBy {
    Job,
    Deploy,
    Submit,
}

impl CheckedBy {
    fn tag(self) -> &'static str {
        match self {
            CheckedBy::Job => "c",
            CheckedBy::Deploy => "d",
            CheckedBy::Submit => "s",
        }
    }
}

/// Runs the checks of `request`. Err is an infrastructure failure (retry), not a failed
/// check.
pub async fn run_checks(
    engine: &DeployEngine,
    store: &dyn MetadataStore,
    (database, base, head): (&Database, &Branch, &Branch),
    request: &DeployRequest,
    by: CheckedBy,
) -> Result<CheckResult, String> {
    let fork = merge_base(store, request, head).await?;
    let base_schema = engine
        .introspect(&physical(base.physical_name())?)
        .await
        .map_err(|e| e.to_string())?;
    let head_schema = engine
        .introspect_all(&physical(head.physical_name())?)
        .await
        .map_err(|e| e.to_string())?;
    let base_statements = dbplane_schema::ddl::create_statements(&base_schema, Dialect::Mariadb);
    let head_statements = dbplane_schema::ddl::create_statements(&head_schema, Dialect::Mariadb);
    let mut errors: Vec<String> = Vec::new();
    let target = if fork.is_empty() || fork == base_statements.as_slice() {
        head_schema
    } else {
        // The base moved since the merge base: merge the head's changes onto it.
        let scratch = physical(format!(
            "dbpfork_{}_{}",
            request.id.as_str().to_lowercase(),
            by.tag()
        ))?;
        let fork_schema = engine
            .materialize(&scratch, &fork)
            .await
            .map_err(|e| e.to_string())?;
        match three_way(&fork_schema, &head_schema, &base_schema, Dialect::Mariadb) {
            Ok(merged) => merged,
            Err(conflicts) => {
                for conflict in conflicts {
                    errors.push(format!(
                        "conflict on `{}`: {}; the base branch changed since the head branched \
                         from it: branch again from it and redo the change",
                        conflict.object.name, conflict.reason
                    ));
                }
                base_schema.clone()
            }
        }
    };
    Ok(CheckResult {
        head_statements,
        ..evaluate(database, &base_schema, &target, base_statements, errors)
    })
}

fn evaluate(
    database: &Database,
    base: &Schema,
    target: &Schema,
    base_statements: Vec<String>,
    mut errors: Vec<String>,
) -> CheckResult {
    let planned = diff(base, target, Dialect::Mariadb, ServerVersion::MARIADB_10_11);
    for unsupported in &planned.unsupported {
        errors.push(format!(
            "`{}` cannot be changed: {}",
            unsupported.object.name, unsupported.reason
        ));
    }
    let mut operations: Vec<DeployOperation> = Vec::new();
    let mut target_tables = BTreeMap::new();
    let mut renamed_columns: BTreeMap<String, ColumnRenames> = BTreeMap::new();
    let mut alters: BTreeMap<String, Vec<TableAlter>> = BTreeMap::new();
    for statement in &planned.statements {
        if let Some(clauses) = &statement.alter_clauses {
            alters
                .entry(statement.object.name.clone())
                .or_default()
                .push(TableAlter {
                    sql: statement.sql.clone(),
                    clauses: clauses.clone(),
                });
        }
        if !statement.renamed_columns.is_empty() {
            renamed_columns
                .entry(statement.object.name.clone())
                .or_default()
                .extend(statement.renamed_columns.iter().cloned());
        }
        let kind = match statement.kind {
            StatementKind::Create => DeployOperationKind::Create,
            StatementKind::Alter => DeployOperationKind::Alter,
            StatementKind::Drop => DeployOperationKind::Drop,
        };
        let name = statement.object.name.clone();
        let is_view = statement.object.kind == ObjectKind::View;
        if !is_view {
            target_tables.insert(name.clone(), table_definition(target, &name));
        }
        // Several ALTERs of one table (foreign keys split around others) run as one.
        if kind == DeployOperationKind::Alter
            && let Some(existing) = operations
                .iter_mut()
                .find(|o| o.kind == kind && o.table_name == name && !o.is_view)
        {
            existing.ddl_statement = format!("{};\n{}", existing.ddl_statement, statement.sql);
            existing.can_drop_data |= statement.can_drop_data;
            existing.instant_eligible &= statement.instant_eligible;
            existing
                .removed_foreign_key_names
                .extend(statement.removed_foreign_keys.iter().cloned());
            continue;
        }
        if kind == DeployOperationKind::Alter && !is_view && !statement.instant_eligible {
            match base.tables.get(&name) {
                Some(table) if table.primary_key.is_none() => {
                    errors.push(format!(
                        "`{name}` has no primary key: it cannot be changed online"
                    ));
                }
                // The copy identifies rows by a key both versions share.
                Some(table)
                    if let Some(new) = target.tables.get(&name)
                        && let Err(reason) = online::plan(
                            &TableShape::from_table(table),
                            &TableShape::from_table(new),
                            &statement.renamed_columns,
                        ) =>
                {
                    errors.push(format!("`{name}` cannot be changed online: {reason}"));
                }
                // The shadow table would not carry them, and a rename moves the references
                // of child tables to the old table: refuse rather than lose them.
                Some(table)
                    if !table.foreign_keys.is_empty()
                        || base.tables.values().any(|other| {
                            other
                                .foreign_keys
                                .iter()
                                .any(|fk| fk.referenced_table == name)
                        }) =>
                {
                    errors.push(format!(
                        "`{name}` has or is referenced by foreign keys: the online schema change \
                         does not carry them yet"
                    ));
                }
                _ => {}
            }
        }
        operations.push(DeployOperation {
            can_drop_data: statement.can_drop_data,
            removed_foreign_key_names: statement.removed_foreign_keys.clone(),
            instant_eligible: statement.instant_eligible,
            is_view,
            ..DeployOperation::pending(name, kind, statement.sql.clone())
        });
    }
    let mut options = LintOptions::new(Dialect::Mariadb, database.name.clone());
    options.foreign_keys_allowed = database.settings.foreign_keys_enabled;
    options.reserved = Some(dbplane_engine::deploy::is_deploy_artifact);
    // Only what the deployment touches: an old problem elsewhere does not block it.
    let lint_errors: Vec<Value> = lint(target, &options)
        .into_iter()
        .filter(|e| operations.iter().any(|o| o.table_name == e.table_name))
        .map(lint_json)
        .collect();
    let outcome = if !errors.is_empty() || !lint_errors.is_empty() {
        CheckOutcome::Failed
    } else if operations.is_empty() {
        CheckOutcome::NoChanges
    } else {
        CheckOutcome::Deployable
    };
    if !lint_errors.is_empty() && errors.is_empty() {
        errors.push("the schema has lint errors".into());
    }
    let instant_eligible =
        !operations.is_empty() && operations.iter().all(|o| o.instant_eligible || o.is_view);
    // Only what the operations change (a spelling the diff ignores is no change).
    let diff = object_diffs(
        &definitions(base, Dialect::Mariadb),
        &definitions(target, Dialect::Mariadb),
    )
    .into_iter()
    .filter(|d| operations.iter().any(|o| o.table_name == d.name))
    .map(|d| SchemaDiff {
        name: d.name,
        raw: d.raw,
    })
    .collect();
    CheckResult {
        outcome,
        operations,
        lint_errors,
        deploy_check_errors: (!errors.is_empty()).then(|| errors.join("\n")),
        instant_eligible,
        base_statements,
        target_tables,
        diff,
        head_statements: Vec::new(),
        renamed_columns,
        alters,
        base_views: base
            .views
            .values()
            .map(|view| {
                let statement = dbplane_schema::ddl::create_view(view, Dialect::Mariadb, false);
                (view.name.clone(), statement)
            })
            .collect(),
    }
}

/// A lint error as the API shows it.
pub fn lint_json(error: LintError) -> Value {
    json!({
        "lint_error": error.lint_error.as_str(),
        "subject_type": error.subject_type,
        "keyspace_name": error.keyspace_name,
        "table_name": error.table_name,
        "error_description": error.error_description,
        "docs_url": error.docs_url,
        "column_name": error.column_name,
        "foreign_key_column_names": error.foreign_key_column_names,
        "auto_increment_column_names": error.auto_increment_column_names,
        "charset_name": error.charset_name,
        "engine_name": error.engine_name,
        "vindex_name": error.vindex_name,
        "json_path": error.json_path,
        "check_constraint_name": error.check_constraint_name,
        "enum_value": error.enum_value,
        "partitioning_type": error.partitioning_type,
        "partition_name": error.partition_name,
    })
}
