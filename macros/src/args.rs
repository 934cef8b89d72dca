//! Typed arguments of the attribute macros.
//!
//! The argument list is first parsed as `key = value` / `key(...)` pairs (a syntax error there is
//! fatal), then each pair is checked against what the macro takes. Those checks report into
//! [`Errors`] and drop the bad argument, so the rest still expands and every mistake is reported.

use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{parenthesized, token, Expr, ExprLit, Ident, Lit, LitInt, LitStr, Path, Token};

use crate::errors::Errors;

/// The attribute being expanded; decides which arguments are allowed and names it in errors.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Macro {
    Entry,
    Exit,
    Local,
    Profiled,
    Main,
}

impl Macro {
    /// The arguments this macro takes, in the order error messages list them.
    fn arguments(self) -> &'static [&'static str] {
        match self {
            Macro::Entry => &["name", "headers", "tags"],
            Macro::Exit => &["peer", "name", "inject", "tags"],
            Macro::Local => &["name", "tags"],
            Macro::Main => &["service", "flavor", "worker_threads"],
            Macro::Profiled => &[],
        }
    }
}

impl fmt::Display for Macro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Macro::Entry => "`#[entry]`",
            Macro::Exit => "`#[exit]`",
            Macro::Local => "`#[local]`",
            Macro::Profiled => "`#[profiled]`",
            Macro::Main => "`#[spanscope::main]`",
        })
    }
}

/// How an argument is written correctly; quoted by the errors about it.
fn example(key: &str) -> &'static str {
    match key {
        "name" => "name = \"GET /orders\"",
        "headers" => "headers = req.headers()",
        "peer" => "peer = \"inventory:8080\"",
        "inject" => "inject = req.headers_mut()",
        "tags" => "tags(route = \"checkout\")",
        "service" => "service = \"checkout\"",
        "flavor" => "flavor = \"multi_thread\"",
        _ => "worker_threads = 4",
    }
}

/// `key = value` in a span's `tags(...)` or in `#[profiled(...)]`. The key is the path of a type
/// declared with `tags!`; key and value keep their own spans in the generated code, so rustc's
/// "cannot find type" and "mismatched types" point at the user's tokens.
pub(crate) struct TagArg {
    pub(crate) key: Path,
    pub(crate) value: Expr,
}

impl Parse for TagArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Path = input.call(Path::parse_mod_style)?;
        if !input.peek(Token![=]) {
            let key = key.to_token_stream();
            let message = if input.peek(token::Paren) {
                format!("`{key}(...)` is not a tag; tags are written `key = value`, e.g. `route = \"checkout\"`")
            } else {
                format!("expected `{key} = value`: a tag needs a value, e.g. `route = \"checkout\"`")
            };
            return Err(syn::Error::new_spanned(&key, message));
        }
        input.parse::<Token![=]>()?;
        Ok(TagArg { key, value: input.parse()? })
    }
}

/// Parses `tags(...)`-style contents: one or more `key = value`; reports and drops repeated keys.
fn tag_list(input: TokenStream, errors: &mut Errors) -> syn::Result<Vec<TagArg>> {
    let parsed = Punctuated::<TagArg, Token![,]>::parse_terminated.parse2(input)?;
    let mut tags: Vec<TagArg> = Vec::with_capacity(parsed.len());
    for tag in parsed {
        let key = tag.key.to_token_stream().to_string();
        if tags.iter().any(|seen| seen.key.to_token_stream().to_string() == key) {
            errors.push(syn::Error::new_spanned(
                &tag.key,
                format!("duplicate tag `{}`; each tag can be set once", key.replace(' ', "")),
            ));
        } else {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// One argument as written: `key = value`, `key(...)` or a bare `key`.
struct RawArg {
    key: Ident,
    value: RawValue,
}

enum RawValue {
    Expr(Expr),
    List(TokenStream),
    Missing,
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        let value = if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            RawValue::List(content.parse()?)
        } else if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Expr(input.parse()?)
        } else {
            RawValue::Missing
        };
        Ok(RawArg { key, value })
    }
}

impl RawArg {
    /// The value of `key = value`.
    fn expr(self, errors: &mut Errors) -> Option<Expr> {
        match self.value {
            RawValue::Expr(expr) => Some(expr),
            RawValue::List(_) | RawValue::Missing => {
                let key = self.key.to_string();
                errors
                    .push(syn::Error::new(self.key.span(), format!("`{key}` takes a value, e.g. `{}`", example(&key))));
                None
            }
        }
    }

    /// The value of `key = "literal"`, not empty.
    fn lit_str(self, errors: &mut Errors) -> Option<LitStr> {
        let key = self.key.to_string();
        match self.expr(errors)? {
            Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => non_empty(&key, lit, errors),
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    format!("`{key}` must be a string literal, e.g. `{}`", example(&key)),
                ));
                None
            }
        }
    }

    /// The tags of `key(route = .., ..)`.
    fn list(self, errors: &mut Errors) -> syn::Result<Vec<TagArg>> {
        match self.value {
            RawValue::List(tokens) => tag_list(tokens, errors),
            RawValue::Expr(_) | RawValue::Missing => {
                let key = self.key.to_string();
                errors
                    .push(syn::Error::new(self.key.span(), format!("`{key}` takes a list, e.g. `{}`", example(&key))));
                Ok(Vec::new())
            }
        }
    }
}

