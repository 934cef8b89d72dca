//! `metrics! { .. }`: each declaration (parsed by `instrument`) becomes a module named after the
//! instrument, holding its `Attributes` struct, its static, and the functions that record into
//! it. The attribute keys keep the user's spans, so an undeclared key is rustc's error at the key.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, Meta};

use crate::errors::Errors;
use crate::instrument::{Instrument, Kind, ValueType};
use crate::list;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = list::parse(input, "instrument declarations", &mut errors, |input, errors| {
        Instrument::parse(input, errors).map(Some)
    });
    let mut instruments: Vec<Instrument> = Vec::with_capacity(parsed.len());
    // Lowercase: OpenTelemetry instrument names are case-insensitive.
    let mut names: Vec<String> = Vec::with_capacity(parsed.len());
    for instrument in parsed {
        let ident = &instrument.ident;
        if instruments.iter().any(|declared| declared.ident.unraw() == ident.unraw()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("the instrument `{ident}` is declared twice; declare each instrument once"),
            ));
            continue;
        }
        let name = instrument.name();
        if names.contains(&name.to_ascii_lowercase()) {
            let span = instrument.wire.as_ref().map_or_else(|| ident.span(), |wire| wire.span());
            errors.push(syn::Error::new(
                span,
                format!("instrument name {name:?} is already declared above (names are case-insensitive)"),
            ));
        }
        names.push(name.to_ascii_lowercase());
        instruments.push(instrument);
    }
    errors.emit(instruments.iter().map(generate).collect())
}

