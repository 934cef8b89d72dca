//! Reading variables: the one place a variable's text becomes a value.
//!
//! Every variable of a kind reads alike (booleans, choices, lists, `key=value` pairs, whole
//! numbers, durations, folders), and every value is bounded here, where it is read, so that
//! nothing downstream meets a number it cannot use. Every error names its variable.

use std::ffi::OsString;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;
use crate::encoding::percent;

/// A set variable: its name and its value (never blank).
pub(crate) type SetVar = (&'static str, String);

/// The variables settings are read from: the process's environment, then the defaults given
/// with `Config::var`.
pub(crate) struct Vars<'a> {
    environment: &'a dyn Fn(&str) -> Option<OsString>,
    defaults: Vec<(String, String)>,
}

impl<'a> Vars<'a> {
    pub(crate) fn new(environment: &'a dyn Fn(&str) -> Option<OsString>, defaults: Vec<(String, String)>) -> Self {
        Self { environment, defaults }
    }

    /// `name`'s value, if it is set and not blank (blank is unset, as OpenTelemetry specifies).
    ///
    /// A value that is not UTF-8 is an error: taken as unset, `OTEL_SDK_DISABLED=true\xff`
    /// would do the opposite of what was meant. It is not shown: it may hold credentials.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<SetVar>, ConfigError> {
        let set = |value: &str| !value.trim().is_empty();
        if let Some(value) = (self.environment)(name) {
            let value = value.into_string().map_err(|_| ConfigError::secret(name, "UTF-8 text"))?;
            if set(&value) {
                return Ok(Some((name, value)));
            }
        }
        let default = self.defaults.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value);
        Ok(default.filter(|value| set(value)).map(|value| (name, value.clone())))
    }

    /// The first of `names` that is set: a signal's own variable before its generic one.
    pub(crate) fn first(&self, names: &[&'static str]) -> Result<Option<SetVar>, ConfigError> {
        for name in names {
            if let Some(var) = self.get(name)? {
                return Ok(Some(var));
            }
        }
        Ok(None)
    }

    /// `name`'s value read by `parse`, if it is set.
    pub(crate) fn read<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&SetVar) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name)?.as_ref().map(parse).transpose()
    }

    /// The first of `names` that is set, read by `parse`.
    pub(crate) fn read_first<T>(
        &self,
        names: &[&'static str],
        parse: impl FnOnce(&SetVar) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        self.first(names)?.as_ref().map(parse).transpose()
    }
}

#[cfg(test)]
impl Vars<'static> {
    /// `pairs` as `Config::var` gives them, in an empty environment.
    pub(crate) fn of(pairs: &[(&str, &str)]) -> Self {
        fn unset(_: &str) -> Option<OsString> {
            None
        }
        Self::new(&unset, pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect())
    }
}

/// The spellings of every boolean variable: OpenTelemetry's `true` and `false`, in any case.
pub(crate) const BOOLEAN: &[(&str, bool)] = &[("true", true), ("false", false)];

/// `true` or `false`, in any case.
pub(crate) fn parse_bool(var: &SetVar) -> Result<bool, ConfigError> {
    parse_choice(var, BOOLEAN)
}

/// One of `choices`, by name in any case.
pub(crate) fn parse_choice<T: Copy>((name, value): &SetVar, choices: &[(&str, T)]) -> Result<T, ConfigError> {
    choose(choices, value.trim()).ok_or_else(|| ConfigError::new(name, value, format!("one of {}", names(choices))))
}

/// A comma-separated list of `choices` (in any case), each kept once, in the order given.
/// Empty items are skipped; `none` stands for no item, and a list must say it: one of only
/// commas is refused.
pub(crate) fn parse_list<T: Copy + PartialEq>(
    (name, value): &SetVar,
    choices: &[(&str, T)],
) -> Result<Vec<T>, ConfigError> {
    let invalid = || ConfigError::new(name, value, format!("a comma-separated list of {}, none", names(choices)));
    let mut items = items(value).peekable();
    if items.peek().is_none() {
        return Err(invalid());
    }
    let mut list = Vec::new();
    for item in items.filter(|item| !item.eq_ignore_ascii_case("none")) {
        let choice = choose(choices, item).ok_or_else(invalid)?;
        if !list.contains(&choice) {
            list.push(choice);
        }
    }
    Ok(list)
}

fn choose<T: Copy>(choices: &[(&str, T)], name: &str) -> Option<T> {
    choices.iter().find(|(choice, _)| choice.eq_ignore_ascii_case(name)).map(|(_, value)| *value)
}

fn names<T>(choices: &[(&str, T)]) -> String {
    choices.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// The items of a comma-separated list, trimmed, empty ones skipped.
pub(crate) fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|item| !item.is_empty())
}

