//! The attribute macros of spanscope. Use them through the `spanscope` crate, which re-exports them:
//! `spanscope::{entry, exit, local, profiled, main, tags}`.
//!
//! This crate only parses arguments and generates code; everything that runs lives in `spanscope`.
//! Generated code calls nothing but `::spanscope::__private::...` items.
//!
//! The map:
//! - `args` parses and checks the typed arguments of every attribute, before any code is made;
//! - `raw_arg` parses one argument as written, `list` the comma-separated lists of them, one item
//!   at a time, and `misspelling` finds the argument a misspelt one stands for;
//! - `function` parses the annotated item, so that a broken body still expands (IDEs keep
//!   working);
//! - `body` holds what the expansions share: sync/async/`#[async_trait]` shapes, the return-type
//!   hint, the error probe;
//! - `span` expands `#[entry]`, `#[exit]`, `#[local]`;
//! - `profiled` expands `#[profiled]`;
//! - `main_fn` expands `#[main]`;
//! - `tags` expands `tags!`.
//!
//! Every misuse is a compile error at the offending token, saying what would be right. After an
//! error the item is still emitted (expanded as far as possible, or unchanged), so one mistake does
//! not bury the crate in follow-up errors.

mod args;
mod body;
mod errors;
mod function;
mod list;
mod main_fn;
mod misspelling;
mod profiled;
mod raw_arg;
mod span;
mod tags;

use proc_macro::TokenStream;

use crate::args::Macro;

/// Instruments a function as an **entry** span: the server or consumer side of a remote call.
///
/// `#[entry]`, `#[entry(name = "GET /orders/{id}", headers = req.headers(), tags(route = "x"))]`.
/// `headers` is any carrier the runtime can extract a remote context from; `tags(...)` takes keys
/// declared with `tags!`. The span is named after the function unless `name` is given.
#[proc_macro_attribute]
pub fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
    span::expand(Macro::Entry, args.into(), item.into()).into()
}

/// Instruments a function as an **exit** span: the client or producer side of a remote call.
///
/// `#[exit(peer = "inventory:8080")]`, `#[exit(peer = self.addr, inject = req.headers_mut())]`.
/// `peer` (required) is the address of the remote side: a string literal, or any expression that
/// implements `Display`. `inject` is a carrier the span's context is written into before the body runs.
#[proc_macro_attribute]
pub fn exit(args: TokenStream, item: TokenStream) -> TokenStream {
    span::expand(Macro::Exit, args.into(), item.into()).into()
}

/// Instruments a function as a **local** span: in-process work inside the current trace.
///
/// `#[local]`, `#[local(name = "price", tags(tenant = t.clone()))]`.
#[proc_macro_attribute]
pub fn local(args: TokenStream, item: TokenStream) -> TokenStream {
    span::expand(Macro::Local, args.into(), item.into()).into()
}

/// Tags every CPU profile sample taken while the function runs.
///
/// `#[profiled(route = "checkout", tenant = tenant.clone())]`: at least one tag, keys declared with
/// `tags!`. On an async function the tags are set around every poll.
#[proc_macro_attribute]
pub fn profiled(args: TokenStream, item: TokenStream) -> TokenStream {
    profiled::expand(args.into(), item.into()).into()
}

/// Starts spanscope for the whole program, and the tokio runtime for an `async fn main`.
///
/// `#[main]`, `#[main(service = "checkout", flavor = "current_thread")]`,
/// `#[main(flavor = "multi_thread", worker_threads = 4)]`. The return type of `main` is kept;
/// everything is flushed when `main` returns, and on Linux before SIGINT, SIGTERM or SIGHUP end
/// the process, unless the program handles that signal itself.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_fn::expand(args.into(), item.into()).into()
}

/// Declares tag keys: `tags! { /// doc \n pub route: &'static str = "http.route", pub tenant: String }`.
///
/// Each key becomes a type (so a typo is a compile error at the key) with its value type and its
/// wire name (the identifier unless `= "wire.name"` is given).
#[proc_macro]
pub fn tags(input: TokenStream) -> TokenStream {
    tags::expand(input.into()).into()
}