fn non_empty(key: &str, lit: LitStr, errors: &mut Errors) -> Option<LitStr> {
    if lit.value().is_empty() {
        errors.push(syn::Error::new(lit.span(), format!("`{key}` must not be empty, e.g. `{}`", example(key))));
        return None;
    }
    Some(lit)
}

/// Parses the argument list of `mac`, reports unknown and repeated keys, and hands every other
/// argument to `set` with its key.
fn parse_args(
    mac: Macro,
    tokens: TokenStream,
    errors: &mut Errors,
    mut set: impl FnMut(&str, RawArg, &mut Errors) -> syn::Result<()>,
) -> syn::Result<()> {
    let allowed = mac.arguments();
    let mut seen: Vec<String> = Vec::new();
    for arg in Punctuated::<RawArg, Token![,]>::parse_terminated.parse2(tokens)? {
        let key = arg.key.unraw().to_string();
        if !allowed.contains(&key.as_str()) {
            let expected = allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            errors.push(syn::Error::new(
                arg.key.span(),
                format!("unknown argument `{key}` for {mac}; expected one of: {expected}"),
            ));
        } else if seen.contains(&key) {
            errors.push(syn::Error::new(arg.key.span(), format!("duplicate argument `{key}`")));
        } else {
            set(&key, arg, errors)?;
            seen.push(key);
        }
    }
    Ok(())
}

/// The remote side of an exit span.
pub(crate) enum Peer {
    /// Known at compile time: stored in the span's static metadata.
    Literal(LitStr),
    /// Computed at run time: anything that implements `Display`.
    Expr(Expr),
}

/// Arguments of `#[entry]`, `#[exit]` and `#[local]`.
#[derive(Default)]
pub(crate) struct SpanArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) tags: Vec<TagArg>,
    pub(crate) headers: Option<Expr>,
    pub(crate) peer: Option<Peer>,
    pub(crate) inject: Option<Expr>,
}

impl SpanArgs {
    pub(crate) fn parse(mac: Macro, tokens: TokenStream, errors: &mut Errors) -> syn::Result<Self> {
        let mut args = SpanArgs::default();
        parse_args(mac, tokens, errors, |key, arg, errors| {
            match key {
                "name" => args.name = arg.lit_str(errors),
                "tags" => args.tags = arg.list(errors)?,
                "headers" => args.headers = arg.expr(errors),
                "inject" => args.inject = arg.expr(errors),
                _ => {
                    args.peer = arg.expr(errors).and_then(|expr| match expr {
                        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => {
                            non_empty("peer", lit, errors).map(Peer::Literal)
                        }
                        expr => Some(Peer::Expr(expr)),
                    });
                }
            }
            Ok(())
        })?;
        if mac == Macro::Exit && args.peer.is_none() {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[exit]` needs `peer = ...`, the address of the remote side, e.g. `#[exit(peer = \"inventory:8080\")]`",
            ));
        }
        Ok(args)
    }
}

/// Arguments of `#[profiled]`: the tags themselves.
pub(crate) struct ProfiledArgs {
    pub(crate) tags: Vec<TagArg>,
}

impl ProfiledArgs {
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> syn::Result<Self> {
        let tags = tag_list(tokens, errors)?;
        if tags.is_empty() {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[profiled]` needs at least one tag, e.g. `#[profiled(route = \"checkout\")]`",
            ));
        }
        Ok(ProfiledArgs { tags })
    }
}

/// The tokio runtime `#[main]` builds for an `async fn main`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MultiThread,
    CurrentThread,
}

/// Arguments of `#[main]`. Flavor and worker threads keep the key, to point errors at it.
#[derive(Default)]
pub(crate) struct MainArgs {
    pub(crate) service: Option<LitStr>,
    pub(crate) flavor: Option<(Ident, Flavor)>,
    pub(crate) worker_threads: Option<(Ident, LitInt)>,
}

impl MainArgs {
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> syn::Result<Self> {
        let mut args = MainArgs::default();
        parse_args(Macro::Main, tokens, errors, |key, arg, errors| {
            let ident = arg.key.clone();
            match key {
                "service" => args.service = arg.lit_str(errors),
                "flavor" => {
                    args.flavor = arg.lit_str(errors).and_then(|lit| match lit.value().as_str() {
                        "multi_thread" => Some((ident, Flavor::MultiThread)),
                        "current_thread" => Some((ident, Flavor::CurrentThread)),
                        _ => {
                            errors.push(syn::Error::new(
                                lit.span(),
                                "`flavor` must be \"multi_thread\" or \"current_thread\"",
                            ));
                            None
                        }
                    });
                }
                _ => {
                    args.worker_threads = arg.expr(errors).and_then(|expr| match expr {
                        Expr::Lit(ExprLit { lit: Lit::Int(int), .. })
                            if int.base10_parse::<usize>().is_ok_and(|n| n > 0) =>
                        {
                            Some((ident, int))
                        }
                        other => {
                            errors.push(syn::Error::new_spanned(
                                other,
                                "`worker_threads` must be a positive integer literal, e.g. `worker_threads = 4`",
                            ));
                            None
                        }
                    });
                }
            }
            Ok(())
        })?;
        if let (Some((_, Flavor::CurrentThread)), Some((key, _))) = (&args.flavor, &args.worker_threads) {
            errors.push(syn::Error::new(
                key.span(),
                "`worker_threads` needs `flavor = \"multi_thread\"`: a `current_thread` runtime runs every task on the main thread",
            ));
            args.worker_threads = None;
        }
        Ok(args)
    }
}
