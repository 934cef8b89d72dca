//! OpenTelemetry names as Prometheus names, by the specification's compatibility rules
//! ("OTLP Metric points to Prometheus"): characters Prometheus does not allow become `_` (runs
//! collapsed), the unit is appended as a word (`s` → `_seconds`, `By` → `_bytes`, `{request}`
//! dropped, `By/s` → `_bytes_per_second`) unless the name already ends with it, and a monotonic
//! sum gets `_total`.

/// A metric family's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Family {
    /// The family's name, unit suffix included, `_total` not.
    pub name: String,
    /// The unit word appended (or already there), for OpenMetrics' `# UNIT` line.
    pub unit: Option<String>,
}

impl Family {
    /// The family of the instrument `name` with `unit`.
    pub(crate) fn of(name: &str, unit: &str) -> Self {
        let mut family = sanitize(name, true);
        let unit = unit_word(unit);
        if let Some(unit) = &unit {
            if !family.ends_with(&format!("_{unit}")) && family != *unit {
                family.push('_');
                family.push_str(unit);
            }
        }
        // A counter's samples end with `_total`: a family name ending with it would repeat it.
        if let Some(stripped) = family.strip_suffix("_total") {
            family.truncate(stripped.len());
        }
        Self { name: family, unit }
    }
}

/// `text` with every character outside `[a-zA-Z0-9_:]` (`:` only in metric names) made `_`,
/// runs of `_` collapsed, and a leading digit prefixed with `_`.
pub(crate) fn sanitize(text: &str, colons: bool) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':') { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// An attribute key as a label name: `[a-zA-Z_][a-zA-Z0-9_]*`; a key starting with a digit gets
/// `key_` before it, as the specification says.
pub(crate) fn label_name(key: &str) -> String {
    let name = sanitize(key, false);
    match name.strip_prefix('_') {
        Some(rest) if key.starts_with(|c: char| c.is_ascii_digit()) => format!("key_{rest}"),
        _ => name,
    }
}

/// The word a UCUM unit is written as in a metric name, `None` for none (`""`, `1` is `ratio`).
fn unit_word(unit: &str) -> Option<String> {
    // Annotations (`{request}`) say what is counted, not a unit.
    let mut plain = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.trim();
    if plain.is_empty() {
        return None;
    }
    let word = match plain.split_once('/') {
        Some((numerator, denominator)) => {
            let per = per_word(denominator.trim());
            match unit_name(numerator.trim()) {
                Some(numerator) => format!("{numerator}_per_{per}"),
                None => format!("per_{per}"),
            }
        }
        None => unit_name(plain)?.to_owned(),
    };
    let word = sanitize(&word, false);
    (!word.is_empty() && word != "_").then(|| word.trim_matches('_').to_owned())
}

/// A unit's word; a unit not in the table is kept as written (sanitised by the caller).
fn unit_name(unit: &str) -> Option<&str> {
    Some(match unit {
        "" => return None,
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        "1" => "ratio",
        other => other,
    })
}

/// The word after `_per_` for a denominator.
fn per_word(unit: &str) -> String {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_unit_word_once_and_never_end_with_total() {
        let family = |name, unit| Family::of(name, unit);
        assert_eq!(family("http.server.request.duration", "s").name, "http_server_request_duration_seconds");
        assert_eq!(family("http.server.request.duration", "s").unit.as_deref(), Some("seconds"));
        assert_eq!(family("shop.orders", "{order}"), Family { name: "shop_orders".into(), unit: None });
        assert_eq!(family("process.memory.usage", "By").name, "process_memory_usage_bytes");
        assert_eq!(family("queue.size_bytes", "By").name, "queue_size_bytes");
        assert_eq!(family("io.rate", "By/s").name, "io_rate_bytes_per_second");
        assert_eq!(family("load", "1").name, "load_ratio");
        assert_eq!(family("requests_total", "").name, "requests");
        assert_eq!(family("a..b--c", "").name, "a_b_c");
        assert_eq!(family("9lives", "").name, "_9lives");
        assert_eq!(family("odd", "furlong/fortnight").name, "odd_furlong_per_fortnight");
    }

    #[test]
    fn label_names_are_sanitised() {
        assert_eq!(label_name("http.route"), "http_route");
        assert_eq!(label_name("2xx.count"), "key_2xx_count");
        assert_eq!(label_name("a:b"), "a_b");
    }
}
