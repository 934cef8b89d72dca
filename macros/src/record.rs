//! `record!(orders, 1, route = "/checkout", tenant)`: the call `orders::record(1,
//! orders::Attributes { route: "/checkout", tenant })`, written with the user's tokens. The
//! generated `record` and `Attributes` carry the span of the instrument's name, so that rustc's
//! missing-field error points at it, and an unknown field or a wrong type at the user's own token.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::ParseStream;
use syn::{Expr, Ident, Path, Token};

use crate::errors::Errors;
use crate::list;

const EXAMPLE: &str = "`spanscope::record!(orders, 1, route = \"/checkout\", tenant)`";

/// One item of the argument list, by position.
enum Argument {
    Instrument(Path),
    Value(Expr),
    /// `key = value`, or `key` alone for `key = key`.
    Attribute(Ident, Option<Expr>),
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let mut position = 0;
    let arguments = list::parse(input, "arguments", &mut errors, |input, _| {
        position += 1;
        match position {
            1 => instrument(input).map(|path| Some(Argument::Instrument(path))),
            2 => input.parse().map(|value| Some(Argument::Value(value))),
            _ => attribute(input).map(Some),
        }
    });
    let (mut instrument, mut value, mut fields) = (None, None, Vec::new());
    for argument in arguments {
        match argument {
            Argument::Instrument(path) => instrument = Some(path),
            Argument::Value(expr) => value = Some(expr),
            Argument::Attribute(key, None) => fields.push(quote!(#key)),
            Argument::Attribute(key, Some(expr)) => fields.push(quote!(#key: #expr)),
        }
    }
    if position < 2 {
        // Spanned by the instrument when there is one: the value belongs after it.
        let span = instrument.as_ref().map_or_else(Span::call_site, |path| {
            path.segments.last().expect("a parsed path has a segment").ident.span()
        });
        errors.push(syn::Error::new(
            span,
            format!("`record!` takes the instrument, the value, then the attributes, e.g. {EXAMPLE}"),
        ));
    }
    // After a mistake, the call would only add rustc's errors about the same tokens.
    let call = match (instrument, value) {
        (Some(instrument), Some(value)) if errors.is_empty() => {
            // The span of the user's tokens, not of this macro: rustc suggests a field for a
            // misspelt one only in a struct expression of the fields' own context.
            let span = instrument.segments.last().expect("a parsed path has a segment").ident.span();
            quote_spanned!(span=> #instrument::record(#value, #instrument::Attributes { #(#fields),* }))
        }
        _ => TokenStream::new(),
    };
    // A block, so that the errors are statements before the call, its value.
    let errors = errors.emit(TokenStream::new());
    quote!({ #errors #call })
}

/// The instrument: the path of the module `metrics!` generated, `orders` or `crate::shop::orders`.
fn instrument(input: ParseStream<'_>) -> syn::Result<Path> {
    let written = list::item_tokens(input);
    match input.call(Path::parse_mod_style) {
        Ok(path) if list::at_end(input) => Ok(path),
        _ => Err(syn::Error::new_spanned(
            written,
            format!("the first argument of `record!` is an instrument declared with `metrics!`, e.g. {EXAMPLE}"),
        )),
    }
}

/// `key = value` or `key`.
fn attribute(input: ParseStream<'_>) -> syn::Result<Argument> {
    let written = list::item_tokens(input);
    let wrong = || {
        syn::Error::new_spanned(
            &written,
            format!("after the value, `record!` takes attributes as `key = value`, or `key` for `key = key`, e.g. {EXAMPLE}"),
        )
    };
    let key: Ident = input.parse().map_err(|_| wrong())?;
    if list::at_end(input) {
        return Ok(Argument::Attribute(key, None));
    }
    if !input.peek(Token![=]) || input.peek(Token![==]) {
        return Err(wrong());
    }
    input.parse::<Token![=]>()?;
    Ok(Argument::Attribute(key, Some(input.parse()?)))
}
