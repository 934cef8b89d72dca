//! Which records are kept, by level and target: `SPANSCOPE_LOGS_FILTER`, in the directive
//! syntax Rust users know from `RUST_LOG` (env_logger, tracing-subscriber's `EnvFilter`).
//!
//! A filter is a comma-separated list of directives: `level` sets the level of every target,
//! `target=level` the level of a target and the modules under it (`my_app::db` covers
//! `my_app::db::pool`, not `my_app::dbx`), and a bare `target` passes all of that target's
//! records. The most specific target wins; with no directive for a record's target, the
//! default level applies (`info` when none is given). `off` passes nothing. Levels are
//! `error`, `warn`, `info`, `debug`, `trace`, in any case.

use crate::config::log_level::Level;
use crate::config::ConfigError;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The level passed when no directive names the target; `None` passes nothing.
    default: Option<Level>,
    /// Target directives, most specific (longest) first.
    targets: Vec<(String, Option<Level>)>,
}

impl Default for Filter {
    /// `info` and above, everywhere.
    fn default() -> Self {
        Self { default: Some(Level::Info), targets: Vec::new() }
    }
}

impl Filter {
    /// Reads `text`, the value of `variable`; an error names the variable and the directive.
    pub(crate) fn parse(variable: &'static str, text: &str) -> Result<Self, ConfigError> {
        let mut filter = Self::default();
        let mut default = None;
        for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let invalid = |why: &str| {
                ConfigError::new(
                    variable,
                    text,
                    format!("comma-separated directives `level`, `target=level` or `target` ({why}: `{directive}`)"),
                )
            };
            match directive.split_once('=') {
                Some((target, level)) => {
                    let target = target.trim();
                    if target.is_empty() || !is_target(target) {
                        return Err(invalid("not a target"));
                    }
                    let level = parse_level(level.trim()).ok_or_else(|| invalid("not a level"))?;
                    filter.set_target(target, level);
                }
                None => match parse_level(directive) {
                    Some(level) => default = Some(level),
                    None if is_target(directive) => filter.set_target(directive, Some(Level::Trace)),
                    None => return Err(invalid("not a level or a target")),
                },
            }
        }
        if let Some(level) = default {
            filter.default = level;
        }
        filter.targets.sort_by_key(|(target, _)| std::cmp::Reverse(target.len()));
        Ok(filter)
    }

    /// A later directive for the same target replaces an earlier one, as in env_logger.
    fn set_target(&mut self, target: &str, level: Option<Level>) {
        self.targets.retain(|(t, _)| t != target);
        self.targets.push((target.to_owned(), level));
    }

    /// Whether a record of `level` from `target` passes.
    pub(crate) fn passes(&self, level: Level, target: &str) -> bool {
        let allowed =
            self.targets.iter().find(|(prefix, _)| covers(prefix, target)).map_or(self.default, |(_, level)| *level);
        allowed.is_some_and(|allowed| level <= allowed)
    }

    /// The most verbose level any record can pass with, `None` if none passes: what a facade's
    /// own level check (`log::max_level`) may stop before a record is made.
    pub(crate) fn max_level(&self) -> Option<Level> {
        self.targets.iter().map(|(_, level)| *level).chain([self.default]).max().flatten()
    }
}

/// `off` (no level), or a level.
fn parse_level(text: &str) -> Option<Option<Level>> {
    if text.eq_ignore_ascii_case("off") {
        return Some(None);
    }
    Level::named(text).map(Some)
}

/// Module paths and targets: letters, digits, `_`, `-`, `.`, `:`.
fn is_target(text: &str) -> bool {
    text.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Whether the directive for `prefix` covers `target`: the same, or a module under it.
fn covers(prefix: &str, target: &str) -> bool {
    target.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Filter {
        Filter::parse("SPANSCOPE_LOGS_FILTER", text).unwrap()
    }

    #[test]
    fn default_passes_info_and_above() {
        let filter = Filter::default();
        assert!(filter.passes(Level::Info, "app") && filter.passes(Level::Error, "app"));
        assert!(!filter.passes(Level::Debug, "app"));
        assert_eq!(filter.max_level(), Some(Level::Info));
    }

    #[test]
    fn the_most_specific_target_wins() {
        let filter = parse("warn, app=debug, app::db=error, hyper=off, noisy");
        assert!(filter.passes(Level::Debug, "app") && filter.passes(Level::Debug, "app::http"));
        assert!(!filter.passes(Level::Warn, "app::db::pool") && filter.passes(Level::Error, "app::db"));
        assert!(!filter.passes(Level::Info, "appx"), "a prefix covers modules, not longer names");
        assert!(!filter.passes(Level::Info, "other") && filter.passes(Level::Warn, "other"));
        assert!(!filter.passes(Level::Error, "hyper::proto"));
        assert!(filter.passes(Level::Trace, "noisy"));
        assert_eq!(filter.max_level(), Some(Level::Trace));
        assert_eq!(parse("off").max_level(), None);
        assert_eq!(parse("OFF,app=Info").max_level(), Some(Level::Info));
        assert!(parse("app=debug,app=warn").passes(Level::Warn, "app"), "a later directive replaces");
        assert!(!parse("app=debug,app=warn").passes(Level::Info, "app"));
        assert_eq!(parse(" , "), Filter::default(), "no directive: the default");
    }

    #[test]
    fn bad_directives_name_the_variable_and_the_directive() {
        for text in ["app=loud", "=info", "a b", "app=debug=x", "/regex"] {
            let error = Filter::parse("SPANSCOPE_LOGS_FILTER", text).unwrap_err().to_string();
            assert!(error.contains("SPANSCOPE_LOGS_FILTER"), "{error}");
        }
        let error = Filter::parse("SPANSCOPE_LOGS_FILTER", "info,app=loud").unwrap_err().to_string();
        assert!(error.contains("`app=loud`"), "{error}");
    }
}
