//! The lines the runtime writes to standard error (what it wrote at exit, a backend's trouble, a
//! missed shutdown deadline), and the one place every such line passes through.
//!
//! A line may carry text a backend sent (an error body, a gRPC status message) and that text
//! may echo the credentials the exporter sent, or try to forge lines and drive the terminal. So
//! every line is, in this order:
//! - redacted: each registered secret ([`hide_secrets`]), in every form the exporters send it or
//!   a backend is likely to echo it, becomes [`REDACTED`];
//! - escaped: control characters, line and paragraph separators and the invisible and
//!   bidirectional formatting characters are written as Rust escapes (`\n`, `\u{1b}`), so one
//!   line stays one line and draws nothing;
//! - bounded: past [`MAX_LINE`] bytes, its middle is cut and a marker says how many bytes were,
//!   keeping the start (who is speaking) and the end (what spanscope does about it).
//!
//! Not `eprintln!`, which panics when standard error is gone (a pipe whose reader has exited, a
//! terminal hung up): that would take down the reporter thread, or the thread flushing before a
//! signal ends the process, and lose what it was delivering. A line that cannot be written is
//! dropped instead.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;
use std::ops::Range;
use std::sync::{PoisonError, RwLock};

/// Like `eprintln!`, but redacted, escaped and bounded, and a line that cannot be written is
/// dropped.
macro_rules! stderr_line {
    ($($arg:tt)*) => {
        $crate::stderr::write_line(::std::format_args!($($arg)*))
    };
}

/// What a secret is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// The longest line written, in bytes after escaping (the marker of a cut comes on top).
pub(crate) const MAX_LINE: usize = 1024;

/// How much of a cut line's end is kept: where a line says what spanscope does next.
const KEPT_END: usize = 256;

/// Forms of a secret shorter than this are not hidden on their own: they would hide ordinary
/// words everywhere (a header `x-debug=1` would hide every `1`), and no credential is that
/// short. The longer forms that contain them still are.
const MIN_SECRET: usize = 4;

/// Every form of every secret registered in this process. Kept after a shutdown: a line written
/// late (the last lane giving up, a thread of an earlier `init`) still hides them.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Writes one line: redacted, escaped and bounded.
pub(crate) fn write_line(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    let mut line = {
        let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
        sanitize(&text, &secrets)
    };
    line.push('\n');
    // One write for the whole line, so lines of several threads do not interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Hides `credentials` (the header values and tokens the exporters send) from every line
/// written from now on.
pub(crate) fn hide_secrets<'a>(credentials: impl IntoIterator<Item = &'a str>) {
    let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    for form in credentials.into_iter().flat_map(forms) {
        if form.len() >= MIN_SECRET && !secrets.contains(&form) {
            secrets.push(form);
        }
    }
}

/// The forms in which a line may carry `credential`: as sent; each word after the first (the
/// token after an authorization scheme: `Bearer t` gives `t`); for `Basic`, the decoded
/// `user:password` and the password alone; and each of those percent-encoded, as a URL, a form
/// or a percent-encoded configuration value carries it.
fn forms(credential: &str) -> Vec<String> {
    let credential = credential.trim();
    let mut forms = vec![credential.to_owned()];
    let mut words = credential.split_ascii_whitespace();
    let scheme = words.next().unwrap_or_default();
    for word in words {
        forms.push(word.to_owned());
        if scheme.eq_ignore_ascii_case("basic") {
            if let Some(decoded) = crate::encoding::base64::decode_str(word.as_bytes()) {
                if let Some((_, password)) = decoded.split_once(':') {
                    forms.push(password.to_owned());
                }
                forms.push(decoded);
            }
        }
    }
    let encoded: Vec<String> =
        forms.iter().map(|form| crate::encoding::percent::encode(form)).filter(|e| !forms.contains(e)).collect();
    forms.extend(encoded);
    forms
}

/// `text` as it is written: redacted, escaped, bounded.
fn sanitize(text: &str, secrets: &[String]) -> String {
    bound(escape(&redact(text, secrets)))
}

