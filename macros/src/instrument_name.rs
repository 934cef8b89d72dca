//! The syntax OpenTelemetry gives instrument names and units (specification `metrics/api.md`,
//! "Instrument name syntax" and "Instrument unit"), checked when `metrics!` expands so that a
//! name no backend accepts never reaches one.

/// The longest instrument name OpenTelemetry allows.
const NAME_MAX: usize = 255;
/// The longest unit OpenTelemetry allows.
const UNIT_MAX: usize = 63;

/// Why a name is not an OpenTelemetry instrument name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NameError {
    Empty,
    /// The first character is not an ASCII letter.
    FirstNotLetter,
    /// A character other than an ASCII letter, digit, `_`, `.`, `-` or `/`, at this byte.
    Character(char, usize),
    /// Longer than 255 characters: this many.
    TooLong(usize),
}

/// Checks `name` against `[A-Za-z][A-Za-z0-9_.\-/]{0,254}`.
pub(crate) fn check_name(name: &str) -> Result<(), NameError> {
    let first = name.chars().next().ok_or(NameError::Empty)?;
    if !first.is_ascii_alphabetic() {
        return Err(NameError::FirstNotLetter);
    }
    if let Some((at, c)) = name.char_indices().find(|&(_, c)| !is_name_char(c)) {
        return Err(NameError::Character(c, at));
    }
    match name.len() {
        len if len > NAME_MAX => Err(NameError::TooLong(len)),
        _ => Ok(()),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

impl NameError {
    /// The message for a wire name written as a string literal.
    pub(crate) fn message(&self, name: &str) -> String {
        match self {
            Self::Empty => "instrument name must not be empty".to_owned(),
            Self::FirstNotLetter => format!(
                "instrument name {name:?} must start with an ASCII letter (OpenTelemetry's instrument name syntax), e.g. {:?}",
                suggestion(name)
            ),
            Self::Character(c, at) => format!(
                "instrument name {name:?} is not valid: OpenTelemetry instrument names match `[A-Za-z][A-Za-z0-9_.\\-/]{{0,254}}`; {c:?} at byte {at} is not allowed"
            ),
            Self::TooLong(len) => {
                format!("instrument name is {len} characters long; OpenTelemetry allows 1 to {NAME_MAX}")
            }
        }
    }

    /// Why an identifier cannot be its instrument's name, in a few words.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Empty | Self::FirstNotLetter => "it must start with an ASCII letter".to_owned(),
            Self::Character(c, _) => format!("{c:?} is not allowed"),
            Self::TooLong(len) => format!("it is {len} characters long; at most {NAME_MAX} are allowed"),
        }
    }
}

/// A valid name close to `name`, for the example in a message: what comes before the first ASCII
/// letter dropped, every character not allowed replaced by `_`, cut to 255 characters.
pub(crate) fn suggestion(name: &str) -> String {
    let from_letter = name.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    let fixed: String = from_letter.chars().map(|c| if is_name_char(c) { c } else { '_' }).take(NAME_MAX).collect();
    if fixed.is_empty() {
        "instrument".to_owned()
    } else {
        fixed
    }
}

/// Checks a unit: ASCII, at most 63 characters (empty is allowed: no unit). Returns the message.
pub(crate) fn check_unit(unit: &str) -> Result<(), String> {
    if unit.is_ascii() && unit.len() <= UNIT_MAX {
        return Ok(());
    }
    Err(format!(
        "unit {unit:?} is not valid: units are ASCII, at most {UNIT_MAX} characters (UCUM, e.g. \"s\", \"By\", \"{{request}}\")"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_the_specification_are_accepted() {
        for name in ["orders", "shop.orders", "http.server.request.duration", "a", "A-b_c/d.e9", &"x".repeat(255)] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn each_rule_of_the_syntax_is_enforced() {
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(check_name("7orders"), Err(NameError::FirstNotLetter));
        assert_eq!(check_name("_orders"), Err(NameError::FirstNotLetter));
        assert_eq!(check_name("éclair"), Err(NameError::FirstNotLetter));
        assert_eq!(check_name("shop orders"), Err(NameError::Character(' ', 4)));
        assert_eq!(check_name("größe"), Err(NameError::Character('ö', 2)));
        assert_eq!(check_name("a:b"), Err(NameError::Character(':', 1)));
        assert_eq!(check_name(&"x".repeat(256)), Err(NameError::TooLong(256)));
    }

    #[test]
    fn every_ascii_character_is_classified_as_the_specification_says() {
        for byte in 0u8..128 {
            let c = char::from(byte);
            let allowed = c.is_ascii_alphanumeric() || "_.-/".contains(c);
            assert_eq!(check_name(&format!("a{c}")).is_ok(), allowed, "{c:?}");
        }
    }

    #[test]
    fn messages_name_the_offending_character_and_suggest_a_valid_name() {
        assert_eq!(
            NameError::Character(' ', 4).message("shop orders"),
            "instrument name \"shop orders\" is not valid: OpenTelemetry instrument names match `[A-Za-z][A-Za-z0-9_.\\-/]{0,254}`; ' ' at byte 4 is not allowed"
        );
        assert_eq!(
            NameError::FirstNotLetter.message("7orders"),
            "instrument name \"7orders\" must start with an ASCII letter (OpenTelemetry's instrument name syntax), e.g. \"orders\""
        );
        assert_eq!(
            NameError::TooLong(300).message("x"),
            "instrument name is 300 characters long; OpenTelemetry allows 1 to 255"
        );
        for name in ["7orders", "_x y", "", "123", "größe", &"é".repeat(300)] {
            assert_eq!(check_name(&suggestion(name)), Ok(()), "{name}");
        }
    }

    #[test]
    fn units_are_ascii_and_at_most_63_characters() {
        for unit in ["", "s", "By", "{request}", "Cel", &"u".repeat(63)] {
            assert_eq!(check_unit(unit), Ok(()), "{unit}");
        }
        assert!(check_unit(&"u".repeat(64)).is_err());
        assert_eq!(
            check_unit("µs"),
            Err("unit \"µs\" is not valid: units are ASCII, at most 63 characters (UCUM, e.g. \"s\", \"By\", \"{request}\")".to_owned())
        );
    }
}
