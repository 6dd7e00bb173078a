//! Request inputs of the backup operations and their validation.

use crate::error::{ControlError, ControlResult};
use dbplane_domain::Timestamp;
use dbplane_domain::backups::{
    BackupPolicyId, BackupState, PERIOD_VALUE_RANGE, Period, PeriodUnit,
};
use dbplane_store::BackupFilter;

/// Retention of a manual backup when the request names none: that of the default
/// policies (2 days).
pub const DEFAULT_RETENTION: Period = dbplane_domain::backups::DEFAULT_POLICY_RETENTION;

/// `create_backup` input.
#[derive(Clone, Debug, Default)]
pub struct CreateBackup {
    pub name: Option<String>,
    pub retention_unit: Option<String>,
    pub retention_value: Option<i64>,
    pub emergency: Option<bool>,
}

impl CreateBackup {
    pub(crate) fn retention(&self, allow_short_units: bool) -> ControlResult<Period> {
        period(
            "retention",
            self.retention_unit.as_deref(),
            self.retention_value,
            DEFAULT_RETENTION,
            allow_short_units,
        )
    }
}

/// Parses `<prefix>_unit`/`<prefix>_value`; a missing half keeps the default's.
pub(crate) fn period(
    prefix: &str,
    unit: Option<&str>,
    value: Option<i64>,
    default: Period,
    allow_short_units: bool,
) -> ControlResult<Period> {
    let unit = match unit {
        None => default.unit,
        Some(text) => match text.parse::<PeriodUnit>() {
            Ok(unit) if !unit.is_short() || allow_short_units => unit,
            _ => {
                return Err(ControlError::invalid(
                    format!("{prefix}_unit"),
                    "must be one of hour, day, week, month, year",
                ));
            }
        },
    };
    let value = value.unwrap_or(default.value);
    if !PERIOD_VALUE_RANGE.contains(&value) {
        return Err(ControlError::invalid(
            format!("{prefix}_value"),
            "must be between 1 and 1000",
        ));
    }
    Ok(Period { value, unit })
}

/// `list_backups` filters, as the query string has them.
#[derive(Clone, Debug, Default)]
pub struct ListBackups {
    pub all: bool,
    pub state: Option<String>,
    pub policy: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `start..end` (RFC 3339 both).
    pub running_at: Option<String>,
    pub production: Option<bool>,
}

fn timestamp(field: &str, text: &str) -> ControlResult<Timestamp> {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| ControlError::invalid(field, "must be an RFC 3339 timestamp"))
}

impl ListBackups {
    pub(crate) fn to_store_filter(&self) -> ControlResult<BackupFilter> {
        let state = match self.state.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<BackupState>().map_err(|_| {
                ControlError::invalid(
                    "state",
                    "must be one of pending, running, success, failed, canceled, ignored",
                )
            })?),
        };
        let running_between = match self.running_at.as_deref() {
            None => None,
            Some(text) => {
                let (start, end) = text.split_once("..").ok_or_else(|| {
                    ControlError::invalid("running_at", "must be <start>..<end> (RFC 3339)")
                })?;
                Some((
                    timestamp("running_at", start)?,
                    timestamp("running_at", end)?,
                ))
            }
        };
        Ok(BackupFilter {
            include_deleted: self.all,
            state,
            policy: self.policy.clone().map(BackupPolicyId::from_string),
            from: self
                .from
                .as_deref()
                .map(|t| timestamp("from", t))
                .transpose()?,
            to: self.to.as_deref().map(|t| timestamp("to", t)).transpose()?,
            running_between,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_checked() {
        let ok = period("retention", Some("hour"), Some(6), DEFAULT_RETENTION, false).unwrap();
        assert_eq!(
            ok,
            Period {
                value: 6,
                unit: PeriodUnit::Hour
            }
        );
        for bad in [0, 1001, -1] {
            let error = period(
                "retention",
                Some("day"),
                Some(bad),
                DEFAULT_RETENTION,
                false,
            )
            .unwrap_err();
            assert!(error.to_string().starts_with("retention_value"), "{error}");
        }
        assert!(
            period(
                "retention",
                Some("second"),
                Some(5),
                DEFAULT_RETENTION,
                false
            )
            .is_err()
        );
        assert!(
            period(
                "retention",
                Some("second"),
                Some(5),
                DEFAULT_RETENTION,
                true
            )
            .is_ok()
        );
        assert!(
            period(
                "retention",
                Some("fortnight"),
                None,
                DEFAULT_RETENTION,
                true
            )
            .is_err()
        );
        assert_eq!(
            period("retention", None, None, DEFAULT_RETENTION, false).unwrap(),
            DEFAULT_RETENTION
        );
    }

    #[test]
    fn list_filters_parse() {
        let filter = ListBackups {
            state: Some("success".into()),
            running_at: Some("2024-01-01T00:00:00Z..2024-01-02T00:00:00Z".into()),
            ..Default::default()
        }
        .to_store_filter()
        .unwrap();
        assert_eq!(filter.state, Some(BackupState::Success));
        assert!(filter.running_between.is_some());
        assert!(
            ListBackups {
                state: Some("done".into()),
                ..Default::default()
            }
            .to_store_filter()
            .is_err()
        );
        assert!(
            ListBackups {
                from: Some("yesterday".into()),
                ..Default::default()
            }
            .to_store_filter()
            .is_err()
        );
    }
}
