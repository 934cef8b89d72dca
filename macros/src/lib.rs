//! The attribute macros of spanscope. Use them through the `spanscope` crate, which re-exports them:
//! `spanscope::{entry, exit, local, profiled, main, tags, metrics, record}`.
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
//! - `tags` expands `tags!`;
//! - `instrument` parses one declaration of `metrics!` into a typed instrument, checking its
//!   name and unit with `instrument_name` (OpenTelemetry's syntax); `metrics` expands `metrics!`;
//! - `record` expands `record!`.
//!
//! Every misuse is a compile error at the offending token, saying what would be right. After an
//! error the item is still emitted (expanded as far as possible, or unchanged), so one mistake does
//! not bury the crate in follow-up errors.

mod args;
mod body;
mod errors;
mod function;
mod instrument;
mod instrument_name;
mod list;
mod main_fn;
mod metrics;
mod misspelling;
mod profiled;
mod raw_arg;
mod record;
mod span;
mod tags;

use proc_macro::TokenStream;

use crate::args::Macro;

/// Instruments a function as an **entry** span: the server or consumer side of a remote call.
///
/// `#[entry]`, `#[entry(name = "GET /orders/{id}", headers = req.headers(), tags(route = "x"))]`.
/// `headers` is any carrier the runtime can extract a remote context from; `tags(...)` takes keys
/// declared with `tags!`. The span is named after the function unless `name` is given. Each call
/// is timed in the `spanscope.span.duration` histogram (`metrics = false` opts out).
#[proc_macro_attribute]
pub fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
    span::expand(Macro::Entry, args.into(), item.into()).into()
}

/// Instruments a function as an **exit** span: the client or producer side of a remote call.
///
/// `#[exit(peer = "inventory:8080")]`, `#[exit(peer = self.addr, inject = req.headers_mut())]`.
/// `peer` (required) is the address of the remote side: a string literal, or any expression that
/// implements `Display`. `inject` is a carrier the span's context is written into before the body runs.
/// Each call is timed in the `spanscope.span.duration` histogram (`metrics = false` opts out).
#[proc_macro_attribute]
pub fn exit(args: TokenStream, item: TokenStream) -> TokenStream {
    span::expand(Macro::Exit, args.into(), item.into()).into()
}

/// Instruments a function as a **local** span: in-process work inside the current trace.
///
/// `#[local]`, `#[local(name = "price", tags(tenant = t.clone()))]`. `metrics = true` times each
/// call in the `spanscope.span.duration` histogram, as `#[entry]` and `#[exit]` do by default.
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

/// Declares metric instruments: counters, up-down counters, histograms and gauges, recorded where
/// the program runs, and their observable kinds, read by a callback at each collection.
///
/// ```ignore
/// spanscope::metrics! {
///     /// Orders placed.
///     pub orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route, tenant] },
///     /// Time to price a basket.
///     pub price_duration: Histogram<f64> = "shop.price.duration" {
///         unit: "s",
///         attributes: [tenant, status?],
///         buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
///     },
///     pub open_carts: ObservableGauge<i64> = "shop.carts.open" { attributes: [tenant], callback: count_open_carts },
/// }
/// ```
///
/// A declaration is `name: Kind<value type>`, then `= "wire.name"` (else the identifier is the
/// name, `r#` left out), then settings in braces, all optional but `callback`:
///
/// | kind | value types | settings besides `unit` and `attributes` |
/// |---|---|---|
/// | `Counter` | `u64`, `f64` | |
/// | `UpDownCounter` | `i64`, `f64` | |
/// | `Histogram` | `u64`, `f64` | `buckets: [..]`: bounds, finite and strictly increasing (default: OpenTelemetry's, `0` to `10000`) |
/// | `Gauge` | `i64`, `u64`, `f64` | |
/// | `ObservableCounter` | `u64`, `f64` | `callback: path` (required) |
/// | `ObservableUpDownCounter` | `i64`, `f64` | `callback: path` (required) |
/// | `ObservableGauge` | `i64`, `u64`, `f64` | `callback: path` (required) |
///
/// - `unit: "s"`: UCUM, ASCII, at most 63 characters.
/// - `attributes: [route, tenant?]`: tag keys declared with `tags!`; `?` makes one optional.
/// - The name must match OpenTelemetry's instrument name syntax, `[A-Za-z][A-Za-z0-9_.\-/]{0,254}`,
///   and differ (ignoring case) from the other names of the block.
/// - The doc comment is the instrument's description, its lines joined by a space.
/// - The instrumentation scope is the declaring crate: its name and version.
///
/// Each instrument becomes a module of that name (declare instruments at module level: the module
/// sees its parent's items), holding:
/// - `Attributes<'a>`: a struct with one field per attribute key, of the key's value type, with
///   `&'a str` for a `String` key (no clone to record) and `Option<_>` for an optional one;
/// - sync kinds: `record(value, Attributes { .. })` (and `add` for counters and up-down counters),
///   and `bind(Attributes { .. })`, a `spanscope::metrics::BoundCounter` (and so on) that records
///   without looking the attribute set up;
/// - observable kinds: `Observer<'_>`, which the callback, a `fn(&mut name::Observer<'_>)`, reports
///   values through with `observer.record(value, name::Attributes { .. })`, and `register()`, which
///   has the callback called at every collection from then on.
///
/// Every mistake is a compile error at its token: a name or unit that is not valid, a name declared
/// twice, an unknown kind or setting (with the likely one), a value type the kind does not record,
/// a setting for another kind, buckets that are not increasing number literals, an observable
/// instrument without `callback`, an attribute listed twice. An undeclared attribute key, a
/// callback of the wrong signature, and at a recording an unknown, missing or mistyped attribute
/// or value, are rustc's errors at the user's tokens.
#[proc_macro]
pub fn metrics(input: TokenStream) -> TokenStream {
    metrics::expand(input.into()).into()
}

/// Records a value into an instrument declared with `metrics!`: `record!(orders, 1, route =
/// "/checkout", tenant)` is `orders::record(1, orders::Attributes { route: "/checkout", tenant })`.
///
/// The instrument may be a path (`crate::shop::orders`); an attribute written alone is the
/// variable of that name. Every sync kind records this way (for counters, `record` is `add`).
/// A missing, unknown or mistyped attribute, or a value of the wrong type, is rustc's error at the
/// user's token.
#[proc_macro]
pub fn record(input: TokenStream) -> TokenStream {
    record::expand(input.into()).into()
}
