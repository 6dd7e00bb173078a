//! Backup and backup-policy responses against the contract: a pending manual backup
//! (everything nullable null) and a finished scheduled one (everything set).

use super::fixtures::{BASE, branch_details, organization, paged, pagination, user};
use super::{BRANCH, Checker, DATABASE};
use crate::wire::backup::{BackupPolicyResponse, BackupResponse};
use crate::wire::list::{ListEnvelope, Totals};
use dbplane_control::backups::BackupDetails;
use dbplane_domain::Timestamp;
use dbplane_domain::backups::{Backup, BackupPolicy, BackupState};
use dbplane_domain::data_plane::DatabaseKind;
use serde_json::Value;

fn policy() -> BackupPolicy {
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    let mut policy =
        BackupPolicy::defaults_for(&dbplane_domain::DatabaseId::generate(), now).remove(0);
    policy.last_ran_at = Some(now);
    policy.schedule_day = Some(1);
    policy
}

fn details(finished: bool) -> BackupDetails {
    let branch = branch_details(DatabaseKind::Mysql, true);
    let now = Timestamp::from_unix_millis(1_700_000_400_000);
    let mut backup = Backup::pending(
        branch.branch.id.clone(),
        branch.database.id.clone(),
        "dev-backup".into(),
        dbplane_domain::backups::DEFAULT_POLICY_RETENTION,
        now,
    );
    if finished {
        backup.state = BackupState::Success;
        backup.started_at = Some(now);
        backup.completed_at = Some(now);
        backup.expires_at = Some(backup.expiry_after(now));
        backup.size = 1024;
        backup.uncompressed_size = 4096;
        backup.schema_snapshot = Some("CREATE TABLE t (id int);\n\n".into());
        backup.required = true;
    }
    BackupDetails {
        restored_branches: if finished {
            vec![branch.branch.clone()]
        } else {
            Vec::new()
        },
        policy: finished.then(policy),
        actor: (!finished).then(user),
        organization: organization(),
        database: branch.database,
        branch: branch.branch,
        backup,
    }
}

pub(super) fn check_backups(checker: &mut Checker) {
    let backups = format!("{BRANCH}/backups");
    let backup = format!("{backups}/abc");
    for finished in [false, true] {
        let render = || BackupResponse::new(details(finished), BASE);
        checker.check("POST", &backups, 201, render());
        checker.check("GET", &backup, 200, render());
        checker.check("PATCH", &backup, 200, render());
    }
    let list = ListEnvelope::new(
        &pagination(&backups),
        paged(vec![details(false), details(true)]),
        Totals::Include,
        |d| BackupResponse::new(d, BASE),
    );
    checker.check("GET", &backups, 200, list);
    checker.check_value("DELETE", &backup, 204, &Value::Null);

    let policies = format!("{DATABASE}/backup-policies");
    let one = format!("{policies}/abc");
    let fresh =
        BackupPolicy::defaults_for(&dbplane_domain::DatabaseId::generate(), Timestamp::now())
            .remove(1);
    for policy in [policy(), fresh] {
        checker.check("POST", &policies, 201, BackupPolicyResponse::from(&policy));
        checker.check("GET", &one, 200, BackupPolicyResponse::from(&policy));
        checker.check("PATCH", &one, 200, BackupPolicyResponse::from(&policy));
    }
    let list = ListEnvelope::new(
        &pagination(&policies),
        paged(vec![policy()]),
        Totals::Omit,
        BackupPolicyResponse::from,
    );
    checker.check("GET", &policies, 200, list);
    checker.check_value("DELETE", &one, 204, &Value::Null);
}