/// How the keys and values of a `key=value` list are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairText {
    /// As they are.
    Plain,
    /// Percent-encoded, as OpenTelemetry's lists are (W3C Baggage's encoding).
    PercentEncoded,
}

/// Comma-separated `key=value` pairs, trimmed, keys not empty, in the order given. A list of no
/// pair (only commas) is an empty one: unlike a list of choices, it has no `none` to say so.
pub(crate) fn parse_pairs((name, value): &SetVar, text: PairText) -> Result<Vec<(String, String)>, ConfigError> {
    let expected = match text {
        PairText::Plain => "comma-separated key=value pairs",
        PairText::PercentEncoded => "comma-separated key=value pairs, percent-encoded",
    };
    let decode = |part: &str| match text {
        PairText::Plain => Some(part.trim().to_owned()),
        PairText::PercentEncoded => percent::decode(part.trim()),
    };
    items(value)
        .map(|pair| {
            let (key, value) = pair.split_once('=').filter(|(key, _)| !key.trim().is_empty())?;
            Some((decode(key)?, decode(value)?))
        })
        .map(|pair| pair.ok_or_else(|| ConfigError::new(name, value, expected)))
        .collect()
}

/// Whether `text` can travel as an HTTP header or gRPC metadata value: printable ASCII, gRPC's
/// `ASCII-Value` (the `http` crate alone would also pass bytes past ASCII, which gRPC servers
/// refuse or garble).
pub(crate) fn is_header_text(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The most any count may be (2²⁴): queue and batch sizes, backlogs, spans per segment,
/// megabytes. Each is something spanscope holds or allocates, and this bound keeps it possible.
pub(crate) const MAX_COUNT: usize = 1 << 24;

/// The bound OpenTelemetry sets on its whole-number variables (2³¹ − 1): its durations and
/// timeouts are milliseconds up to this, about 24.8 days.
pub(crate) const OTEL_MAX_MILLIS: u64 = i32::MAX as u64;

/// The longest of spanscope's own durations, and of SkyWalking's: an hour.
pub(crate) const MAX_SECONDS: u64 = 3600;

/// What an OpenTelemetry timeout of 0 means: no limit, taken as the longest timeout there is
/// (the specification allows "a very large duration" for it).
pub(crate) const NO_LIMIT: Duration = Duration::from_millis(OTEL_MAX_MILLIS);

/// A whole number in `range`.
pub(crate) fn parse_count<T>(var: &SetVar, range: RangeInclusive<T>) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + Display,
{
    parse_number(var, range, "a whole number")
}

/// A whole number of milliseconds in `range`.
pub(crate) fn parse_millis(var: &SetVar, range: RangeInclusive<u64>) -> Result<Duration, ConfigError> {
    parse_number(var, range, "a whole number of milliseconds").map(Duration::from_millis)
}

/// A whole number of seconds in `range`.
pub(crate) fn parse_seconds(var: &SetVar, range: RangeInclusive<u64>) -> Result<Duration, ConfigError> {
    parse_number(var, range, "a whole number of seconds").map(Duration::from_secs)
}

/// An OpenTelemetry timeout: milliseconds up to [`OTEL_MAX_MILLIS`], 0 meaning no limit
/// ([`NO_LIMIT`]), as OpenTelemetry's configuration specification has it.
pub(crate) fn parse_timeout(var: &SetVar) -> Result<Duration, ConfigError> {
    let millis = parse_number(var, 0..=OTEL_MAX_MILLIS, "a whole number of milliseconds (0: no limit)")?;
    Ok(if millis == 0 { NO_LIMIT } else { Duration::from_millis(millis) })
}

fn parse_number<T>((name, value): &SetVar, range: RangeInclusive<T>, what: &str) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + Display,
{
    value
        .trim()
        .parse::<T>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| ConfigError::new(name, value, format!("{what} from {} to {}", range.start(), range.end())))
}

/// The longest name in a path Linux file systems take (`NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;
/// The longest folder path: Linux's `PATH_MAX` (4096 bytes with the final NUL), less room for
/// the names of the files written in the folder.
const MAX_FOLDER_BYTES: usize = 4000;

