//! Backups and backup policies (semantics.md §11): the records, the backup state
//! machine, retention and frequency units, and when a policy runs next.

mod schedule;

pub use schedule::{ScheduleTime, next_run_after};

use crate::DatabaseId;
use crate::data_plane::{BranchId, wire_enum};
use crate::ids::UserId;
use crate::timestamp::Timestamp;
use std::fmt;
use std::str::FromStr;

crate::public_id_type!(
    /// Id of a backup; also its key prefix in the backup store.
    BackupId
);
crate::public_id_type!(
    /// Id of a backup policy.
    BackupPolicyId
);

wire_enum!(
    /// `backup.state`. See [`BackupState::can_become`] for the only moves allowed.
    BackupState {
        Pending => "pending",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Canceled => "canceled",
        Ignored => "ignored",
    }
);

impl BackupState {
    /// `pending → running → success | failed`; a pending or running backup is
    /// `canceled` when its branch goes away, and a pending one may fail (it never
    /// started) or be `ignored` (a scheduled run skipped). Terminal states stay put.
    /// Staying in the same state is allowed so a replayed job step is harmless.
    pub fn can_become(self, next: BackupState) -> bool {
        use BackupState::*;
        self == next
            || matches!(
                (self, next),
                (Pending, Running | Failed | Canceled | Ignored)
                    | (Running, Success | Failed | Canceled)
            )
    }

    /// No job works on the backup any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BackupState::Success
                | BackupState::Failed
                | BackupState::Canceled
                | BackupState::Ignored
        )
    }
}

wire_enum!(
    /// Unit of a retention period or a policy frequency. `second` and `minute` exist only
    /// for tests and are refused unless `[backups] allow_short_units` is set.
    PeriodUnit {
        Second => "second",
        Minute => "minute",
        Hour => "hour",
        Day => "day",
        Week => "week",
        Month => "month",
        Year => "year",
    }
);

impl PeriodUnit {
    /// Length of one unit; a month is 30 days and a year 365 (retention is approximate
    /// by nature; calendar months matter only to the schedule, see [`next_run_after`]).
    pub fn millis(self) -> i64 {
        const SECOND: i64 = 1000;
        const DAY: i64 = 86_400 * SECOND;
        match self {
            PeriodUnit::Second => SECOND,
            PeriodUnit::Minute => 60 * SECOND,
            PeriodUnit::Hour => 3600 * SECOND,
            PeriodUnit::Day => DAY,
            PeriodUnit::Week => 7 * DAY,
            PeriodUnit::Month => 30 * DAY,
            PeriodUnit::Year => 365 * DAY,
        }
    }

    /// Units meant for tests only.
    pub fn is_short(self) -> bool {
        matches!(self, PeriodUnit::Second | PeriodUnit::Minute)
    }

    /// Whether a policy may run this often (`frequency_unit` has no `year`).
    pub fn is_frequency(self) -> bool {
        self != PeriodUnit::Year
    }
}

/// `retention_value` and `frequency_value` lie in this range.
pub const PERIOD_VALUE_RANGE: std::ops::RangeInclusive<i64> = 1..=1000;

/// A retention period: `value` × `unit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub value: i64,
    pub unit: PeriodUnit,
}

impl Period {
    pub fn millis(self) -> i64 {
        self.value.saturating_mul(self.unit.millis())
    }
}

wire_enum!(
    /// Which branches a policy backs up.
    PolicyTarget { Production => "production", Development => "development" }
);

impl PolicyTarget {
    pub fn covers(self, production: bool) -> bool {
        production == (self == PolicyTarget::Production)
    }
}

/// A backup of one branch.
#[derive(Clone, Debug)]
pub struct Backup {
    pub id: BackupId,
    pub branch_id: BranchId,
    pub database_id: DatabaseId,
    pub name: String,
    pub state: BackupState,
    /// Stored (compressed) bytes.
    pub size: i64,
    pub uncompressed_size: i64,
    pub retention: Period,
    pub protected: bool,
    /// Taken by a required policy: users cannot delete it; retention still applies.
    pub required: bool,
    /// Postgres only: an immediate full backup (every dbplane backup is full anyway).
    pub emergency: bool,
    pub policy_id: Option<BackupPolicyId>,
    /// The branch's schema at the snapshot, set on success.
    pub schema_snapshot: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
}

impl Backup {
    /// A pending backup of `branch`, created now.
    pub fn pending(
        branch_id: BranchId,
        database_id: DatabaseId,
        name: String,
        retention: Period,
        now: Timestamp,
    ) -> Self {
        Self {
            id: BackupId::generate(),
            branch_id,
            database_id,
            name,
            state: BackupState::Pending,
            size: 0,
            uncompressed_size: 0,
            retention,
            protected: false,
            required: false,
            emergency: false,
            policy_id: None,
            schema_snapshot: None,
            created_by: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            expires_at: None,
            deleted_at: None,
        }
    }

    /// This pending backup as a skipped scheduled run (`ignored`): the branch's previous
    /// backup of the same policy has not finished, and piling up a second copy of the
    /// same work would only slow both. Kept as a record and reaped like any backup.
    pub fn ignored(mut self, now: Timestamp) -> Self {
        debug_assert!(self.state.can_become(BackupState::Ignored));
        self.state = BackupState::Ignored;
        self.completed_at = Some(now);
        self.expires_at = Some(self.expiry_after(now));
        self
    }

    /// `expires_at` = completion + retention (semantics.md §11.1).
    pub fn expiry_after(&self, completed_at: Timestamp) -> Timestamp {
        completed_at.plus_millis(self.retention.millis())
    }

