//! Typed arguments of the attribute macros.
//!
//! The argument list is parsed one argument at a time, as written (see [`raw_arg`](crate::raw_arg)),
//! then each argument is checked against what the macro takes. Every mistake is reported into
//! [`Errors`] with what would be right, and only the bad argument is dropped, so the rest still
//! expands and every mistake is reported.

use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{token, Expr, ExprLit, Ident, Lit, LitInt, LitStr, Path, Token};

use crate::errors::Errors;
use crate::list::{self, at_end, item_tokens};
use crate::misspelling::is_misspelling;
use crate::raw_arg::{equals, missing_equals, value, RawArg, RawValue};

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
    pub(crate) fn arguments(self) -> &'static [&'static str] {
        match self {
            Macro::Entry => &["name", "headers", "tags", "metrics"],
            Macro::Exit => &["peer", "name", "inject", "tags", "metrics"],
            Macro::Local => &["name", "tags", "metrics"],
            Macro::Main => &["service", "flavor", "worker_threads"],
            Macro::Profiled => &[],
        }
    }

    /// The argument a value written without its key most likely is (`value` is `None` when it is
    /// not one expression): `#[exit("inventory:8080")]` is the peer, `#[local("price")]` the name,
    /// `#[entry(req.headers())]` the headers.
    pub(crate) fn positional(self, value: Option<&Expr>) -> Option<&'static str> {
        let lit = match value {
            Some(Expr::Lit(ExprLit { lit, .. })) => Some(lit),
            _ => None,
        };
        match (self, lit) {
            (Macro::Exit, _) => Some("peer"),
            (Macro::Entry | Macro::Local, Some(Lit::Str(_))) => Some("name"),
            (Macro::Entry, None) if value.is_some() => Some("headers"),
            (Macro::Main, Some(Lit::Str(_))) => Some("service"),
            (Macro::Main, Some(Lit::Int(_))) => Some("worker_threads"),
            _ => None,
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
pub(crate) fn example(key: &str) -> &'static str {
    match key {
        "name" => "name = \"GET /orders\"",
        "headers" => "headers = req.headers()",
        "peer" => "peer = \"inventory:8080\"",
        "inject" => "inject = req.headers_mut()",
        "tags" => "tags(route = \"checkout\")",
        "metrics" => "metrics = true",
        "service" => "service = \"checkout\"",
        "flavor" => "flavor = \"multi_thread\"",
        _ => "worker_threads = 4",
    }
}

/// `key = value` in a span's `tags(...)` or in `#[profiled(...)]`. The key is the path of a type
/// declared with `tags!`; key and value keep their own spans in the generated code, so rustc's
/// "cannot find type" and "mismatched types" point at the user's tokens.
pub(crate) struct TagArg {
    key: Path,
    pub(crate) value: Expr,
}

impl TagArg {
    /// The key as the generated code names it. A key that is one identifier gets `macro_rules`
    /// hygiene, at the user's token: a type still resolves where the user wrote it, but a
    /// parameter of that name is not visible, so an undeclared `#[profiled(tenant = tenant)]`
    /// is "cannot find type `tenant`", not "expected type, found local variable `tenant`".
    pub(crate) fn key(&self) -> Path {
        match self.key.get_ident() {
            Some(ident) => {
                let mut ident = ident.clone();
                ident.set_span(Span::mixed_site().located_at(ident.span()));
                ident.into()
            }
            None => self.key.clone(),
        }
    }
}

impl Parse for TagArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if !(input.peek(Ident::peek_any) || input.peek(Token![::])) {
            return Err(syn::Error::new_spanned(
                item_tokens(input),
                "tags are written `key = value` with a key declared by `tags!`, e.g. `route = \"checkout\"`",
            ));
        }
        let key: Path = input.call(Path::parse_mod_style)?;
        let name = key.to_token_stream().to_string().replace(' ', "");
        if let Some(eq) = equals(input)? {
            return Ok(TagArg { value: value(input, &name, eq, "")?, key });
        }
        Err(if input.peek(token::Paren) {
            syn::Error::new_spanned(
                &key,
                format!("`{name}(...)` is not a tag; tags are written `key = value`, e.g. `route = \"checkout\"`"),
            )
        } else if at_end(input) {
            syn::Error::new_spanned(
                &key,
                format!("expected `{name} = value`: a tag needs a value, e.g. `route = \"checkout\"`"),
            )
        } else {
            missing_equals(input, &name, &format!("`{name} = value`"))
        })
    }
}

