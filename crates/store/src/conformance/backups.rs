//! Backups and backup policies.

use super::TestBackend;
use crate::prelude::*;
use crate::{BackupFilter, Window};
use dbplane_domain::backups::{Backup, BackupState, Period, PeriodUnit};
use dbplane_domain::data_plane::{
    Branch, BranchId, BranchState, Database, DatabaseKind, DatabaseSettings, DatabaseState,
};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_domain::{DatabaseId, Organization, OrganizationId, Timestamp, User, UserId};

const ALL: Window = Window {
    offset: 0,
    limit: 100,
};

/// A fresh store holding one organization, one ready MySQL database and its branch.
pub(crate) async fn store_with_database<B: TestBackend>() -> (B, B::Store, Database, Branch) {
    let backend = B::create().await;
    let store = backend.open().await;
    let now = Timestamp::now();
    let organization = Organization {
        id: OrganizationId::generate(),
        name: "acme".into(),
        billing_email: "ops@example.com".into(),
        idp_managed_roles: false,
        invoice_budget_amount: 0,
        created_at: now,
        updated_at: now,
    };
    let user = User {
        id: UserId::generate(),
        email: "ops@example.com".into(),
        name: "Ops".into(),
        default_organization_id: None,
        created_at: now,
        updated_at: now,
    };
    let organization = store
        .ensure_organization_with_admin(organization, user)
        .await
        .unwrap()
        .organization;
    let database = Database {
        id: DatabaseId::generate(),
        organization_id: organization.id,
        name: "shop".into(),
        notes: String::new(),
        kind: DatabaseKind::Mysql,
        region: "us-east".into(),
        state: DatabaseState::Ready,
        cluster_size: "PS_10".into(),
        replicas: 0,
        settings: DatabaseSettings::default(),
        created_by: None,
        created_at: now,
        updated_at: now,
        schema_last_updated_at: None,
    };
    let branch = Branch {
        id: BranchId::generate(),
        database_id: database.id.clone(),
        name: "main".into(),
        parent_branch_id: None,
        production: true,
        safe_migrations: false,
        deletion_protected: false,
        state: BranchState::Ready,
        region: "us-east".into(),
        cluster_size: "PS_10".into(),
        created_by: None,
        created_at: now,
        updated_at: now,
        schema_last_updated_at: None,
        deleted_at: None,
    };
    let job = Job::new(
        JobKind::CreateBranch,
        branch.id.as_str(),
        "finish",
        "{}".into(),
    );
    store
        .create_database(&database, &branch, &job, None)
        .await
        .unwrap();
    (backend, store, database, branch)
}

fn backup(branch: &Branch, now: Timestamp) -> Backup {
    Backup::pending(
        branch.id.clone(),
        branch.database_id.clone(),
        "b".into(),
        Period {
            value: 1,
            unit: PeriodUnit::Second,
        },
        now,
    )
}

