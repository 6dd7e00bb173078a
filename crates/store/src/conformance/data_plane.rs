//! Round trips of databases and branches.

use super::TestBackend;
use super::backups::store_with_database;
use crate::prelude::*;
use dbplane_domain::DatabaseId;
use dbplane_domain::data_plane::BranchId;
use dbplane_domain::jobs::{Job, JobKind};

pub async fn database_notes_round_trip<B: TestBackend>() {
    let (_backend, store, database, branch) = store_with_database::<B>().await;
    assert_eq!(
        store
            .database_by_id(&database.id)
            .await
            .unwrap()
            .unwrap()
            .notes,
        ""
    );
    let mut noted = database.clone();
    noted.id = DatabaseId::generate();
    noted.name = "ledger".into();
    noted.notes = "orders and invoices".into();
    let mut main = branch.clone();
    main.id = BranchId::generate();
    main.database_id = noted.id.clone();
    let job = Job::new(
        JobKind::CreateBranch,
        main.id.as_str(),
        "finish",
        "{}".into(),
    );
    store
        .create_database(&noted, &main, &job, None)
        .await
        .unwrap();
    let stored = store.database_by_id(&noted.id).await.unwrap().unwrap();
    assert_eq!(stored.notes, "orders and invoices");
}

/// Every field a branch update may change is written, the cluster size included (it
/// was once left out, so a resize answered 204 and changed nothing).
pub async fn branch_updates_write_every_changeable_field<B: TestBackend>() {
    let (_backend, store, _database, mut branch) = store_with_database::<B>().await;
    branch.name = "trunk".into();
    branch.production = false;
    branch.safe_migrations = true;
    branch.deletion_protected = true;
    branch.cluster_size = "PS_20".into();
    store.update_branch(&branch).await.unwrap();
    let stored = store.branch_by_id(&branch.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "trunk");
    assert!(!stored.production);
    assert!(stored.safe_migrations);
    assert!(stored.deletion_protected);
    assert_eq!(stored.cluster_size, "PS_20");
}
