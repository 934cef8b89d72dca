//! One argument of an attribute as written: `key = value`, `key(...)` or a bare `key`, and what is
//! made of the usual ways to get it wrong (a value without its key, a missing `=`, a value that is
//! not one expression). Which keys a macro takes is checked by [`args`](crate::args).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::ParseStream;
use syn::{parenthesized, token, Expr, ExprLit, Ident, Lit, Token};

use crate::args::{example, Macro};
use crate::errors::Errors;
use crate::list::{self, at_end, item_tokens};
use crate::misspelling::is_misspelling;

pub(crate) struct RawArg {
    pub(crate) key: Ident,
    pub(crate) value: RawValue,
    /// The key was not written: the value's key was guessed by [`Macro::positional`], and the
    /// argument is reported already.
    pub(crate) guessed: bool,
}

pub(crate) enum RawValue {
    Expr(Expr),
    List(TokenStream),
    Missing,
    /// The key was written with a wrong value, reported already.
    Invalid,
}

impl RawArg {
    /// One argument of `mac`. A value written without its key (`#[exit("inventory:8080")]`) is
    /// reported with the key it most likely lacks, and stands for that key so that the function
    /// still expands as meant; `None` if no key fits.
    pub(crate) fn parse(mac: Macro, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<RawArg>> {
        let fork = input.fork();
        let Ok(key) = fork.call(Ident::parse_any) else {
            return positional(mac, input, errors);
        };
        let name = key.unraw().to_string();
        let known = mac.arguments().contains(&name.as_str());
        // Where `mac` takes a value without its key, an unknown name is one (`#[exit(addr)]`,
        // `#[exit(addr_of(x))]`), unless it is an argument misspelt (`#[exit(tag(...))]`).
        let value_like = !known
            && mac.positional(Some(&syn::parse_quote!(#key))).is_some()
            && !mac.arguments().iter().any(|argument| is_misspelling(&name, argument));
        let value = if fork.peek(token::Paren) {
            let content;
            parenthesized!(content in fork);
            if value_like || !value_ends(&fork) {
                // `addr_of(x)`, `addr().to_string()`: a value.
                return positional(mac, input, errors);
            }
            RawValue::List(content.parse()?)
        } else if let Some(eq) = equals(&fork)? {
            let example = if known { format!(", e.g. `{}`", example(&name)) } else { String::new() };
            match value(&fork, &name, eq, &example) {
                Ok(value) => RawValue::Expr(value),
                Err(error) => invalid(&fork, error, errors)?,
            }
        } else if value_ends(&fork) {
            if value_like {
                return positional(mac, input, errors);
            }
            RawValue::Missing
        } else if known && ((fork.peek(Token![:]) && !fork.peek(Token![::])) || fork.peek(Lit)) {
            invalid(&fork, missing_equals(&fork, &name, &format!("`{}`", example(&name))), errors)?
        } else {
            return positional(mac, input, errors);
        };
        input.advance_to(&fork);
        Ok(Some(RawArg { key, value, guessed: false }))
    }
}

/// A value written without its key, at `input`: reported with the key [`Macro::positional`]
/// guesses for it, and returned as that key's argument; if none fits, reported with what `mac`
/// takes.
fn positional(mac: Macro, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<RawArg>> {
    let tokens = item_tokens(input);
    let fork = input.fork();
    let value = fork.parse::<Expr>().ok().filter(|_| value_ends(&fork));
    let Some(key) = mac.positional(value.as_ref()) else {
        let examples = mac.arguments().iter().map(|key| format!("`{}`", example(key))).collect::<Vec<_>>();
        return Err(syn::Error::new_spanned(tokens, format!("{mac} takes named arguments: {}", examples.join(", "))));
    };
    let written = match &value {
        Some(Expr::Lit(ExprLit { lit, .. })) => format!("`{key} = {}`", lit.to_token_stream()),
        Some(Expr::Path(path)) if path.path.get_ident().is_some() => format!("`{key} = {}`", path.to_token_stream()),
        _ => format!("`{key} = ...`, e.g. `{}`", example(key)),
    };
    errors.push(syn::Error::new_spanned(&tokens, format!("{mac} takes named arguments: write {written}")));
    let span = tokens.into_iter().next().map_or_else(Span::call_site, |token| token.span());
    let value = match value {
        Some(value) => {
            input.advance_to(&fork);
            RawValue::Expr(value)
        }
        None => {
            list::skip_item(input)?;
            RawValue::Invalid
        }
    };
    Ok(Some(RawArg { key: Ident::new(key, span), value, guessed: true }))
}

/// Reports `error` about the value at `input` and skips the rest of the argument: its key stays
/// given, so nothing is reported missing.
fn invalid(input: ParseStream<'_>, error: syn::Error, errors: &mut Errors) -> syn::Result<RawValue> {
    errors.push(error);
    list::skip_item(input)?;
    Ok(RawValue::Invalid)
}

/// The `=` of `key = value`, if there is one (not `==` or `=>`).
pub(crate) fn equals(input: ParseStream<'_>) -> syn::Result<Option<Token![=]>> {
    if input.peek(Token![=]) && !input.peek(Token![==]) && !input.peek(Token![=>]) {
        return input.parse().map(Some);
    }
    Ok(None)
}

/// The value after `key =`: one expression, then the end of the argument. `example` ends the
/// errors.
pub(crate) fn value(input: ParseStream<'_>, key: &str, eq: Token![=], example: &str) -> syn::Result<Expr> {
    if ends(input) {
        return Err(syn::Error::new(eq.span, format!("`{key} =` needs a value{example}")));
    }
    let fork = input.fork();
    match fork.parse::<Expr>() {
        Ok(value) if value_ends(&fork) => {
            input.advance_to(&fork);
            Ok(value)
        }
        _ => Err(syn::Error::new_spanned(item_tokens(input), format!("`{key}` takes one value{example}"))),
    }
}

/// Whether the argument ends at `input`: at a `,` (or a `;` written for it, which [`list::parse`]
/// reports) or at the end.
fn ends(input: ParseStream<'_>) -> bool {
    at_end(input) || input.peek(Token![;])
}

/// Whether the value before `input` is complete: the argument [`ends`], or the next one starts
/// (`key =` or `key(`) where a `,` was left out, which [`list::parse`] reports.
fn value_ends(input: ParseStream<'_>) -> bool {
    ends(input) || (input.peek(Ident::peek_any) && (input.peek2(Token![=]) || input.peek2(token::Paren)))
}

/// The error for `key "value"` or `key: value`, at the token after `key`: the `=` is missing.
/// A literal value is shown written right (`write `peer = "inventory:8080"``); else `example`.
pub(crate) fn missing_equals(input: ParseStream<'_>, key: &str, example: &str) -> syn::Error {
    let fork = input.fork();
    let _colon: Option<Token![:]> = fork.parse().unwrap_or(None);
    let message = match fork.parse::<Lit>() {
        Ok(lit) if value_ends(&fork) => {
            format!("expected `=` after `{key}`: write `{key} = {}`", lit.to_token_stream())
        }
        _ => format!("expected `=` after `{key}`, e.g. {example}"),
    };
    input.error(message)
}