/// A folder's path, refused where no file could ever be written in it: a name in it too long, a
/// path too long, a NUL byte.
pub(crate) fn parse_folder((name, value): &SetVar) -> Result<PathBuf, ConfigError> {
    let too_long = value.len() > MAX_FOLDER_BYTES || value.split('/').any(|part| part.len() > MAX_NAME_BYTES);
    if too_long || value.contains('\0') {
        return Err(ConfigError::new(
            name,
            value,
            format!("a folder path of at most {MAX_FOLDER_BYTES} bytes, each name in it at most {MAX_NAME_BYTES}"),
        ));
    }
    Ok(PathBuf::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(value: &str) -> SetVar {
        ("SPANSCOPE_TEST", value.to_owned())
    }

    #[test]
    #[cfg(unix)]
    fn a_value_that_is_not_utf8_is_an_error_naming_its_variable() {
        use std::os::unix::ffi::OsStringExt;
        let environment = |name: &str| (name == "OTEL_SDK_DISABLED").then(|| OsString::from_vec(b"true\xff".to_vec()));
        let vars = Vars::new(&environment, vec![("OTEL_SDK_DISABLED".to_owned(), "false".to_owned())]);
        let err = vars.get("OTEL_SDK_DISABLED").unwrap_err();
        assert_eq!(err.variable(), "OTEL_SDK_DISABLED");
        assert!(err.to_string().contains("UTF-8"), "{err}");
        assert_eq!(vars.get("OTEL_SERVICE_NAME").unwrap(), None);
    }

    #[test]
    fn blank_is_unset_and_the_environment_wins_over_defaults() {
        let environment = |name: &str| match name {
            "BLANK" => Some(OsString::from("  ")),
            "SET" => Some(OsString::from("env")),
            _ => None,
        };
        let defaults = [("BLANK", "default"), ("SET", "default"), ("ONLY_DEFAULT", "a"), ("ONLY_DEFAULT", "")];
        let vars = Vars::new(&environment, defaults.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        assert_eq!(vars.get("BLANK").unwrap(), Some(("BLANK", "default".to_owned())));
        assert_eq!(vars.get("SET").unwrap(), Some(("SET", "env".to_owned())));
        assert_eq!(vars.get("ONLY_DEFAULT").unwrap(), None, "the last default wins, blank included");
        assert_eq!(vars.first(&["UNSET", "SET"]).unwrap(), Some(("SET", "env".to_owned())));
    }

    #[test]
    fn booleans_choices_and_lists() {
        assert!(parse_bool(&var(" TRUE ")).unwrap());
        assert!(!parse_bool(&var("False")).unwrap());
        for bad in ["on", "1", "yes", "true\u{0}"] {
            assert_eq!(parse_bool(&var(bad)).unwrap_err().variable(), "SPANSCOPE_TEST", "{bad}");
        }
        let choices = [("a", 1), ("b", 2)];
        assert_eq!(parse_list(&var("b, A,,b ,none"), &choices).unwrap(), [2, 1]);
        assert!(parse_list(&var("none"), &choices).unwrap().is_empty());
        for bad in [",", " , ", "a,c"] {
            let err = parse_list(&var(bad), &choices).unwrap_err();
            assert!(err.to_string().contains("a, b, none"), "{err}");
        }
    }

    #[test]
    fn pairs_are_trimmed_and_decoded() {
        let pairs = parse_pairs(&var(" k%20ey = v%2Cal , ,x="), PairText::PercentEncoded).unwrap();
        assert_eq!(pairs, [("k ey".to_owned(), "v,al".to_owned()), ("x".to_owned(), String::new())]);
        assert_eq!(parse_pairs(&var("k=50%"), PairText::Plain).unwrap(), [("k".to_owned(), "50%".to_owned())]);
        assert!(parse_pairs(&var(","), PairText::Plain).unwrap().is_empty());
        for bad in ["novalue", "=v", "k=%zz", "k=%+f", "k=%ff", "k=%4"] {
            assert!(parse_pairs(&var(bad), PairText::PercentEncoded).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_and_durations_are_bounded() {
        assert_eq!(parse_count(&var(" 7 "), 1..=10u32).unwrap(), 7);
        for bad in ["0", "11", "-1", "1.5", "7 apples", "18446744073709551616"] {
            let err = parse_count(&var(bad), 1..=10u32).unwrap_err();
            assert!(err.to_string().contains("from 1 to 10"), "{err}");
        }
        assert_eq!(parse_millis(&var("250"), 0..=1000).unwrap(), Duration::from_millis(250));
        assert_eq!(parse_seconds(&var("3600"), 1..=MAX_SECONDS).unwrap(), Duration::from_secs(3600));
        assert!(parse_seconds(&var("3601"), 1..=MAX_SECONDS).is_err());
        assert_eq!(parse_timeout(&var("0")).unwrap(), NO_LIMIT);
        assert_eq!(parse_timeout(&var("2147483647")).unwrap(), NO_LIMIT);
        assert!(parse_timeout(&var("2147483648")).is_err());
        assert!(parse_timeout(&var("400000000000000")).is_err());
    }

    #[test]
    fn folders_that_could_hold_no_file_are_refused() {
        assert_eq!(parse_folder(&var("out/traces")).unwrap(), PathBuf::from("out/traces"));
        assert!(parse_folder(&var(&format!("/tmp/{}", "d".repeat(255)))).is_ok());
        assert!(parse_folder(&var(&format!("/tmp/{}", "d".repeat(256)))).is_err());
        assert!(parse_folder(&var(&"d/".repeat(2001))).is_err());
        assert!(parse_folder(&var("out\0dir")).is_err());
    }
}