    /// The default name: `<branch>-<yyyy-mm-dd-hhmmss>` of the creation time.
    pub fn default_name(branch: &str, at: Timestamp) -> String {
        let iso = at.to_iso8601();
        let compact: String = iso[..19]
            .chars()
            .map(|c| if c == 'T' || c == ':' { '-' } else { c })
            .collect();
        format!("{branch}-{compact}")
    }
}

/// A backup policy of a database.
#[derive(Clone, Debug)]
pub struct BackupPolicy {
    pub id: BackupPolicyId,
    pub database_id: DatabaseId,
    pub name: String,
    pub target: PolicyTarget,
    pub retention: Period,
    pub frequency: Period,
    pub schedule_time: ScheduleTime,
    /// 0 = Sunday .. 6 = Saturday (weekly and monthly policies).
    pub schedule_day: Option<i64>,
    /// 0..3 = first..fourth week of the month (monthly policies).
    pub schedule_week: Option<i64>,
    /// The database's default policies: cannot be deleted.
    pub required: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_ran_at: Option<Timestamp>,
    pub next_run_at: Option<Timestamp>,
}

/// Frequency of the default policies: every 12 hours.
pub const DEFAULT_POLICY_FREQUENCY: Period = Period {
    value: 12,
    unit: PeriodUnit::Hour,
};
/// Retention of the default policies: 2 days.
pub const DEFAULT_POLICY_RETENTION: Period = Period {
    value: 2,
    unit: PeriodUnit::Day,
};

impl BackupPolicy {
    /// The required default policies of a new database: every 12 hours with 2 days of
    /// retention, one per target so that every branch, production and development, is
    /// covered (a policy has exactly one target).
    pub fn defaults_for(database_id: &DatabaseId, now: Timestamp) -> Vec<BackupPolicy> {
        [PolicyTarget::Production, PolicyTarget::Development]
            .into_iter()
            .map(|target| {
                let mut policy = BackupPolicy {
                    id: BackupPolicyId::generate(),
                    database_id: database_id.clone(),
                    name: format!("Default {target} backups"),
                    target,
                    retention: DEFAULT_POLICY_RETENTION,
                    frequency: DEFAULT_POLICY_FREQUENCY,
                    schedule_time: ScheduleTime::MIDNIGHT,
                    schedule_day: None,
                    schedule_week: None,
                    required: true,
                    created_at: now,
                    updated_at: now,
                    last_ran_at: None,
                    next_run_at: None,
                };
                policy.next_run_at = Some(policy.next_run_after(now));
                policy
            })
            .collect()
    }

    /// When the policy runs next after `after`.
    pub fn next_run_after(&self, after: Timestamp) -> Timestamp {
        next_run_after(
            after,
            self.frequency,
            self.schedule_time,
            self.schedule_day,
            self.schedule_week,
        )
    }

    /// Whether the policy is due at `now`.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.next_run_at.is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_states_move_only_forward() {
        use BackupState::*;
        assert!(Pending.can_become(Running));
        assert!(Running.can_become(Success));
        assert!(Running.can_become(Failed));
        assert!(Running.can_become(Canceled));
        assert!(Pending.can_become(Canceled));
        assert!(Success.can_become(Success));
        for terminal in [Success, Failed, Canceled, Ignored] {
            assert!(terminal.is_terminal());
            for next in BackupState::ALL {
                assert_eq!(
                    terminal.can_become(*next),
                    terminal == *next,
                    "{terminal}→{next}"
                );
            }
        }
        assert!(
            !Pending.can_become(Success),
            "a backup must run before it succeeds"
        );
        assert!(!Running.can_become(Pending));
        assert!(!Pending.is_terminal() && !Running.is_terminal());
    }

    #[test]
    fn units_parse_and_measure() {
        for unit in PeriodUnit::ALL {
            assert_eq!(unit.as_str().parse::<PeriodUnit>(), Ok(*unit));
        }
        let two_days = Period {
            value: 2,
            unit: PeriodUnit::Day,
        };
        assert_eq!(two_days.millis(), 172_800_000);
        assert!(PeriodUnit::Second.is_short() && !PeriodUnit::Hour.is_short());
        assert!(!PeriodUnit::Year.is_frequency());
        assert!(PERIOD_VALUE_RANGE.contains(&1000) && !PERIOD_VALUE_RANGE.contains(&0));
    }

    #[test]
    fn defaults_cover_both_targets_every_12_hours() {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);
        let policies = BackupPolicy::defaults_for(&DatabaseId::from_string("db0000000001"), now);
        assert_eq!(policies.len(), 2);
        assert!(policies.iter().all(|p| p.required));
        assert!(policies.iter().any(|p| p.target.covers(true)));
        assert!(policies.iter().any(|p| p.target.covers(false)));
        for policy in &policies {
            assert_eq!(policy.retention.millis(), 2 * 86_400_000);
            assert_eq!(policy.next_run_at, Some(now.plus_seconds(12 * 3600)));
            assert!(!policy.is_due(now));
            assert!(policy.is_due(now.plus_seconds(12 * 3600)));
        }
    }

    #[test]
    fn expiry_is_completion_plus_retention() {
        let now = Timestamp::from_unix_millis(0);
        let backup = Backup::pending(
            BranchId::from_string("b"),
            DatabaseId::from_string("d"),
            "n".into(),
            Period {
                value: 6,
                unit: PeriodUnit::Hour,
            },
            now,
        );
        assert_eq!(backup.expiry_after(now), now.plus_seconds(6 * 3600));
        assert_eq!(
            Backup::default_name("main", Timestamp::from_unix_millis(1_700_000_000_000)),
            "main-2023-11-14-22-13-20"
        );
    }
}
