//! One declaration of `metrics!`, parsed into a typed [`Instrument`] before any code is made:
//! `attrs vis name: Kind<value> (= "wire.name")? ({ setting, .. })?`, every mistake reported at
//! its token. A mistake in a setting leaves the rest of the declaration standing; a wrong kind or
//! value type is reported and expanded as the likely one, so that uses of the instrument raise no
//! errors of their own.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{token, Attribute, Ident, Lit, LitStr, Path, Token, Type, Visibility};

use crate::errors::Errors;
use crate::instrument_name::{check_name, check_unit, suggestion};
use crate::list;
use crate::misspelling::is_misspelling;

/// An instrument kind, as OpenTelemetry names it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    UpDownCounter,
    Histogram,
    Gauge,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Counter,
        Kind::UpDownCounter,
        Kind::Histogram,
        Kind::Gauge,
        Kind::ObservableCounter,
        Kind::ObservableUpDownCounter,
        Kind::ObservableGauge,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::UpDownCounter => "UpDownCounter",
            Kind::Histogram => "Histogram",
            Kind::Gauge => "Gauge",
            Kind::ObservableCounter => "ObservableCounter",
            Kind::ObservableUpDownCounter => "ObservableUpDownCounter",
            Kind::ObservableGauge => "ObservableGauge",
        }
    }

    /// "a `Counter`", "an `UpDownCounter`".
    fn with_article(self) -> String {
        let article = if matches!(self, Kind::UpDownCounter) || self.is_observable() { "an" } else { "a" };
        format!("{article} `{}`", self.name())
    }

    /// "A `Counter`", "An `UpDownCounter`", to begin a sentence.
    fn with_capital_article(self) -> String {
        let lower = self.with_article();
        lower[..1].to_uppercase() + &lower[1..]
    }

    pub(crate) fn is_observable(self) -> bool {
        matches!(self, Kind::ObservableCounter | Kind::ObservableUpDownCounter | Kind::ObservableGauge)
    }

    /// The value types the kind records, the first one being the most common.
    fn values(self) -> &'static [ValueType] {
        match self {
            Kind::Counter | Kind::Histogram | Kind::ObservableCounter => &[ValueType::U64, ValueType::F64],
            Kind::UpDownCounter | Kind::ObservableUpDownCounter => &[ValueType::I64, ValueType::F64],
            Kind::Gauge | Kind::ObservableGauge => &[ValueType::I64, ValueType::U64, ValueType::F64],
        }
    }

    /// The message for a value type the kind does not record.
    fn value_error(self) -> String {
        let types: Vec<String> = self.values().iter().map(|value| format!("`{}`", value.name())).collect();
        let types = match types.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        let advice = match self {
            Kind::Counter => ": it only goes up; for values that go down, use `UpDownCounter<i64>`",
            Kind::ObservableCounter => ": it only goes up; for values that go down, use `ObservableUpDownCounter<i64>`",
            Kind::UpDownCounter => ": for counts that only go up, use `Counter<u64>`",
            Kind::ObservableUpDownCounter => ": for counts that only go up, use `ObservableCounter<u64>`",
            Kind::Histogram => ": for negative values, use `Histogram<f64>`",
            Kind::Gauge | Kind::ObservableGauge => "",
        };
        format!("{} records {types}{advice}", self.with_article())
    }

    /// The settings the kind takes.
    fn settings(self) -> &'static [&'static str] {
        match self {
            Kind::Histogram => &["unit", "attributes", "buckets"],
            kind if kind.is_observable() => &["unit", "attributes", "callback"],
            _ => &["unit", "attributes"],
        }
    }

    /// The kind `ident` names. A misspelt kind is reported and taken for the one it is close to.
    fn parse(ident: &Ident, errors: &mut Errors) -> syn::Result<Kind> {
        let written = ident.to_string();
        if let Some(kind) = Kind::ALL.into_iter().find(|kind| kind.name() == written) {
            return Ok(kind);
        }
        let kinds = Kind::ALL.map(Kind::name).join(", ");
        if written == "ExponentialHistogram" {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "`ExponentialHistogram` is not available yet: use `Histogram` with `buckets: [..]`. Kinds: {kinds}"
                ),
            ));
        }
        let meant = Kind::ALL.into_iter().find(|kind| kind.name().eq_ignore_ascii_case(&written));
        match meant.or_else(|| Kind::ALL.into_iter().find(|kind| is_misspelling(&written, kind.name()))) {
            Some(kind) => {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("unknown instrument kind `{written}`; did you mean `{}`? Kinds: {kinds}", kind.name()),
                ));
                Ok(kind)
            }
            None => Err(syn::Error::new(ident.span(), format!("unknown instrument kind `{written}`. Kinds: {kinds}"))),
        }
    }
}

