#![deny(warnings, missing_docs, missing_debug_implementations)]
//! `tags!` keeps docs, attributes and visibility, takes wire names, and its keys are used by path;
//! a local variable or parameter named like a key does not clash with it; a keyword key is declared
//! and used raw.

/// The tag keys of this program.
pub mod keys {
    spanscope::tags! {
        /// The route being served.
        pub route: &'static str = "http.route",
        /// The customer.
        pub tenant: String,
        /// Whether the request was retried.
        pub(crate) retried: bool = "retry",
        /// The attempt number.
        pub attempt: u32,
        /// The kind of request: a keyword, declared raw; its wire name is `type`.
        pub r#type: &'static str,
    }
}

use keys::{r#type, route};
use spanscope::{local, profiled, TagKey};

/// A function whose parameter is named like a tag key.
#[local(tags(route = "/x", keys::tenant = route.to_owned(), keys::retried = false, keys::attempt = 2))]
pub fn handle(route: &str) -> usize {
    route.len()
}

/// A function tagged with a raw identifier key.
#[profiled(r#type = "batch")]
pub fn batch() {}

fn main() {
    assert_eq!(handle("/abc"), 4);
    batch();
    assert_eq!(<r#type as TagKey>::meta().wire_name(), "type");
    let _ = <route as TagKey>::meta();
    let _ = <keys::tenant as TagKey>::meta();
}
