//! Runs the integration examples (`axum`, `hyper`, `tonic`, `reqwest`) and checks the traces they
//! wrote: route-named server spans with their handlers' spans under them, client spans parenting
//! the server spans they called, gRPC names and statuses.

use examples::run_example;
use spanscope_readback::logs::read_logs;
use spanscope_readback::{fresh_dir, read_spans, ExportedSpan, CLIENT, SERVER};

/// Runs the example `name` with the local exporter; what it printed and the spans it wrote.
fn run(name: &str) -> (String, Vec<ExportedSpan>) {
    let out = fresh_dir(name);
    let output = run_example(name, &out, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("traces.jsonl"), "the example says where the trace went: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), read_spans(&out.join("traces.jsonl")))
}

/// The spans whose parent is `parent`.
fn children<'a>(spans: &'a [ExportedSpan], parent: &ExportedSpan) -> Vec<&'a ExportedSpan> {
    spans.iter().filter(|s| s.parent_span_id.as_deref() == Some(parent.span_id.as_str())).collect()
}

/// Every client span of `spans` has exactly one server span under it, with the client's name.
fn assert_calls_cross(spans: &[ExportedSpan], calls: usize) {
    let clients: Vec<_> = spans.iter().filter(|s| s.kind == CLIENT).collect();
    assert_eq!(clients.len(), calls);
    for client in clients {
        let served = children(spans, client);
        assert_eq!(served.len(), 1, "one server span under {client:?}");
        assert_eq!((served[0].kind, &served[0].name), (SERVER, &client.name));
        assert_eq!(served[0].trace_id, client.trace_id);
    }
}

#[test]
fn axum_names_spans_by_route_with_handler_spans_under_them() {
    let (stdout, spans) = run("axum");
    assert!(stdout.contains("GET /items/unicorn → 404"), "{stdout}");
    let items: Vec<_> = spans.iter().filter(|s| s.name == "GET /items/{name}").collect();
    assert_eq!(items.len(), 3);
    for item in items {
        assert_eq!(item.attributes["http.route"], "/items/{name}");
        assert_eq!(children(&spans, item).iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["price"]);
    }
    assert!(spans.iter().any(|s| s.name == "GET" && s.attributes["url.path"] == "/nowhere"));
}

#[test]
fn hyper_client_spans_parent_the_server_spans() {
    let (stdout, spans) = run("hyper");
    assert!(stdout.contains("lamp: "), "{stdout}");
    assert_calls_cross(&spans, 2);
}

#[test]
fn tonic_calls_carry_their_method_and_status() {
    let (stdout, spans) = run("tonic");
    assert!(stdout.contains("hello, Ada"), "{stdout}");
    assert_calls_cross(&spans, 2);
    let codes: Vec<_> =
        spans.iter().filter(|s| s.kind == CLIENT).map(|s| &s.attributes["rpc.grpc.status_code"]).collect();
    assert!(codes.contains(&&0.into()) && codes.contains(&&3.into()), "OK and INVALID_ARGUMENT: {codes:?}");
    assert!(spans.iter().all(|s| s.kind == 1 || s.name == "spanscope.examples.greeter.v1.Greeter/SayHello"));
}

#[test]
fn reqwest_requests_are_continued_by_the_server_and_failures_recorded() {
    let (stdout, spans) = run("reqwest");
    assert!(stdout.contains("unreachable server"), "{stdout}");
    let clients: Vec<_> = spans.iter().filter(|s| s.kind == CLIENT).collect();
    assert_eq!(clients.len(), 2);
    let failed = clients.iter().find(|s| s.status_code == 2).expect("the refused request's span");
    assert!(children(&spans, failed).is_empty());
    let answered = clients.iter().find(|s| s.status_code == 0).expect("the answered request's span");
    assert_eq!(children(&spans, answered).len(), 1);
    assert!(stdout.contains(&format!("{}-{}", answered.trace_id, answered.span_id)), "{stdout}");
}

#[test]
fn logs_carry_the_ids_of_the_span_they_were_made_in() {
    let out = fresh_dir("logs");
    let output = run_example("logs", &out, &[("OTEL_LOGS_EXPORTER", "local")]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("GET /items/unicorn → 404"));
    let spans = read_spans(&out.join("traces.jsonl"));
    let logs = read_logs(&out.join("logs.jsonl"));
    let bodies: Vec<&str> = logs.iter().map(|log| log.body.as_str()).collect();
    assert_eq!(bodies.iter().filter(|b| **b == "looking up").count(), 2, "{bodies:?}");
    assert!(!bodies.contains(&"not kept: below the default `info` filter"), "{bodies:?}");
    let serving = logs.iter().find(|log| log.body == "serving").expect("the start-up line");
    assert_eq!((&serving.trace_id, &serving.span_id), (&None, &None), "made outside any span");
    for log in logs.iter().filter(|log| log.body != "serving") {
        let span = spans.iter().find(|s| Some(&s.span_id) == log.span_id.as_ref()).expect("the record's span");
        assert_eq!(Some(&span.trace_id), log.trace_id.as_ref());
        let expected = if log.body == "priced" { "price" } else { "GET /items/{name}" };
        assert_eq!(span.name, expected, "{log:?}");
    }
    let warn = logs.iter().find(|log| log.body == "no such item").expect("the warning");
    assert_eq!((warn.severity_number, warn.severity_text.as_str()), (13, "WARN"));
    assert_eq!(warn.attributes["item"], "unicorn");
}
