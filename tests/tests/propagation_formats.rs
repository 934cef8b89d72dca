//! Every propagation format end to end: a trace crosses three "services" (segments continued
//! from headers), hopping in one format and then another, for every pair of formats; plus the
//! SkyWalking and Datadog peers' own header values, baggage, and the merge rules.

use std::collections::HashMap;

use spanscope::{entry, local, Propagator, RemoteContext};
use spanscope_tests::{exported, setup, SpanSet, SERVER};

const FORMATS: [Propagator; 5] =
    [Propagator::TraceContext, Propagator::Sw8, Propagator::Datadog, Propagator::B3, Propagator::B3Multi];

type Headers = HashMap<String, String>;

/// The next hop: continue `incoming` in `from`, then call out in `to`.
#[entry(name = "hop")]
fn hop(to: Propagator) -> (Headers, spanscope::SpanContext) {
    let mut outgoing = Headers::new();
    assert!(spanscope::inject_with(&[to], &mut outgoing));
    (outgoing, spanscope::current().context().unwrap())
}

#[local(name = "origin")]
fn origin(format: Propagator) -> (Headers, spanscope::SpanContext) {
    let mut outgoing = Headers::new();
    assert!(spanscope::inject_with(&[format], &mut outgoing));
    (outgoing, spanscope::current().context().unwrap())
}

fn continue_in(format: Propagator, headers: &Headers) -> RemoteContext {
    spanscope::extract_with(&[format], headers)
        .unwrap_or_else(|| panic!("{format} did not read back what it wrote: {headers:?}"))
}

#[test]
fn every_pair_of_formats_keeps_one_trace_and_its_parent_links() {
    let dir = setup();
    let mut chains = Vec::new();
    for a in FORMATS {
        for b in FORMATS {
            let (first, origin) = origin(a);
            let remote = continue_in(a, &first);
            assert_eq!(
                (remote.trace_id(), remote.span_id(), remote.is_sampled()),
                (origin.trace_id, origin.span_id, true)
            );
            let (second, middle) = remote.scope(|| hop(b));
            let remote = continue_in(b, &second);
            assert_eq!((remote.trace_id(), remote.span_id()), (origin.trace_id, middle.span_id), "{a} then {b}");
            let (_, last) = remote.scope(|| hop(a));
            chains.push((a, b, origin, middle, last));
        }
    }
    let spans = exported(dir);
    for (a, b, origin, middle, last) in chains {
        let trace = spans.in_trace(&origin.trace_id.to_string());
        assert_eq!(trace.len(), 3, "{a} then {b}: origin and two hops, all in one trace");
        let middle_span = spans.by_id(&middle.span_id.to_string());
        let last_span = spans.by_id(&last.span_id.to_string());
        assert_eq!(middle_span.kind, SERVER);
        assert_eq!(middle_span.parent_span_id.as_deref(), Some(origin.span_id.to_string().as_str()), "{a}");
        assert_eq!(last_span.parent_span_id.as_deref(), Some(middle.span_id.to_string().as_str()), "{b}");
    }
}

#[test]
fn unsampled_decisions_cross_every_format() {
    setup();
    for format in FORMATS {
        let headers: &[(&str, &str)] = match format {
            Propagator::TraceContext => &[("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")],
            Propagator::Sw8 => &[("sw8", "0-MGFmNzY1MTkxNmNkNDNkZDg0NDhlYjIxMWM4MDMxOWM=-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==")],
            Propagator::Datadog => &[("x-datadog-trace-id", "9532127138774266268"), ("x-datadog-parent-id", "1"), ("x-datadog-sampling-priority", "0")],
            Propagator::B3 => &[("b3", "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0")],
            _ => &[("X-B3-TraceId", "0af7651916cd43dd8448eb211c80319c"), ("X-B3-SpanId", "b7ad6b7169203331"), ("X-B3-Sampled", "0")],
        };
        let headers: Headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let remote = continue_in(format, &headers);
        assert!(!remote.is_sampled(), "{format}");
        let (outgoing, context) = remote.scope(|| hop(format));
        assert!(!context.sampled, "{format}: the hop follows its caller");
        let back = continue_in(format, &outgoing);
        assert!(!back.is_sampled(), "{format}: and says so downstream");
    }
}

