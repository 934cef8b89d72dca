//! What the span and profiler expansions share: where the body runs (sync, async, or the async
//! block inside an `#[async_trait]` method), the return-type hint, and the error probe.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, ExprAsync, ExprCall, ReturnType, Stmt, Type};

use crate::function::Function;

/// Whether the instrumented code runs to completion in one call or is polled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sync,
    Async,
}

/// The type the body must evaluate to, written out so that the body is checked against the
/// function's return type exactly as it was before the expansion.
enum Hint {
    /// The return type with every `impl Trait` erased to `_`; `()` when there is none.
    Type(Box<Type>),
    /// `-> !`: the body is typed as `Infallible` and the result is matched away.
    Never,
    /// The body already carries its own hint (the async block of `#[async_trait]`).
    None,
}

/// The body to instrument, with how it runs.
pub(crate) struct Body {
    pub(crate) kind: Kind,
    hint: Hint,
    /// The statements, as written.
    pub(crate) tokens: TokenStream,
}

impl Body {
    /// The body of `function`, taken as it is written.
    pub(crate) fn of(function: &Function) -> Body {
        let hint = match &function.sig.output {
            ReturnType::Default => Hint::Type(syn::parse_quote!(())),
            ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => Hint::Never,
            ReturnType::Type(_, ty) => {
                let mut ty = ty.clone();
                EraseImplTrait.visit_type_mut(&mut ty);
                Hint::Type(ty)
            }
        };
        let kind = if function.sig.asyncness.is_some() { Kind::Async } else { Kind::Sync };
        Body { kind, hint, tokens: function.body.clone() }
    }

    /// The body as a block that evaluates to the hinted type: `{ let r: R = { body }; r }`.
    /// `return` and `?` inside keep their meaning once the block is a closure's or async block's.
    fn hinted(&self) -> TokenStream {
        let tokens = &self.tokens;
        match &self.hint {
            // A body that is only `panic!(..)` is not a diverging sub-expression of the user's.
            Hint::Type(ty) => quote!({
                #[allow(clippy::diverging_sub_expression)]
                let __spanscope_r: #ty = { #tokens };
                #[allow(unreachable_code)]
                __spanscope_r
            }),
            Hint::Never | Hint::None => quote!({ #tokens }),
        }
    }

    /// The body as a closure for `call_once`. `-> !` becomes `-> Infallible`, written on the
    /// closure so the diverging body is its whole body, not a sub-expression.
    pub(crate) fn closure(&self) -> TokenStream {
        let hinted = self.hinted();
        match self.hint {
            Hint::Never => quote!(move || -> ::core::convert::Infallible #hinted),
            Hint::Type(_) | Hint::None => quote!(move || #hinted),
        }
    }

    /// The body as a future. `-> !` becomes `Output = Infallible`, through an identity function
    /// whose bound types the async block.
    pub(crate) fn future(&self) -> TokenStream {
        let hinted = self.hinted();
        match self.hint {
            Hint::Never => quote!({
                fn __spanscope_never<F: ::core::future::Future<Output = ::core::convert::Infallible>>(future: F) -> F {
                    future
                }
                __spanscope_never(async move #hinted)
            }),
            // An `async fn` may return a future (a `JoinHandle`); the block that stands for its
            // body then yields one, which is what the user wrote, not a missing `.await`.
            Hint::Type(_) | Hint::None => quote!({
                #[allow(clippy::async_yields_async)]
                let __spanscope_future = async move #hinted;
                __spanscope_future
            }),
        }
    }

    /// The function's result from `value`, what the [`closure`](Self::closure) or the
    /// [`future`](Self::future) evaluated to.
    pub(crate) fn result(&self, value: TokenStream) -> TokenStream {
        match self.hint {
            Hint::Never => quote!(match #value {}),
            Hint::Type(_) | Hint::None => value,
        }
    }
}

/// The error of the result `__spanscope_ret`, if it is an `Err` whose error implements `Display`;
/// `None` for every other type (autoref specialisation between `ErrProbe` and `AnyProbe`).
pub(crate) fn probe() -> TokenStream {
    quote!({
        use ::spanscope::__private::{AnyProbe as _, ErrProbe as _};
        (&&::spanscope::__private::Probe(&__spanscope_ret)).error_info()
    })
}

/// Rebuilds `function` with the contents `generate` makes of its body. For an `#[async_trait]`
/// method (a sync fn whose last expression is `Box::pin(async move { .. })`), the inner async
/// block is instrumented as an async body and stays inside `Box::pin`.
pub(crate) fn instrument(function: &Function, generate: impl FnOnce(&Body) -> TokenStream) -> TokenStream {
    if let Some((before, call, block)) = async_trait_block(function) {
        let stmts = &block.block.stmts;
        let body = Body { kind: Kind::Async, hint: Hint::None, tokens: quote!(#(#stmts)*) };
        let contents = generate(&body);
        let ExprAsync { attrs, async_token, capture, .. } = block;
        let func = &call.func;
        return function.with_body(quote!(#(#before)* #func(#(#attrs)* #async_token #capture { #contents })));
    }
    function.with_body(generate(&Body::of(function)))
}

/// Splits the body of an `#[async_trait]` method into the statements before `Box::pin(..)`, the
/// call, and the async block inside it; `None` for any other body.
fn async_trait_block(function: &Function) -> Option<(Vec<Stmt>, ExprCall, ExprAsync)> {
    if function.sig.asyncness.is_some() {
        return None;
    }
    let mut stmts = Block::parse_within.parse2(function.body.clone()).ok()?;
    let Some(Stmt::Expr(Expr::Call(call), None)) = stmts.last() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = func.path.segments.iter().map(|s| s.ident.to_string()).collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(block)) = call.args.first() else {
        return None;
    };
    block.capture.as_ref()?;
    let block = block.clone();
    let Some(Stmt::Expr(Expr::Call(call), None)) = stmts.pop() else {
        return None;
    };
    Some((stmts, call, block))
}

/// Replaces every `impl Trait` in a type by `_`, which a `let` annotation accepts.
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer { underscore_token: syn::Token![_](impl_trait.impl_token.span) });
        } else {
            visit_mut::visit_type_mut(self, ty);
        }
    }
}