/// The type an instrument records.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    U64,
    I64,
    F64,
}

impl ValueType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
        }
    }

    fn of(ty: &Type) -> Option<ValueType> {
        let Type::Path(path) = ty else { return None };
        let ident = path.path.get_ident().filter(|_| path.qself.is_none())?;
        [ValueType::U64, ValueType::I64, ValueType::F64].into_iter().find(|value| ident == value.name())
    }
}

/// An attribute key: a tag key declared with `tags!`, `?` when a recording may leave it out.
pub(crate) struct AttributeKey {
    pub(crate) key: Path,
    pub(crate) optional: bool,
}

impl AttributeKey {
    /// The field of the generated `Attributes` struct: the key's last identifier.
    pub(crate) fn field(&self) -> &Ident {
        &self.key.segments.last().expect("a parsed path has a segment").ident
    }
}

/// One declaration of `metrics!`, checked.
pub(crate) struct Instrument {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) ident: Ident,
    pub(crate) kind: Kind,
    pub(crate) value: ValueType,
    pub(crate) wire: Option<LitStr>,
    pub(crate) unit: Option<LitStr>,
    pub(crate) attributes: Vec<AttributeKey>,
    /// `None`: the default bounds.
    pub(crate) buckets: Option<Vec<f64>>,
    /// The `callback` key and the path; `None` only for a sync kind, or after a mistake in it
    /// was reported.
    pub(crate) callback: Option<(Ident, Path)>,
}

const EXAMPLE: &str = "`pub orders: Counter<u64> = \"shop.orders\" { unit: \"{order}\", attributes: [route] }`";

impl Instrument {
    /// Parses one declaration; an `Err` is a mistake that leaves nothing to expand.
    pub(crate) fn parse(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Instrument> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let ident = parse_ident(input)?;
        let needs_kind =
            || format!("the instrument `{ident}` needs a kind and a value type, e.g. `{ident}: Counter<u64>`");
        if !input.peek(Token![:]) || input.peek(Token![::]) {
            return Err(syn::Error::new(ident.span(), needs_kind()));
        }
        input.parse::<Token![:]>()?;
        if !input.peek(Ident) {
            return Err(input.error(needs_kind()));
        }
        let kind_ident: Ident = input.parse()?;
        let kind = Kind::parse(&kind_ident, errors)?;
        if !input.peek(Token![<]) {
            return Err(syn::Error::new(
                kind_ident.span(),
                format!(
                    "{} needs its value type, e.g. `{}<{}>`",
                    kind.with_article(),
                    kind.name(),
                    kind.values()[0].name()
                ),
            ));
        }
        input.parse::<Token![<]>()?;
        let ty: Type = input.parse()?;
        input.parse::<Token![>]>()?;
        let value = match ValueType::of(&ty).filter(|value| kind.values().contains(value)) {
            Some(value) => value,
            None => {
                errors.push(syn::Error::new_spanned(&ty, kind.value_error()));
                kind.values()[0]
            }
        };
        let wire = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            if !input.peek(LitStr) {
                return Err(input.error(format!(
                    "the name of `{ident}` must be a string literal, e.g. `{ident}: {}<{}> = \"shop.{ident}\"`",
                    kind.name(),
                    value.name()
                )));
            }
            Some(input.parse::<LitStr>()?)
        } else {
            None
        };
        let mut instrument = Instrument {
            attrs,
            vis,
            ident,
            kind,
            value,
            wire,
            unit: None,
            attributes: Vec::new(),
            buckets: None,
            callback: None,
        };
        instrument.check_name(errors);
        let mut given = Vec::new();
        if input.peek(token::Brace) {
            let content;
            syn::braced!(content in input);
            given = instrument.parse_settings(content.parse()?, errors);
        }
        if kind.is_observable() && !given.iter().any(|setting| setting == "callback") {
            let ident = &instrument.ident;
            errors.push(syn::Error::new(
                ident.span(),
                format!("{} needs `callback: some_fn`, a `fn(&mut {ident}::Observer<'_>)`", kind.with_article()),
            ));
        }
        Ok(instrument)
    }

    /// The name exported: the wire name if given, else the identifier.
    pub(crate) fn name(&self) -> String {
        match &self.wire {
            Some(wire) => wire.value(),
            None => self.ident.unraw().to_string(),
        }
    }

    fn check_name(&self, errors: &mut Errors) {
        let name = self.name();
        let Err(error) = check_name(&name) else { return };
        let error = match &self.wire {
            Some(wire) => syn::Error::new(wire.span(), error.message(&name)),
            None => syn::Error::new(
                self.ident.span(),
                format!(
                    "the identifier `{name}` is not a valid OpenTelemetry instrument name ({}): give a wire name, e.g. `{}: {}<{}> = {:?}`",
                    error.reason(),
                    self.ident,
                    self.kind.name(),
                    self.value.name(),
                    suggestion(&name)
                ),
            ),
        };
        errors.push(error);
    }

    /// Applies the settings; returns the names of those given, right or not.
    fn parse_settings(&mut self, tokens: TokenStream, errors: &mut Errors) -> Vec<String> {
        let kind = self.kind;
        let settings =
            list::parse(tokens, "settings", errors, |input, errors| Setting::parse(kind, input, errors).map(Some));
        let mut given: Vec<String> = Vec::new();
        for Setting { key, value } in settings {
            let name = key.to_string();
            if given.contains(&name) {
                errors.push(syn::Error::new(key.span(), format!("`{name}` is given twice")));
                continue;
            }
            given.push(name);
            match value {
                SettingValue::Unit(unit) => {
                    if let Err(message) = check_unit(&unit.value()) {
                        errors.push(syn::Error::new(unit.span(), message));
                    }
                    self.unit = Some(unit);
                }
                SettingValue::Attributes(keys) => self.attributes = keys,
                SettingValue::Buckets(buckets) => self.buckets = buckets,
                SettingValue::Callback(key, path) => self.callback = Some((key, path)),
                SettingValue::Invalid => {}
            }
        }
        given
    }
}

