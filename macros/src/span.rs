//! `#[entry]`, `#[exit]`, `#[local]`: start a span, tag it, run the body inside it, end it with the
//! body's error if it returned `Err`. Sync and async bodies share the prologue; they differ in how
//! the span is kept current (a guard on the stack, or a future that enters it on every poll).

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::{Macro, Peer, SpanArgs};
use crate::body::{self, Body, Kind};
use crate::function::{self, Function};

pub(crate) fn expand(mac: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    function::expand(
        mac,
        args,
        item,
        |args, errors| SpanArgs::parse(mac, args, errors),
        |args, function, _| body::instrument(&function, |body| generate(mac, &args, &function, body)),
    )
}

fn generate(mac: Macro, args: &SpanArgs, function: &Function, body: &Body) -> TokenStream {
    // A sync body runs inside a `SyncSpan` guard, entered as it starts; an async body's `Span`
    // is entered by `Instrumented` on every poll.
    let handle = match body.kind {
        Kind::Sync => quote!(SyncSpan),
        Kind::Async => quote!(Span),
    };
    let prologue = prologue(mac, args, function, &handle);
    let probe = body::probe();
    // A timed call starts its timer before the span and ends both together; an untimed one
    // costs nothing more.
    let timed = args.metrics.unwrap_or(mac != Macro::Local);
    let (timer, finish) = if timed {
        (
            quote!(let __spanscope_timer = ::spanscope::__private::SpanTimer::start(&__SPANSCOPE_META);),
            quote!(::spanscope::__private::SpanTimer::finish(__spanscope_timer, __spanscope_span, || #probe);),
        )
    } else {
        (quote!(), quote!(__spanscope_span.finish(|| #probe);))
    };
    let result = body.result(quote!(__spanscope_ret));
    match body.kind {
        Kind::Sync => {
            let closure = body.closure();
            quote! {
                #prologue
                #timer
                let __spanscope_ret = ::spanscope::__private::call_once(#closure);
                #finish
                #result
            }
        }
        Kind::Async => {
            let future = body.future();
            quote! {
                #prologue
                #timer
                let (__spanscope_ret, __spanscope_span) =
                    ::spanscope::__private::Instrumented::new(__spanscope_span, #future).await;
                #finish
                #result
            }
        }
    }
}

/// The span's static metadata, its start (with the remote context or peer), its tags, and the
/// injection of its context into the outgoing carrier: everything before the body runs.
fn prologue(mac: Macro, args: &SpanArgs, function: &Function, handle: &TokenStream) -> TokenStream {
    let name = args.name.clone().unwrap_or_else(|| function.name());
    let kind = match mac {
        Macro::Entry => quote!(Entry),
        Macro::Exit => quote!(Exit),
        _ => quote!(Local),
    };
    let literal_peer = match &args.peer {
        Some(Peer::Literal(peer)) => quote!(::core::option::Option::Some(#peer)),
        _ => quote!(::core::option::Option::None),
    };
    let start = match (&args.headers, &args.peer) {
        (Some(headers), _) => quote!(start_entry(&__SPANSCOPE_META, &(#headers))),
        (_, Some(Peer::Expr(peer))) => quote!(start_exit(&__SPANSCOPE_META, &(#peer))),
        _ => quote!(start(&__SPANSCOPE_META)),
    };
    let mutability = (!args.tags.is_empty()).then(|| quote!(mut));
    let tags = (!args.tags.is_empty()).then(|| {
        let (keys, values) = args.tags.iter().map(|tag| (tag.key(), &tag.value)).unzip::<_, _, Vec<_>, Vec<_>>();
        quote! {
            if __spanscope_span.is_recording() {
                #(<#keys as ::spanscope::__private::TagKey>::__set_on(&mut __spanscope_span, #values);)*
            }
        }
    });
    // The carrier is a `&mut` expression (`req.headers_mut()`, a `&mut HeaderMap` parameter);
    // passing it where `&mut C` is expected reborrows it, so the body can still use it.
    let inject = args.inject.as_ref().map(|carrier| quote!(__spanscope_span.inject(#carrier);));
    quote! {
        static __SPANSCOPE_META: ::spanscope::__private::SpanMeta = ::spanscope::__private::SpanMeta::new(
            #name,
            ::spanscope::__private::SpanKind::#kind,
            #literal_peer,
        );
        let #mutability __spanscope_span = ::spanscope::__private::#handle::#start;
        #tags
        #inject
    }
}
