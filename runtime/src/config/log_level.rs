//! Levels of log records, as Rust's logging facades name them, and their OpenTelemetry
//! severities.

/// A record's level, from the most to the least severe (`log` and `tracing` have the same five).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    /// The levels, most severe first.
    pub(crate) const ALL: [Self; 5] = [Self::Error, Self::Warn, Self::Info, Self::Debug, Self::Trace];

    /// OpenTelemetry's severity number: the first of the level's range (the data model's
    /// mapping, and OpenTelemetry's own `log` and `tracing` appenders').
    pub(crate) fn severity_number(self) -> i32 {
        match self {
            Self::Trace => 1,
            Self::Debug => 5,
            Self::Info => 9,
            Self::Warn => 13,
            Self::Error => 17,
        }
    }

    /// The severity text: the level's name as the facades print it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warn => "WARN",
            Self::Info => "INFO",
            Self::Debug => "DEBUG",
            Self::Trace => "TRACE",
        }
    }

    /// The level named `name`, in any case (`warning` too, as env_logger accepts).
    pub(crate) fn named(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(name))
            .or_else(|| name.eq_ignore_ascii_case("warning").then_some(Self::Warn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_start_their_ranges_and_names_read_back() {
        let numbers: Vec<i32> = Level::ALL.iter().map(|l| l.severity_number()).collect();
        assert_eq!(numbers, [17, 13, 9, 5, 1]);
        for level in Level::ALL {
            assert_eq!(Level::named(&level.as_str().to_ascii_lowercase()), Some(level));
        }
        assert_eq!(Level::named("Warning"), Some(Level::Warn));
        assert_eq!(Level::named("verbose"), None);
        assert!(Level::Error < Level::Trace, "ordered by verbosity");
    }
}