pub async fn databases_get_required_default_policies_that_run_once<B: TestBackend>() {
    let (_backend, store, database, branch) = store_with_database::<B>().await;
    let policies = store.list_backup_policies(&database.id, ALL).await.unwrap();
    assert_eq!(policies.total, 2);
    assert!(policies.items.iter().all(|p| p.required));
    let now = Timestamp::now();
    assert!(store.due_backup_policies(now).await.unwrap().is_empty());
    let later = now.plus_seconds(12 * 3600 + 1);
    let due = store.due_backup_policies(later).await.unwrap();
    assert_eq!(due.len(), 2);

    let mut policy = due[0].clone();
    let previous = policy.next_run_at;
    policy.last_ran_at = Some(later);
    policy.next_run_at = Some(policy.next_run_after(later));
    let mut taken = backup(&branch, later);
    taken.policy_id = Some(policy.id.clone());
    let job = Job::new(JobKind::RunBackup, taken.id.as_str(), "start", "{}".into());
    assert!(
        store
            .record_policy_run(&policy, previous, &[(taken.clone(), Some(job.clone()))])
            .await
            .unwrap()
    );
    // The same run recorded again (a second scheduler, a replay) changes nothing.
    let again = Job::new(JobKind::RunBackup, taken.id.as_str(), "start", "{}".into());
    let mut duplicate = taken.clone();
    duplicate.id = dbplane_domain::backups::BackupId::generate();
    assert!(
        !store
            .record_policy_run(&policy, previous, &[(duplicate, Some(again))])
            .await
            .unwrap()
    );
    let listed = store
        .list_backups(&branch.id, &BackupFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(store.due_backup_policies(later).await.unwrap().len(), 1);
    assert!(
        store
            .has_job(JobKind::RunBackup, taken.id.as_str())
            .await
            .unwrap()
    );
}

pub async fn a_run_due_while_the_last_one_works_is_recorded_as_ignored<B: TestBackend>() {
    let (_backend, store, database, branch) = store_with_database::<B>().await;
    let later = Timestamp::now().plus_seconds(12 * 3600 + 1);
    let mut policy = store.due_backup_policies(later).await.unwrap()[0].clone();
    assert_eq!(policy.database_id, database.id);
    assert!(
        !store
            .has_unfinished_policy_backup(&branch.id, &policy.id)
            .await
            .unwrap()
    );
    let mut first = backup(&branch, later);
    first.policy_id = Some(policy.id.clone());
    let job = Job::new(JobKind::RunBackup, first.id.as_str(), "start", "{}".into());
    let previous = policy.next_run_at;
    policy.next_run_at = Some(policy.next_run_after(later));
    let recorded = store
        .record_policy_run(&policy, previous, &[(first.clone(), Some(job))])
        .await
        .unwrap();
    assert!(recorded);
    assert!(
        store
            .has_unfinished_policy_backup(&branch.id, &policy.id)
            .await
            .unwrap()
    );

    // The next run finds it unfinished: a record without a job.
    let mut skipped = backup(&branch, later);
    skipped.policy_id = Some(policy.id.clone());
    let skipped = skipped.ignored(later);
    let previous = policy.next_run_at;
    policy.next_run_at = Some(policy.next_run_after(later));
    let recorded = store
        .record_policy_run(&policy, previous, &[(skipped.clone(), None)])
        .await
        .unwrap();
    assert!(recorded);
    let stored = store.backup_by_id(&skipped.id).await.unwrap().unwrap();
    assert_eq!(stored.state, BackupState::Ignored);
    assert!(stored.expires_at.is_some());
    assert!(
        !store
            .has_job(JobKind::RunBackup, skipped.id.as_str())
            .await
            .unwrap()
    );

    // Once the first one finishes, runs start again.
    let mut done = first;
    done.state = BackupState::Success;
    store.update_backup(&done).await.unwrap();
    assert!(
        !store
            .has_unfinished_policy_backup(&branch.id, &policy.id)
            .await
            .unwrap()
    );
}

pub async fn the_reaper_takes_expired_unprotected_backups_only<B: TestBackend>() {
    let (_backend, store, _database, branch) = store_with_database::<B>().await;
    let now = Timestamp::now();
    let mut expired = backup(&branch, now);
    let mut protected = backup(&branch, now);
    let running = backup(&branch, now);
    for b in [&mut expired, &mut protected] {
        b.state = BackupState::Success;
        b.completed_at = Some(now);
        b.expires_at = Some(now);
    }
    protected.protected = true;
    for b in [&expired, &protected, &running] {
        let job = Job::new(JobKind::RunBackup, b.id.as_str(), "start", "{}".into());
        store.create_backup(b, &job).await.unwrap();
    }
    // `protected` is the user's: the job's write never clears it.
    store.update_backup(&protected).await.unwrap();
    store
        .set_backup_protected(&protected.id, true, now)
        .await
        .unwrap();
    let mut job_view = protected.clone();
    job_view.protected = false;
    store.update_backup(&job_view).await.unwrap();

    let reapable = store
        .reapable_backups(now.plus_seconds(1), 10)
        .await
        .unwrap();
    let ids: Vec<_> = reapable.iter().map(|b| b.id.clone()).collect();
    assert_eq!(ids, vec![expired.id.clone()]);
    let job = Job::new(
        JobKind::DeleteBackup,
        expired.id.as_str(),
        "delete_files",
        "{}".into(),
    );
    store
        .mark_backups_deleted(&[(expired.id.clone(), job)], now)
        .await
        .unwrap();
    assert!(
        store
            .reapable_backups(now.plus_seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let live = store
        .list_backups(&branch.id, &BackupFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(live.total, 2);
    let all = BackupFilter {
        include_deleted: true,
        state: Some(BackupState::Success),
        ..BackupFilter::default()
    };
    assert_eq!(
        store
            .list_backups(&branch.id, &all, ALL)
            .await
            .unwrap()
            .total,
        2
    );
    assert!(
        store
            .backup_by_id(&protected.id)
            .await
            .unwrap()
            .unwrap()
            .protected
    );
    assert_eq!(
        store
            .latest_successful_backup(&branch.id)
            .await
            .unwrap()
            .map(|b| b.id),
        Some(protected.id)
    );
}