/// The instrument's identifier, or the error saying how to write one.
fn parse_ident(input: ParseStream<'_>) -> syn::Result<Ident> {
    if input.peek(Ident) {
        return input.parse();
    }
    if input.peek(Ident::peek_any) {
        let keyword = input.call(Ident::parse_any)?;
        return Err(syn::Error::new(
            keyword.span(),
            format!(
                "`{keyword}` is a keyword: declare the instrument as `r#{keyword}`; its name is still \"{keyword}\""
            ),
        ));
    }
    Err(syn::Error::new_spanned(
        list::item_tokens(input),
        format!("an instrument is declared `name: Kind<value type>`, e.g. {EXAMPLE}"),
    ))
}

/// `key: value` inside the braces of a declaration.
struct Setting {
    key: Ident,
    value: SettingValue,
}

enum SettingValue {
    /// A value that is not right, reported already.
    Invalid,
    Unit(LitStr),
    Attributes(Vec<AttributeKey>),
    /// `None` after a mistake in the list, which is reported.
    Buckets(Option<Vec<f64>>),
    /// The key, whose span the callback's expected type takes, and the path.
    Callback(Ident, Path),
}

impl Setting {
    fn parse(kind: Kind, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Setting> {
        if !input.peek(Ident::peek_any) {
            return Err(syn::Error::new_spanned(
                list::item_tokens(input),
                format!(
                    "a setting is written `key: value`; {} takes: {}",
                    kind.with_article(),
                    kind.settings().join(", ")
                ),
            ));
        }
        let key = input.call(Ident::parse_any)?;
        let name = key.to_string();
        let allowed = kind.settings();
        if !allowed.contains(&name.as_str()) {
            let message = match name.as_str() {
                "buckets" => "`buckets` applies to `Histogram` only".to_owned(),
                "callback" => "`callback` applies to observable instruments only".to_owned(),
                _ => {
                    let takes = format!("{} takes: {}", kind.with_capital_article(), allowed.join(", "));
                    match allowed.iter().find(|allowed| is_misspelling(&name, allowed)) {
                        Some(meant) => format!("unknown setting `{name}`; did you mean `{meant}`? {takes}"),
                        None => format!("unknown setting `{name}`. {takes}"),
                    }
                }
            };
            return Err(syn::Error::new(key.span(), message));
        }
        let example = match name.as_str() {
            "unit" => "`unit: \"s\"`",
            "attributes" => "`attributes: [route, tenant?]`",
            "buckets" => "`buckets: [0.005, 0.01, 0.025]`",
            _ => "`callback: read_bytes`",
        };
        if !input.peek(Token![:]) || input.peek(Token![::]) {
            return Err(input.error(format!("expected `:` after `{name}`, e.g. {example}")));
        }
        input.parse::<Token![:]>()?;
        let value = match name.as_str() {
            "unit" if input.peek(LitStr) => Ok(SettingValue::Unit(input.parse()?)),
            "unit" => Err(input.error(format!("`unit` takes a string literal, e.g. {example}"))),
            "attributes" | "buckets" if !input.peek(token::Bracket) => {
                Err(input.error(format!("`{name}` takes a list in brackets, e.g. {example}")))
            }
            "attributes" => Ok(SettingValue::Attributes(attribute_keys(bracketed(input)?, errors))),
            "buckets" => Ok(SettingValue::Buckets(buckets(bracketed(input)?, errors))),
            _ => match input.call(Path::parse_mod_style) {
                Ok(path) if list::at_end(input) => Ok(SettingValue::Callback(key.clone(), path)),
                _ => Err(syn::Error::new_spanned(
                    list::item_tokens(input),
                    format!("`callback` takes the path of a function, e.g. {example}"),
                )),
            },
        };
        // The setting counts as given, so that it is not reported missing too.
        let value = match value {
            Ok(value) => value,
            Err(error) => {
                errors.push(error);
                list::skip_item(input)?;
                SettingValue::Invalid
            }
        };
        Ok(Setting { key, value })
    }
}

/// The tokens inside the brackets at `input`.
fn bracketed(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    let content;
    syn::bracketed!(content in input);
    content.parse()
}

/// `[route, tenant?]`: each key once.
fn attribute_keys(tokens: TokenStream, errors: &mut Errors) -> Vec<AttributeKey> {
    let parsed = list::parse(tokens, "attribute keys", errors, |input, _| {
        let written = list::item_tokens(input);
        let key = input.call(Path::parse_mod_style);
        let optional = input.parse::<Option<Token![?]>>()?.is_some();
        match key {
            Ok(key) if list::at_end(input) => Ok(Some(AttributeKey { key, optional })),
            _ => Err(syn::Error::new_spanned(
                written,
                "an attribute is a tag key declared with `tags!`, e.g. `route`, or `tenant?` for one a recording may leave out",
            )),
        }
    });
    let mut keys: Vec<AttributeKey> = Vec::with_capacity(parsed.len());
    for key in parsed {
        let field = key.field().unraw();
        if keys.iter().any(|listed| listed.field().unraw() == field) {
            errors.push(syn::Error::new(key.field().span(), format!("the attribute `{field}` is listed twice")));
        } else {
            keys.push(key);
        }
    }
    keys
}

/// `[0.005, 0.01, 0.025]`: finite and strictly increasing, or `None` once a mistake is reported.
fn buckets(tokens: TokenStream, errors: &mut Errors) -> Option<Vec<f64>> {
    let mut wrong = false;
    let parsed = list::parse(tokens, "buckets", errors, |input, _| {
        let written = list::item_tokens(input);
        let minus = input.parse::<Option<Token![-]>>()?;
        let number = match input.parse::<Option<Lit>>() {
            Ok(Some(Lit::Float(float))) => float.base10_parse::<f64>().ok(),
            Ok(Some(Lit::Int(int))) => int.base10_parse::<f64>().ok(),
            _ => None,
        };
        match number {
            Some(number) if list::at_end(input) => Ok(Some((if minus.is_some() { -number } else { number }, written))),
            _ => {
                wrong = true;
                Err(syn::Error::new_spanned(written, "buckets must be number literals, e.g. [0.005, 0.01, 0.025]"))
            }
        }
    });
    let mut bounds: Vec<f64> = Vec::with_capacity(parsed.len());
    let mut previous: Option<String> = None;
    for (bound, written) in parsed {
        let problem = if !bound.is_finite() {
            Some(format!("{written} is not finite"))
        } else {
            match (&previous, bounds.last()) {
                (Some(previous), Some(&last)) if bound <= last => Some(format!("{written} does not follow {previous}")),
                _ => None,
            }
        };
        if let Some(problem) = problem {
            errors.push(syn::Error::new_spanned(
                &written,
                format!("buckets must be finite and strictly increasing: {problem}"),
            ));
            wrong = true;
        }
        bounds.push(bound);
        previous = Some(written.to_string());
    }
    (!wrong).then_some(bounds)
}