/// Parses `tags(...)`-style contents: one or more `key = value`; reports and drops repeated keys.
fn tag_list(tokens: TokenStream, errors: &mut Errors) -> Vec<TagArg> {
    let mut tags: Vec<TagArg> = Vec::new();
    for tag in list::parse(tokens, "tags", errors, |input, _| input.parse::<TagArg>().map(Some)) {
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
    tags
}

/// An argument read as what its key takes; a value of another shape is reported.
impl RawArg {
    /// The value of `key = value`.
    fn expr(self, errors: &mut Errors) -> Option<Expr> {
        match self.value {
            RawValue::Expr(expr) => Some(expr),
            RawValue::Invalid => None,
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

    /// The value of `key = true` or `key = false`.
    fn lit_bool(self, errors: &mut Errors) -> Option<bool> {
        let key = self.key.to_string();
        match self.expr(errors)? {
            Expr::Lit(ExprLit { lit: Lit::Bool(lit), .. }) => Some(lit.value),
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    format!("`{key}` takes `true` or `false`, e.g. `{}`", example(&key)),
                ));
                None
            }
        }
    }

    /// The tags of `key(route = .., ..)`.
    fn list(self, errors: &mut Errors) -> Vec<TagArg> {
        match self.value {
            RawValue::List(tokens) => tag_list(tokens, errors),
            RawValue::Invalid => Vec::new(),
            RawValue::Expr(_) | RawValue::Missing => {
                let key = self.key.to_string();
                errors
                    .push(syn::Error::new(self.key.span(), format!("`{key}` takes a list, e.g. `{}`", example(&key))));
                Vec::new()
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
/// argument to `set` with its key. Returns the keys given, rightly or not (a misspelt key counts
/// as the key it is close to), so that a key is reported missing only if it was not attempted.
fn parse_args(
    mac: Macro,
    tokens: TokenStream,
    errors: &mut Errors,
    mut set: impl FnMut(&str, RawArg, &mut Errors),
) -> Vec<&'static str> {
    let allowed = mac.arguments();
    let (mut given, mut misspelt): (Vec<&'static str>, Vec<&'static str>) = (Vec::new(), Vec::new());
    for arg in list::parse(tokens, "arguments", errors, |input, errors| RawArg::parse(mac, input, errors)) {
        let key = arg.key.unraw().to_string();
        match allowed.iter().find(|allowed| **allowed == key) {
            None => {
                let message = match allowed.iter().find(|allowed| is_misspelling(&key, allowed)) {
                    Some(allowed) => {
                        misspelt.push(allowed);
                        format!("unknown argument `{key}` for {mac}: did you mean `{allowed}`?")
                    }
                    None => {
                        let expected = allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                        format!("unknown argument `{key}` for {mac}; expected one of: {expected}")
                    }
                };
                errors.push(syn::Error::new(arg.key.span(), message));
            }
            // A guessed key is reported as such already.
            Some(_) if given.contains(&key.as_str()) && arg.guessed => {}
            Some(_) if given.contains(&key.as_str()) => {
                let right = if key == "tags" { "put every tag in one `tags(...)`" } else { "give each argument once" };
                errors.push(syn::Error::new(arg.key.span(), format!("duplicate argument `{key}`; {right}")));
            }
            Some(allowed) => {
                set(allowed, arg, errors);
                given.push(allowed);
            }
        }
    }
    given.extend(misspelt);
    given
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
    /// `metrics = ..`: whether the function's calls are timed in `spanscope.span.duration`
    /// (by default, those of `#[entry]` and `#[exit]`).
    pub(crate) metrics: Option<bool>,
}

impl SpanArgs {
    pub(crate) fn parse(mac: Macro, tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = SpanArgs::default();
        let given = parse_args(mac, tokens, errors, |key, arg, errors| match key {
            "name" => args.name = arg.lit_str(errors),
            "tags" => args.tags = arg.list(errors),
            "headers" => args.headers = arg.expr(errors),
            "inject" => args.inject = arg.expr(errors),
            "metrics" => args.metrics = arg.lit_bool(errors),
            _ => {
                args.peer = arg.expr(errors).and_then(|expr| match expr {
                    Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => non_empty("peer", lit, errors).map(Peer::Literal),
                    expr => Some(Peer::Expr(expr)),
                });
            }
        });
        if mac == Macro::Exit && !given.contains(&"peer") {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[exit]` needs `peer = ...`, the address of the remote side, e.g. `#[exit(peer = \"inventory:8080\")]`",
            ));
        }
        args
    }
}

/// Arguments of `#[profiled]`: the tags themselves.
pub(crate) struct ProfiledArgs {
    pub(crate) tags: Vec<TagArg>,
}

impl ProfiledArgs {
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        // Only an empty list: tags that were all wrong are reported as such.
        if tokens.is_empty() {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[profiled]` needs at least one tag, e.g. `#[profiled(route = \"checkout\")]`",
            ));
        }
        ProfiledArgs { tags: tag_list(tokens, errors) }
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
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
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
        });
        if let (Some((_, Flavor::CurrentThread)), Some((key, _))) = (&args.flavor, &args.worker_threads) {
            errors.push(syn::Error::new(
                key.span(),
                "`worker_threads` needs `flavor = \"multi_thread\"`: a `current_thread` runtime runs every task on the main thread",
            ));
            args.worker_threads = None;
        }
        args
    }
}