/// The module of one instrument.
fn generate(instrument: &Instrument) -> TokenStream {
    let Instrument { attrs, vis, ident, kind, value, unit, attributes, .. } = instrument;
    let name = instrument.name();
    let description = description(attrs);
    let default_doc = description.is_empty().then(|| {
        let doc = format!("The {} `{name}`.", kind.name());
        quote!(#[doc = #doc])
    });
    let unit = unit.as_ref().map(|unit| unit.value()).unwrap_or_default();
    let value_kind = Ident::new(
        match value {
            ValueType::U64 => "U64",
            ValueType::I64 => "I64",
            ValueType::F64 => "F64",
        },
        Span::call_site(),
    );
    let kind_variant = Ident::new(kind.name(), Span::call_site());
    let buckets = buckets(instrument);

    let fields: Vec<&Ident> = attributes.iter().map(|attribute| attribute.field()).collect();
    let keys = attributes.iter().map(|attribute| &attribute.key);
    let field_types = attributes.iter().map(|attribute| {
        let key = &attribute.key;
        let ty = quote!(::spanscope::__private::Attr<'a, #key>);
        if attribute.optional {
            quote!(::core::option::Option<#ty>)
        } else {
            ty
        }
    });
    let field_docs = attributes.iter().map(|attribute| {
        let field = attribute.field().unraw();
        match attribute.optional {
            true => format!("The attribute `{field}`; `None` leaves it out."),
            false => format!("The attribute `{field}`."),
        }
    });
    // A struct without fields takes no lifetime (an unused one is an error).
    let (lifetime, elided) = match attributes.is_empty() {
        true => (quote!(), quote!()),
        false => (quote!(<'a>), quote!(<'_>)),
    };
    let visitor = match attributes.is_empty() {
        true => quote!(_: impl ::core::ops::FnMut(::spanscope::__private::AttrRef<'_>)),
        false => quote!(mut f: impl ::core::ops::FnMut(::spanscope::__private::AttrRef<'_>)),
    };
    let attributes_doc = format!("The attributes of one recording of `{name}`.");

    let recording =
        if kind.is_observable() { observable(instrument) } else { sync(*kind, ident, *value, !attributes.is_empty()) };

    quote! {
        #(#attrs)*
        #default_doc
        #[allow(non_snake_case, dead_code)]
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            #[doc = #attributes_doc]
            #[derive(Debug, Clone, Copy)]
            pub struct Attributes #lifetime {
                #(
                    #[doc = #field_docs]
                    pub #fields: #field_types,
                )*
            }

            impl ::spanscope::__private::AttributeSet for Attributes #elided {
                const KEYS: &'static [fn() -> &'static ::spanscope::__private::TagMeta] =
                    &[#(<#keys as ::spanscope::__private::TagKey>::meta),*];

                #[inline]
                fn visit(&self, #visitor) {
                    #(f(::spanscope::__private::AttrValue::attr_ref(&self.#fields));)*
                }
            }

            #[doc(hidden)]
            #[derive(Debug)]
            pub enum Schema {}

            impl ::spanscope::__private::AttributeSchema for Schema {
                type Attributes<'a> = Attributes #lifetime;
            }

            static META: ::spanscope::__private::InstrumentMeta = ::spanscope::__private::InstrumentMeta {
                name: #name,
                unit: #unit,
                description: #description,
                kind: ::spanscope::__private::InstrumentKind::#kind_variant,
                value: ::spanscope::__private::ValueKind::#value_kind,
                scope: (::core::env!("CARGO_PKG_NAME"), ::core::env!("CARGO_PKG_VERSION")),
                buckets: #buckets,
            };

            #recording
        }
    }
}

/// The static and functions of a counter, up-down counter, histogram or gauge. The functions
/// carry the span of the instrument's name, where rustc's "function defined here" then points.
fn sync(kind: Kind, instrument: &Ident, value: ValueType, has_attributes: bool) -> TokenStream {
    let span = instrument.span();
    let value = &Ident::new(value.name(), span);
    let elided = has_attributes.then(|| quote_spanned!(span=> <'_>));
    let add = Ident::new("add", span);
    let record = Ident::new("record", span);
    let (runtime, bound, method, doc) = match kind {
        Kind::Counter => (
            quote!(Counter),
            quote!(BoundCounter),
            &add,
            "Adds `value` to the series of `attributes` (a negative, NaN or infinite value is dropped and counted).",
        ),
        Kind::UpDownCounter => (
            quote!(UpDownCounter),
            quote!(BoundUpDownCounter),
            &add,
            "Adds `value`, negative to subtract, to the series of `attributes`.",
        ),
        Kind::Histogram => (
            quote!(Histogram),
            quote!(BoundHistogram),
            &record,
            "Records `value` in the series of `attributes` (NaN and infinities are dropped and counted).",
        ),
        _ => (
            quote!(Gauge),
            quote!(BoundGauge),
            &record,
            "Sets the series of `attributes` to `value` (NaN and infinities are dropped and counted).",
        ),
    };
    // `spanscope::record!` calls `record`, which counters have beside `add`.
    let record_alias = matches!(kind, Kind::Counter | Kind::UpDownCounter).then(|| {
        quote_spanned! {span=>
            /// The same as `add`; `spanscope::record!` calls it.
            #[inline]
            pub fn #record(value: #value, attributes: Attributes #elided) {
                INSTRUMENT.add(value, &attributes)
            }
        }
    });
    let functions = quote_spanned! {span=>
        #[doc = #doc]
        #[inline]
        pub fn #method(value: #value, attributes: Attributes #elided) {
            INSTRUMENT.#method(value, &attributes)
        }

        #record_alias

        /// A handle on the series of `attributes`: recording through it skips looking the set up.
        pub fn bind(attributes: Attributes #elided) -> ::spanscope::metrics::#bound<#value> {
            INSTRUMENT.bind(&attributes)
        }
    };
    quote! {
        #[doc(hidden)]
        pub static INSTRUMENT: ::spanscope::__private::#runtime<#value> = ::spanscope::__private::#runtime::new(&META);

        #functions
    }
}

/// The static, `Observer` and `register` of an observable instrument.
///
/// The callback is a constant of the type it must have, which is spanned by the `callback` key: a
/// function of another signature is rustc's error at its path, "expected due to" the key.
fn observable(instrument: &Instrument) -> TokenStream {
    let value = Ident::new(instrument.value.name(), Span::call_site());
    let (expected, callback) = match &instrument.callback {
        Some((key, path)) => (key.span(), quote!(#path)),
        // A missing callback was reported; one that observes nothing keeps the rest compiling.
        None => (Span::call_site(), quote!(|_| {})),
    };
    let callback_type = quote_spanned!(expected=> fn(&mut Observer<'_>));
    let observer_doc = format!("What the callback reports the values of `{}` through.", instrument.name());
    quote! {
        #[doc = #observer_doc]
        pub type Observer<'o> = ::spanscope::metrics::Observer<'o, #value, Schema>;

        const CALLBACK: #callback_type = #callback;

        #[doc(hidden)]
        pub static INSTRUMENT: ::spanscope::__private::Observable<#value, Schema> =
            ::spanscope::__private::Observable::new(&META, CALLBACK);

        /// Has the callback called at every collection from now on. Calling it again does nothing.
        pub fn register() {
            INSTRUMENT.register()
        }
    }
}

/// A histogram's bucket bounds: the declared ones or the default; empty for other kinds.
fn buckets(instrument: &Instrument) -> TokenStream {
    match (instrument.kind, &instrument.buckets) {
        (Kind::Histogram, Some(bounds)) => {
            let bounds = bounds.iter().map(|bound| {
                let magnitude = Literal::f64_unsuffixed(bound.abs());
                if bound.is_sign_negative() {
                    quote!(-#magnitude)
                } else {
                    quote!(#magnitude)
                }
            });
            quote!(&[#(#bounds),*])
        }
        (Kind::Histogram, None) => quote!(::spanscope::metrics::DEFAULT_BUCKETS),
        _ => quote!(&[]),
    }
}

/// The doc comment's lines, trimmed and joined by a space: the instrument's description.
fn description(attrs: &[Attribute]) -> String {
    let lines = attrs.iter().filter_map(|attr| match &attr.meta {
        Meta::NameValue(doc) if doc.path.is_ident("doc") => match &doc.value {
            Expr::Lit(ExprLit { lit: Lit::Str(line), .. }) => Some(line.value()),
            _ => None,
        },
        _ => None,
    });
    lines.map(|line| line.trim().to_owned()).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn the_description_is_the_doc_lines_trimmed_and_joined_by_a_space() {
        let attrs: Vec<Attribute> = parse_quote! {
            /// Time to price
            ///
            ///   a basket.
            #[doc = include_str!("x")]
            #[cfg(all())]
        };
        assert_eq!(description(&attrs), "Time to price a basket.");
        assert_eq!(description(&[]), "");
    }
}
