//! Backup policies (semantics.md §11.2): database-scoped schedules. Each database has
//! required default policies (created with it); others are added, changed and deleted
//! here. Changing the schedule moves `next_run_at`.

use super::input::period;
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::Timestamp;
use dbplane_domain::backups::{
    BackupPolicy, BackupPolicyId, Period, PeriodUnit, PolicyTarget, ScheduleTime,
};
use dbplane_domain::data_plane::Database;

/// Defaults of a new policy for the fields a request leaves out.
const DEFAULT_FREQUENCY: Period = Period {
    value: 1,
    unit: PeriodUnit::Day,
};
const DEFAULT_RETENTION: Period = Period {
    value: 1,
    unit: PeriodUnit::Week,
};

/// `create_backup_policy` / `update_backup_policy` input; absent fields keep their
/// current (or default) value.
#[derive(Clone, Debug, Default)]
pub struct BackupPolicyInput {
    pub name: Option<String>,
    pub target: Option<String>,
    pub retention_unit: Option<String>,
    pub retention_value: Option<i64>,
    pub frequency_unit: Option<String>,
    pub frequency_value: Option<i64>,
    pub schedule_time: Option<String>,
    pub schedule_day: Option<i64>,
    pub schedule_week: Option<i64>,
}

impl BackupPolicyInput {
    /// Applies the input to `policy`; returns whether the schedule changed.
    fn apply(&self, policy: &mut BackupPolicy, allow_short_units: bool) -> ControlResult<bool> {
        if let Some(name) = &self.name {
            if name.trim().is_empty() || name.len() > 255 {
                return Err(ControlError::invalid("name", "must be 1 to 255 characters"));
            }
            policy.name = name.clone();
        }
        if let Some(target) = &self.target {
            let target = target.parse::<PolicyTarget>().map_err(|_| {
                ControlError::invalid("target", "must be production or development")
            })?;
            if policy.required && target != policy.target {
                return Err(ControlError::Unprocessable(
                    "the target of a required backup policy cannot change".into(),
                ));
            }
            policy.target = target;
        }
        policy.retention = period(
            "retention",
            self.retention_unit.as_deref(),
            self.retention_value,
            policy.retention,
            allow_short_units,
        )?;
        let frequency = period(
            "frequency",
            self.frequency_unit.as_deref(),
            self.frequency_value,
            policy.frequency,
            allow_short_units,
        )?;
        if !frequency.unit.is_frequency() {
            return Err(ControlError::invalid(
                "frequency_unit",
                "must be one of hour, day, week, month",
            ));
        }
        let schedule_time = match &self.schedule_time {
            Some(text) => ScheduleTime::parse(text)
                .ok_or_else(|| ControlError::invalid("schedule_time", "must be HH:MM (UTC)"))?,
            None => policy.schedule_time,
        };
        if let Some(day) = self.schedule_day
            && !(0..=6).contains(&day)
        {
            return Err(ControlError::invalid(
                "schedule_day",
                "must be 0 (Sunday) to 6 (Saturday)",
            ));
        }
        if let Some(week) = self.schedule_week
            && !(0..=3).contains(&week)
        {
            return Err(ControlError::invalid(
                "schedule_week",
                "must be 0 (first week) to 3 (fourth week)",
            ));
        }
        let schedule_day = self.schedule_day.or(policy.schedule_day);
        let schedule_week = self.schedule_week.or(policy.schedule_week);
        let changed = frequency != policy.frequency
            || schedule_time != policy.schedule_time
            || schedule_day != policy.schedule_day
            || schedule_week != policy.schedule_week;
        policy.frequency = frequency;
        policy.schedule_time = schedule_time;
        policy.schedule_day = schedule_day;
        policy.schedule_week = schedule_week;
        Ok(changed)
    }
}

impl ControlPlane {
    async fn authorize_policy(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        id: &str,
        operation: &OperationAccess,
    ) -> ControlResult<(Database, BackupPolicy)> {
        let (_, database) = self
            .authorize_database(caller, organization, database, operation)
            .await?;
        let policy = self
            .store
            .backup_policy(&database.id, &BackupPolicyId::from_string(id))
            .await?
            .ok_or(ControlError::NotFound {
                resource: "backup policy",
            })?;
        Ok((database, policy))
    }

    /// `list_backup_policies`, oldest first.
    pub async fn list_backup_policies(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<BackupPolicy>> {
        let (_, database) = self
            .authorize_database(
                caller,
                organization,
                database,
                &operations::LIST_BACKUP_POLICIES,
            )
            .await?;
        let policies = self
            .store
            .list_backup_policies(&database.id, page.window())
            .await?;
        Ok(Paged {
            items: policies.items,
            total: policies.total,
            request: page,
        })
    }

    /// `create_backup_policy`.
    pub async fn create_backup_policy(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        input: BackupPolicyInput,
    ) -> ControlResult<BackupPolicy> {
        let (_, database) = self
            .authorize_database(
                caller,
                organization,
                database,
                &operations::CREATE_BACKUP_POLICY,
            )
            .await?;
        let now = Timestamp::now();
        let mut policy = BackupPolicy {
            id: BackupPolicyId::generate(),
            database_id: database.id.clone(),
            name: "Backup policy".to_string(),
            target: PolicyTarget::Production,
            retention: DEFAULT_RETENTION,
            frequency: DEFAULT_FREQUENCY,
            schedule_time: ScheduleTime::MIDNIGHT,
            schedule_day: None,
            schedule_week: None,
            required: false,
            created_at: now,
            updated_at: now,
            last_ran_at: None,
            next_run_at: None,
        };
        input.apply(&mut policy, self.config.backups.allow_short_units)?;
        policy.next_run_at = Some(policy.next_run_after(now));
        self.store.create_backup_policy(&policy).await?;
        Ok(policy)
    }

    /// `get_backup_policy`.
    pub async fn get_backup_policy(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        id: &str,
    ) -> ControlResult<BackupPolicy> {
        let (_, policy) = self
            .authorize_policy(
                caller,
                organization,
                database,
                id,
                &operations::GET_BACKUP_POLICY,
            )
            .await?;
        Ok(policy)
    }

    /// `update_backup_policy`: a changed schedule is recomputed from now.
    pub async fn update_backup_policy(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        id: &str,
        input: BackupPolicyInput,
    ) -> ControlResult<BackupPolicy> {
        let (_, mut policy) = self
            .authorize_policy(
                caller,
                organization,
                database,
                id,
                &operations::UPDATE_BACKUP_POLICY,
            )
            .await?;
        let now = Timestamp::now();
        if input.apply(&mut policy, self.config.backups.allow_short_units)? {
            policy.next_run_at = Some(policy.next_run_after(now));
        }
        policy.updated_at = now;
        self.store.update_backup_policy(&policy).await?;
        Ok(policy)
    }

    /// `delete_backup_policy`: required policies stay. Backups it took keep their
    /// retention.
    pub async fn delete_backup_policy(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        id: &str,
    ) -> ControlResult<()> {
        let (_, policy) = self
            .authorize_policy(
                caller,
                organization,
                database,
                id,
                &operations::DELETE_BACKUP_POLICY,
            )
            .await?;
        if policy.required {
            return Err(ControlError::Unprocessable(
                "a required backup policy cannot be deleted".into(),
            ));
        }
        self.store.delete_backup_policy(&policy.id).await?;
        Ok(())
    }
}