#[test]
fn a_java_agents_sw8_is_continued_with_its_trace_id_kept_verbatim() {
    let dir = setup();
    // As the Java agent writes it: trace id `<uuid hex>.<thread>.<sequence>`.
    let headers: Headers = [(
        "sw8".to_owned(),
        "1-YTFiMmMzZDRlNWY2MDcxODI5M2E0YjVjNmQ3ZThmOTAuNTQuMTY5MDM2NTEyMzQ1NjAwMDE=-YTFiMmMzZDRlNWY2MDcxODI5M2E0YjVjNmQ3ZThmOTAuNTQuMTY5MDM2NTEyMzQ1NjAwMDA=-2-Y2hlY2tvdXQ=-YTFiMmNAMTAuMC4wLjc=-UE9TVDovY2hlY2tvdXQ=-b3JkZXJzOjgwODA="
            .to_owned(),
    )]
    .into();
    let remote = continue_in(Propagator::Sw8, &headers);
    let (outgoing, context) = remote.scope(|| hop(Propagator::Sw8));
    let sw8 = &outgoing["sw8"];
    let fields: Vec<&str> = sw8.split('-').collect();
    assert_eq!(fields.len(), 8);
    assert_eq!(fields[0], "1");
    assert_eq!(
        fields[1], "YTFiMmMzZDRlNWY2MDcxODI5M2E0YjVjNmQ3ZThmOTAuNTQuMTY5MDM2NTEyMzQ1NjAwMDE=",
        "trace id passed on verbatim"
    );
    assert_eq!(fields[3], "0", "our entry span is span 0 of our segment");
    let spans = exported(dir);
    let span = spans.by_id(&context.span_id.to_string());
    assert_eq!(span.trace_id, context.trace_id.to_string());
}

#[entry(name = "baggage hop")]
fn baggage_hop() -> Headers {
    assert_eq!(spanscope::baggage::get("tenant").as_deref(), Some("acme"));
    spanscope::baggage::set("step", "2").unwrap();
    assert_eq!(spanscope::baggage::remove("drop.me").as_deref(), Some("x"));
    let mut outgoing = Headers::new();
    spanscope::inject_with(&[Propagator::Baggage, Propagator::Sw8], &mut outgoing);
    outgoing
}

#[test]
fn baggage_and_correlation_merge_travel_and_change() {
    setup();
    let incoming: Headers = [
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("baggage", "tenant=acme,drop.me=x"),
        // `a2V5:dmFsdWU=` is key=value; a key already in `baggage` keeps baggage's value.
        ("sw8-correlation", "a2V5:dmFsdWU=,dGVuYW50:b3RoZXI="),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let remote =
        spanscope::extract_with(&[Propagator::TraceContext, Propagator::Baggage, Propagator::Sw8], &incoming).unwrap();
    assert_eq!(remote.baggage().iter().collect::<Vec<_>>(), [("tenant", "acme"), ("drop.me", "x"), ("key", "value")]);
    let outgoing = remote.scope(baggage_hop);
    assert_eq!(outgoing["baggage"], "tenant=acme,key=value,step=2");
    assert_eq!(outgoing["sw8-correlation"], "dGVuYW50:YWNtZQ==,a2V5:dmFsdWU=,c3RlcA==:Mg==");
    assert_eq!(spanscope::baggage::set("k", "v"), Err(spanscope::BaggageError::NoCurrentSpan));
}

#[test]
fn the_first_valid_context_wins_and_same_trace_formats_add_their_fields() {
    let dir = setup();
    let incoming: Headers = [
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        // The same trace in sw8 (32 hex), naming the caller's SkyWalking segment.
        ("sw8", "1-NGJmOTJmMzU3N2IzNGRhNmEzY2U5MjlkMGUwZTQ3MzY=-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA=="),
        // A different trace in B3: ignored, traceparent came first.
        ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let remote =
        spanscope::extract_with(&[Propagator::TraceContext, Propagator::Sw8, Propagator::B3], &incoming).unwrap();
    assert_eq!(remote.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(remote.span_id().to_string(), "00f067aa0ba902b7", "traceparent's parent, not sw8's");
    let (_, context) = remote.scope(|| hop(Propagator::B3));
    let spans = exported(dir);
    assert_eq!(spans.by_id(&context.span_id.to_string()).parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
}
