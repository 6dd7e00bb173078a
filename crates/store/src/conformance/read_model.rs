//! What reads and background refreshers query: database summaries, stored table counts,
//! branches by id, stale deploy requests and standing approvals.

use super::TestBackend;
use super::backups::store_with_database;
use crate::prelude::*;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::BranchId;
use dbplane_domain::deploys::{
    DeployRequest, DeployRequestId, DeployRequestState, Deployment, DeploymentState,
};

pub async fn summaries_read_stored_table_counts<B: TestBackend>() {
    let (_backend, store, database, main) = store_with_database::<B>().await;
    let summaries = store
        .database_summaries(std::slice::from_ref(&database.id))
        .await
        .unwrap();
    let summary = &summaries[&database.id];
    assert_eq!(summary.counts.total, 1);
    assert_eq!(summary.counts.production, 1);
    assert_eq!(summary.default_branch.as_ref().unwrap().id, main.id);
    assert_eq!(summary.default_branch_table_count, 0, "never counted");

    let now = Timestamp::now();
    let later = Timestamp::from_unix_millis(now.unix_millis() + 1);
    let due = store.branches_to_count(later, 10).await.unwrap();
    assert_eq!(due.len(), 1, "a branch never counted is due");
    store
        .set_branch_table_count(&main.id, 3, now)
        .await
        .unwrap();
    assert!(store.branches_to_count(now, 10).await.unwrap().is_empty());
    assert_eq!(store.branches_to_count(later, 10).await.unwrap().len(), 1);
    let summaries = store
        .database_summaries(std::slice::from_ref(&database.id))
        .await
        .unwrap();
    assert_eq!(summaries[&database.id].default_branch_table_count, 3);

    // A branch purged meanwhile records nothing (and fails nothing).
    store
        .set_branch_table_count(&BranchId::generate(), 1, now)
        .await
        .unwrap();
    let found = store
        .branches_by_ids(&[main.id.clone(), BranchId::generate()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "main");
}

fn request(
    database: &dbplane_domain::DatabaseId,
    state: DeploymentState,
    checked_at: Option<i64>,
) -> DeployRequest {
    let now = Timestamp::now();
    let mut deployment = Deployment::new(true, false, 0);
    deployment.state = state;
    deployment.schema_last_updated_at = checked_at.map(Timestamp::from_unix_millis);
    DeployRequest {
        id: DeployRequestId::generate(),
        database_id: database.clone(),
        number: 0,
        branch_id: BranchId::generate(),
        into_branch_id: BranchId::generate(),
        branch_name: "dev".into(),
        into_branch_name: "main".into(),
        notes: String::new(),
        actor: None,
        created_by_token: None,
        state: DeployRequestState::Open,
        closed_by: None,
        closed_at: None,
        deployed_at: None,
        branch_deleted_by: None,
        branch_deleted_at: None,
        deployment,
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

pub async fn stale_deploy_requests_are_open_checked_before_and_oldest_first<B: TestBackend>() {
    let (_backend, store, database, _) = store_with_database::<B>().await;
    let mut older = request(&database.id, DeploymentState::Ready, Some(1_000));
    let mut newer = request(&database.id, DeploymentState::Queued, Some(2_000));
    let mut never = request(&database.id, DeploymentState::NoChanges, None);
    let mut pending = request(&database.id, DeploymentState::Pending, Some(500));
    let mut closed = request(&database.id, DeploymentState::Ready, Some(500));
    closed.state = DeployRequestState::Closed;
    for request in [
        &mut older,
        &mut newer,
        &mut never,
        &mut pending,
        &mut closed,
    ] {
        store.create_deploy_request(request, &[]).await.unwrap();
    }
    let states = [
        DeploymentState::Ready,
        DeploymentState::NoChanges,
        DeploymentState::Queued,
    ];
    let ids = |found: Vec<DeployRequest>| found.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let stale = |before: i64, limit: u64| {
        let store = &store;
        async move {
            store
                .stale_deploy_requests(&states, Timestamp::from_unix_millis(before), limit)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        ids(stale(3_000, 10).await),
        [never.id.clone(), older.id.clone(), newer.id.clone()]
    );
    assert_eq!(
        ids(stale(2_000, 10).await),
        [never.id.clone(), older.id.clone()]
    );
    assert_eq!(ids(stale(3_000, 1).await), [never.id.clone()]);

    let approved = store
        .standing_approvals(&[older.id.clone(), newer.id.clone()])
        .await
        .unwrap();
    assert!(approved.is_empty());
}
