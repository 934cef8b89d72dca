//! The item an attribute is applied to: a function with a body (free, method, trait default, trait
//! impl). The body is kept as tokens, so a body that does not parse still expands and rustc reports
//! its error where it is; only the signature has to parse.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{ParseStream, Parser};
use syn::{braced, Attribute, LitStr, Signature, Token, Visibility};

use crate::args::Macro;
use crate::errors::Errors;

pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// `#![...]` at the top of the body: they stay at the top of the generated body.
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) body: TokenStream,
}

impl Function {
    /// Parses `item` as a function `mac` can be applied to; the error says why not.
    pub(crate) fn parse(mac: Macro, item: TokenStream) -> syn::Result<Function> {
        let parser = |input: ParseStream<'_>| {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            if !is_fn(input) {
                let rest: TokenStream = input.parse()?;
                let what = if mac == Macro::Main { "`fn main`" } else { "functions" };
                return Err(syn::Error::new_spanned(rest, format!("{mac} can only be applied to {what}")));
            }
            let sig: Signature = input.parse()?;
            if let Some(constness) = &sig.constness {
                return Err(syn::Error::new(
                    constness.span,
                    format!("{mac} cannot be applied to a `const fn`: it acts at run time; remove `const`"),
                ));
            }
            if input.peek(Token![;]) {
                return Err(syn::Error::new_spanned(
                    &sig,
                    format!(
                        "{mac} needs a function with a body; on a trait method, put it on the method in each `impl` (or give the method a default body)"
                    ),
                ));
            }
            let content;
            braced!(content in input);
            let inner_attrs = content.call(Attribute::parse_inner)?;
            let body = content.parse()?;
            Ok(Function { attrs, vis, sig, inner_attrs, body })
        };
        parser.parse2(item)
    }

    /// The function's name as a string literal spanned at its identifier: the default span name.
    pub(crate) fn name(&self) -> LitStr {
        LitStr::new(&syn::ext::IdentExt::unraw(&self.sig.ident).to_string(), self.sig.ident.span())
    }

    /// The function with its body replaced by `body`; everything else as written.
    pub(crate) fn with_body(&self, body: TokenStream) -> TokenStream {
        let Function { attrs, vis, sig, inner_attrs, .. } = self;
        quote!(#(#attrs)* #vis #sig { #(#inner_attrs)* #body })
    }
}

/// Whether the item at `input` (after attributes and visibility) is a function:
/// `const`/`async`/`unsafe`/`extern "abi"` qualifiers, then `fn`.
fn is_fn(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    loop {
        if fork.peek(Token![fn]) {
            return true;
        }
        let skipped = fork.parse::<Option<Token![const]>>().ok().flatten().is_some()
            || fork.parse::<Option<Token![async]>>().ok().flatten().is_some()
            || fork.parse::<Option<Token![unsafe]>>().ok().flatten().is_some()
            || fork.parse::<Option<syn::Abi>>().ok().flatten().is_some();
        if !skipped {
            return false;
        }
    }
}

/// The common driver of the attribute macros: parses the arguments with `parse` (which reports
/// and drops wrong ones) and the item, then `generate`s. Errors from every step are reported; if
/// the item could not be parsed, it is emitted unchanged beside the errors.
pub(crate) fn expand<A>(
    mac: Macro,
    args: TokenStream,
    item: TokenStream,
    parse: impl FnOnce(TokenStream, &mut Errors) -> A,
    generate: impl FnOnce(A, Function, &mut Errors) -> TokenStream,
) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse(args, &mut errors);
    let output = match Function::parse(mac, item.clone()) {
        Ok(function) => generate(args, function, &mut errors),
        Err(error) => {
            errors.push(error);
            item
        }
    };
    errors.emit(output)
}