/// `text` with every occurrence of every secret replaced by one [`REDACTED`] per run of
/// overlapping or adjacent occurrences, so that no part of an overlap shows.
fn redact<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut hidden: Vec<Range<usize>> = Vec::new();
    for secret in secrets {
        let mut from = 0;
        while let Some(found) = text[from..].find(secret.as_str()) {
            let start = from + found;
            hidden.push(start..start + secret.len());
            // Overlapping occurrences too: the next search starts one character further.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if hidden.is_empty() {
        return Cow::Borrowed(text);
    }
    hidden.sort_by_key(|range| range.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(hidden.len());
    for range in hidden {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut shown = 0;
    for range in merged {
        out.push_str(&text[shown..range.start]);
        out.push_str(REDACTED);
        shown = range.end;
    }
    out.push_str(&text[shown..]);
    Cow::Owned(out)
}

/// Whether `c` is written as an escape: it moves the cursor, changes the terminal's state or the
/// text's direction, or shows nothing.
pub(crate) fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// `text` with the characters [`is_escaped`] picks written as `escape_debug` writes them
/// (`\n`, `\u{1b}`); everything else as it is.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// `line` if it is at most [`MAX_LINE`] bytes; else its start and its last [`KEPT_END`] bytes
/// around a marker of how many bytes were cut.
fn bound(line: String) -> String {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut head = MAX_LINE - KEPT_END;
    while !line.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = line.len() - KEPT_END;
    while !line.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}[... {} bytes cut ...]{}", &line[..head], tail - head, &line[tail..])
}

/// A panic's message: its payload, when it is text.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(credentials: &[&str]) -> Vec<String> {
        credentials.iter().flat_map(|c| forms(c)).filter(|f| f.len() >= MIN_SECRET).collect()
    }

    #[test]
    fn every_form_of_a_credential_is_hidden() {
        let bearer = secrets(&["Bearer s3cr3t+t0k/en"]);
        for echo in ["Bearer s3cr3t+t0k/en", "s3cr3t+t0k/en", "s3cr3t%2Bt0k%2Fen", "Bearer%20s3cr3t%2Bt0k%2Fen"] {
            let line = sanitize(&format!("HTTP 400: got {echo}, refused"), &bearer);
            assert!(!line.contains("s3cr3t") && line.contains("got <redacted>, refused"), "{line}");
        }
        // `Basic` and the Base64 of `user:pa ss`, as Pyroscope's exporter sends it.
        let basic = secrets(&["Basic dXNlcjpwYSBzcw=="]);
        for echo in ["Basic dXNlcjpwYSBzcw==", "dXNlcjpwYSBzcw%3D%3D", "user:pa ss", "pa ss", "user%3Apa%20ss"] {
            let line = sanitize(&format!("credentials {echo} refused"), &basic);
            assert_eq!(line, "credentials <redacted> refused", "{echo}");
        }
        assert_eq!(sanitize("user is not a secret", &basic), "user is not a secret");
    }

    #[test]
    fn overlapping_and_adjacent_secrets_leave_nothing_between() {
        let secrets = ["abcdef".to_owned(), "defghi".to_owned(), "jklm".to_owned()];
        assert_eq!(redact("x abcdefghijklm y", &secrets), "x <redacted> y");
        assert_eq!(redact("aaaaaa", &["aaaa".to_owned()]), "<redacted>");
        assert!(matches!(redact("nothing here", &secrets), Cow::Borrowed(_)));
        assert_eq!(redact("é abcdef é", &secrets), "é <redacted> é");
    }

    #[test]
    fn short_secrets_are_hidden_only_inside_longer_forms() {
        let secrets = secrets(&["Basic dTpwdw=="]);
        assert!(!secrets.iter().any(|s| s == "pw"), "{secrets:?}");
        assert_eq!(sanitize("u:pw and pw", &secrets), "<redacted> and pw");
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        let line = sanitize("refused\u{1b}[31m\r\nspanscope: forged\u{9b}1m\t\u{202e}cba\u{200b}\u{2028}ok", &[]);
        assert_eq!(line, r"refused\u{1b}[31m\r\nspanscope: forged\u{9b}1m\t\u{202e}cba\u{200b}\u{2028}ok");
        assert_eq!(sanitize(r#"quotes "kept", a \ too, and 中文"#, &[]), r#"quotes "kept", a \ too, and 中文"#);
    }

    #[test]
    fn long_lines_keep_their_start_and_end_around_a_marker() {
        let line = format!("spanscope: otlp: {}; retrying", "é".repeat(3000));
        let written = sanitize(&line, &[]);
        assert!(written.len() <= MAX_LINE + 40, "{}", written.len());
        assert!(written.starts_with("spanscope: otlp: é") && written.ends_with("é; retrying"), "{written}");
        let marker = written.split("[... ").nth(1).and_then(|rest| rest.split(" bytes cut ...]").next()).unwrap();
        let cut: usize = marker.parse().unwrap();
        assert_eq!(written.len() - "[...  bytes cut ...]".len() - marker.len() + cut, line.len());
        let escapes = "\u{1b}".repeat(400);
        let written = sanitize(&escapes, &[]);
        assert!(written.len() <= MAX_LINE + 40 && !written.contains('\u{1b}'), "{written}");
        assert_eq!(sanitize("short", &[]), "short");
    }
}
