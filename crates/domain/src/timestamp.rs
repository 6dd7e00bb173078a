//! Timestamps: stored as unix milliseconds, rendered as ISO-8601 UTC with milliseconds
//! (`2023-10-25T16:54:12.879Z`), the format PlanetScale's payloads use.

use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time with millisecond precision.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }
    pub fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }
    pub fn unix_millis(self) -> i64 {
        self.0
    }
    /// This time plus `seconds` (saturating, so a huge ttl cannot overflow).
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }
    /// This time plus `millis` (saturating).
    pub fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }
    /// ISO-8601 UTC with exactly three fractional digits and a `Z` suffix.
    pub fn to_iso8601(self) -> String {
        let millis = self.0.rem_euclid(1000);
        let seconds = self.0.div_euclid(1000);
        let moment =
            OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let (year, month, day) = (moment.year(), moment.month() as u8, moment.day());
        let (hour, minute, second) = (moment.hour(), moment.minute(), moment.second());
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    }
    /// Parses an RFC 3339 timestamp (as clients send in filters).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let moment = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        Some(Self((moment.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_planetscale_format() {
        let ts = Timestamp::from_unix_millis(1_698_252_852_879);
        assert_eq!(ts.to_iso8601(), "2023-10-25T16:54:12.879Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2023-10-25T16:54:12.879Z"),
            Some(ts)
        );
    }

    #[test]
    fn plus_seconds_saturates() {
        let ts = Timestamp::from_unix_millis(i64::MAX - 5);
        assert_eq!(ts.plus_seconds(i64::MAX).unix_millis(), i64::MAX);
    }
}
