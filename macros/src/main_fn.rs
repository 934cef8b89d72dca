//! `#[main]`: initialises spanscope before the body of `fn main` and flushes when it returns (the
//! guard is dropped last). An `async fn main` becomes a sync `main` that runs the body on a tokio
//! runtime built as the arguments say; the runtime is dropped before the guard.

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::{Flavor, Macro, MainArgs};
use crate::body::{Body, Kind};
use crate::errors::Errors;
use crate::function::{self, Function};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    function::expand(Macro::Main, args, item, MainArgs::parse, generate)
}

fn generate(args: MainArgs, mut function: Function, errors: &mut Errors) -> TokenStream {
    check_signature(&function, errors);
    let config = match &args.service {
        Some(service) => quote!(::spanscope::Config::new().service_name(#service)),
        None => quote!(::spanscope::Config::new()),
    };
    let body = Body::of(&function);
    let run = match body.kind {
        Kind::Sync => {
            let flavor = args.flavor.as_ref().map(|(key, _)| key);
            for key in flavor.into_iter().chain(args.worker_threads.as_ref().map(|(key, _)| key)) {
                errors.push(syn::Error::new(
                    key.span(),
                    format!("`{key}` only applies to `async fn main`, which runs on a tokio runtime; a sync `main` runs on the main thread"),
                ));
            }
            body.tokens.clone()
        }
        Kind::Async => {
            function.sig.asyncness = None;
            let builder = match args.flavor {
                Some((_, Flavor::CurrentThread)) => quote!(new_current_thread()),
                Some((_, Flavor::MultiThread)) | None => quote!(new_multi_thread()),
            };
            let workers = args.worker_threads.map(|(_, n)| quote!(.worker_threads(#n)));
            let future = body.future();
            let result = body.result(quote!(__spanscope_ret));
            quote! {
                let __spanscope_ret = ::spanscope::__private::tokio::runtime::Builder::#builder
                    #workers
                    .enable_all()
                    .build()
                    .expect("spanscope: failed to build the tokio runtime")
                    .block_on(#future);
                #result
            }
        }
    };
    function.with_body(quote! {
        let __spanscope_guard = ::spanscope::__private::init_main(#config);
        #run
    })
}

/// `main` must be the program's `fn main()`; the errors point at what is not.
fn check_signature(function: &Function, errors: &mut Errors) {
    let sig = &function.sig;
    if sig.ident != "main" {
        errors.push(syn::Error::new(
            sig.ident.span(),
            format!(
                "`#[spanscope::main]` can only be applied to `fn main`, not `{}`; use `#[local]` or `#[entry]` to trace other functions",
                sig.ident
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "`fn main` takes no arguments; read them with `std::env::args()`",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, "`fn main` cannot be generic"));
    }
}
