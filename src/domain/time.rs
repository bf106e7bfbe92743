//! Time: the one [`Timestamp`] type (RFC 3339 in and out) and the one [`Clock`], injected
//! so that tests are deterministic.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, UTC. Written as RFC 3339 (`2024-05-01T12:00:00Z`, with a fraction only when
/// it has one); read from RFC 3339 with any offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(jiff::Timestamp::UNIX_EPOCH);

    /// Now, from the system clock, truncated to whole seconds.
    pub fn now() -> Timestamp {
        Timestamp::from_unix_seconds(jiff::Timestamp::now().as_second())
    }

    /// `seconds` after the epoch (clamped to the representable range).
    pub fn from_unix_seconds(seconds: i64) -> Timestamp {
        let clamped = seconds.clamp(
            jiff::Timestamp::MIN.as_second(),
            jiff::Timestamp::MAX.as_second(),
        );
        Timestamp(jiff::Timestamp::from_second(clamped).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
    }

    /// Seconds since the epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.as_second()
    }

    /// Reads RFC 3339 text (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.5+02:00`).
    pub fn parse(text: &str) -> Option<Timestamp> {
        jiff::Timestamp::from_str(text.trim()).ok().map(Timestamp)
    }

    /// This instant moved by `seconds` (negative: earlier), clamped to the range.
    #[must_use]
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(self.unix_seconds().saturating_add(seconds))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time")))
    }
}

/// The source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, whole seconds.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always answers the same time, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl FixedClock {
    /// A fixed clock at an RFC 3339 time; the epoch when `text` does not parse.
    pub fn at(text: &str) -> FixedClock {
        FixedClock(Timestamp::parse(text).unwrap_or(Timestamp::EPOCH))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_in_whole_seconds() {
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
        // A leap day.
        assert_eq!(
            Timestamp::from_unix_seconds(1_709_210_096).to_string(),
            "2024-02-29T12:34:56Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let a = Timestamp::parse("2024-05-01T14:00:00+02:00");
        let b = Timestamp::parse("2024-05-01T12:00:00Z");
        assert!(a.is_some());
        assert_eq!(a, b);
        let c = Timestamp::parse("2024-05-01T12:00:00.5Z");
        assert!(c > b);
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn serde_round_trips_as_text() {
        let t = Timestamp::from_unix_seconds(86_400);
        let text = serde_json::to_string(&t).unwrap_or_default();
        assert_eq!(text, "\"1970-01-02T00:00:00Z\"");
        let back: Option<Timestamp> = serde_json::from_str(&text).ok();
        assert_eq!(back, Some(t));
    }
}
