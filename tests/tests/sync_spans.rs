//! Sync instrumented functions: kinds, names, nesting, tags, errors, panics, early returns.

use spanscope::{entry, exit, local, ErrorInfo};
use spanscope_tests::{exported, setup, SpanSet, CLIENT, INTERNAL, SERVER};

spanscope::tags! {
    /// The route being served.
    pub route: &'static str = "http.route",
    pub tenant: String,
    pub items: u32 = "order.items",
}

#[entry(name = "GET /orders/{id}", tags(route = "/orders/{id}", tenant = tenant.to_owned()))]
fn get_order(tenant: &str, id: u64) -> Result<u64, String> {
    let total = price(id)?;
    reserve("inventory:8080");
    spanscope::current().log("priced");
    Ok(total)
}

#[local(tags(items = 3))]
fn price(id: u64) -> Result<u64, String> {
    if id == 0 {
        return Err("no such order".to_owned());
    }
    Ok(id * 100)
}

#[exit(peer = addr)]
fn reserve(addr: &str) {}

#[test]
fn names_kinds_parents_and_tags() {
    let dir = setup();
    let trace = spanscope::current().trace_id();
    assert_eq!(trace, None, "no span is current outside instrumented code");
    assert_eq!(get_order("acme", 7), Ok(700));
    let spans = exported(dir);
    let root = spans.iter().find(|s| s.name == "GET /orders/{id}" && s.attributes["tenant"] == "acme").unwrap();
    let price = spans.iter().find(|s| s.name == "price" && s.trace_id == root.trace_id).unwrap();
    let reserve = spans.iter().find(|s| s.name == "reserve" && s.trace_id == root.trace_id).unwrap();
    assert_eq!((root.kind, price.kind, reserve.kind), (SERVER, INTERNAL, CLIENT));
    assert_eq!(root.parent_span_id, None);
    price.assert_child_of(root);
    reserve.assert_child_of(root);
    assert!(root.end >= reserve.end && reserve.start >= price.end, "children end inside the parent, in order");
    assert_eq!(root.attributes["http.route"], "/orders/{id}");
    assert_eq!(root.attributes["tenant"], "acme");
    assert_eq!(price.attributes["order.items"], 3);
    assert_eq!(reserve.attributes["server.address"], "inventory");
    assert_eq!(reserve.attributes["server.port"], 8080);
    assert_eq!(root.events.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["priced"]);
    assert_eq!(root.service, "tests");
    assert_eq!(spans.in_trace(&root.trace_id).len(), 3);
}

#[test]
fn err_marks_the_span_and_logs_the_error() {
    let dir = setup();
    assert!(get_order("err", 0).is_err());
    let spans = exported(dir);
    let root = spans.iter().find(|s| s.attributes.get("tenant").is_some_and(|t| t == "err")).unwrap();
    let price = spans.iter().find(|s| s.name == "price" && s.trace_id == root.trace_id).unwrap();
    for span in [root, price] {
        assert_eq!(span.status_code, 2, "{} should be an error", span.name);
        assert_eq!(span.status_message.as_deref(), Some("no such order"));
        let (name, fields) = &span.events.last().unwrap();
        assert_eq!(name, "exception");
        assert_eq!(fields["exception.message"], "no such order");
        assert_eq!(fields["exception.type"], "alloc::string::String");
    }
    assert!(spans.iter().all(|s| s.trace_id != root.trace_id || s.name != "reserve"), "`?` returned early");
}

#[local(name = "panics")]
fn panics() {
    panic!("boom");
}

#[local(name = "survives a panic")]
fn survives() -> bool {
    std::panic::catch_unwind(panics).is_err()
}

#[test]
fn a_panic_ends_the_span_as_an_error() {
    let dir = setup();
    assert!(survives());
    let spans = exported(dir);
    let outer = spans.named("survives a panic");
    let inner = spans.named("panics");
    inner.assert_child_of(outer);
    assert_eq!(inner.status_code, 2);
    assert!(inner.status_message.as_deref().unwrap().ends_with("boom"), "{:?}", inner.status_message);
    assert!(inner.status_message.as_deref().unwrap().contains("sync_spans.rs"), "the panic location is kept");
    assert_eq!(outer.status_code, 0, "the caught panic does not fail the caller");
}

struct Cache {
    entries: Vec<String>,
}

impl Cache {
    #[local]
    fn get_or_insert(&mut self, key: &str) -> &mut String {
        if let Some(i) = self.entries.iter().position(|e| e == key) {
            return &mut self.entries[i];
        }
        self.entries.push(key.to_owned());
        self.entries.last_mut().unwrap()
    }

    #[local(name = "generic")]
    fn describe<T: std::fmt::Debug>(&self, value: impl Into<Option<T>>) -> impl std::fmt::Display {
        format!("{:?} of {}", value.into(), self.entries.len())
    }
}

#[entry(name = "methods")]
fn methods() -> String {
    let mut cache = Cache { entries: Vec::new() };
    cache.get_or_insert("a").push('!');
    let again = cache.get_or_insert("a!").clone();
    format!("{again} {}", cache.describe(5u8))
}

#[test]
fn methods_generics_and_borrows() {
    let dir = setup();
    assert_eq!(methods(), "a! Some(5) of 1");
    let spans = exported(dir);
    let root = spans.named("methods");
    let children = spans.iter().filter(|s| s.parent_span_id.as_deref() == Some(&root.span_id)).count();
    assert_eq!(children, 3);
}

#[local(name = "record error by hand")]
fn record_error() {
    spanscope::current().record_error(ErrorInfo::new("Timeout", "gave up after 3 tries"));
}

#[test]
fn errors_can_be_recorded_by_hand() {
    let dir = setup();
    record_error();
    let spans = exported(dir);
    let span = spans.named("record error by hand");
    assert_eq!(span.status_code, 2);
    assert_eq!(span.events[0].1["exception.type"], "Timeout");
}

#[entry(name = "one request")]
fn one_request() -> Option<spanscope::TraceId> {
    let id = spanscope::current().trace_id();
    assert_eq!(id, inner_trace());
    id
}

#[local]
fn inner_trace() -> Option<spanscope::TraceId> {
    spanscope::current().trace_id()
}

#[test]
fn each_request_is_its_own_trace() {
    let dir = setup();
    let a = one_request().unwrap();
    let b = one_request().unwrap();
    assert_ne!(a, b);
    let spans = exported(dir);
    for id in [a, b] {
        let spans = spans.in_trace(&id.to_string());
        assert_eq!(spans.len(), 2);
        assert!(spans.iter().all(|s| s.trace_id.len() == 32 && s.span_id.len() == 16));
    }
}
