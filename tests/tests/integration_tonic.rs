//! `ServerLayer` on a tonic server and `ClientLayer` on a tonic client, on loopback: gRPC span
//! names and `rpc.*` tags, the status read from the trailers (success) or the headers
//! (trailers-only errors), which statuses fail which side, and the parent links of a call.

use spanscope::local;
use spanscope::tower::{ClientLayer, ClientService, ServerLayer};
use spanscope_tests::collector::Incoming;
use spanscope_tests::{exported, setup, ExportedSpan, SpanSet, CLIENT, INTERNAL, SERVER};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tower::Layer;

mod echo {
    tonic::include_proto!("spanscope.test.echo.v1");
}

use echo::echo_client::EchoClient;
use echo::echo_server::{Echo, EchoServer};
use echo::{SayReply, SayRequest};

const SAY: &str = "spanscope.test.echo.v1.Echo/Say";

#[derive(Debug)]
struct EchoService;

#[tonic::async_trait]
impl Echo for EchoService {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayReply>, Status> {
        let request = request.into_inner();
        match request.fail_with {
            0 => Ok(Response::new(SayReply { text: request.text })),
            code => Err(Status::new(Code::from(code), format!("refused {}", request.text))),
        }
    }
}

async fn serve() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        tonic::transport::Server::builder().layer(ServerLayer::new()).add_service(EchoServer::new(EchoService));
    tokio::spawn(server.serve_with_incoming(Incoming(listener)));
    addr
}

async fn connect(addr: std::net::SocketAddr) -> EchoClient<ClientService<Channel>> {
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    EchoClient::new(ClientLayer::new().peer(addr.to_string()).layer(channel))
}

/// One call under a local span, so the exit span has a parent in this process.
#[local]
async fn call(client: &mut EchoClient<ClientService<Channel>>, text: &str, fail_with: Code) -> Result<String, Code> {
    let request = SayRequest { text: text.to_owned(), fail_with: fail_with as i32 };
    client.say(request).await.map(|reply| reply.into_inner().text).map_err(|status| status.code())
}

/// The client span and the server span of the call made under the `call` span `caller`.
fn pair<'a>(spans: &'a [ExportedSpan], caller: &ExportedSpan) -> (&'a ExportedSpan, &'a ExportedSpan) {
    let trace = spans.in_trace(&caller.trace_id);
    let client = trace.iter().find(|s| s.kind == CLIENT).expect("the client span");
    let server = trace.iter().find(|s| s.kind == SERVER).expect("the server span");
    client.assert_child_of(caller);
    server.assert_child_of(client);
    (client, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_named_by_method_and_carry_their_status_across_both_layers() {
    let dir = setup();
    let addr = serve().await;
    let mut client = connect(addr).await;
    assert_eq!(call(&mut client, "hello", Code::Ok).await, Ok("hello".to_owned()));
    assert_eq!(call(&mut client, "crash", Code::Internal).await, Err(Code::Internal));
    assert_eq!(call(&mut client, "missing", Code::NotFound).await, Err(Code::NotFound));
    let spans = exported(dir);
    let callers: Vec<_> = spans.iter().filter(|s| s.name == "call" && s.kind == INTERNAL).collect();
    assert_eq!(callers.len(), 3);

    let outcomes: Vec<_> = callers
        .iter()
        .map(|caller| {
            let (client, server) = pair(&spans, caller);
            for span in [client, server] {
                assert_eq!(span.name, SAY);
                assert_eq!(span.attributes["rpc.system"], "grpc");
                assert_eq!(span.attributes["rpc.service"], "spanscope.test.echo.v1.Echo");
                assert_eq!(span.attributes["rpc.method"], "Say");
            }
            assert_eq!(client.attributes["server.port"], i64::from(addr.port()), "the peer given to the layer");
            assert_eq!(server.attributes["network.protocol.version"], "2");
            let code = |span: &ExportedSpan| span.attributes["rpc.grpc.status_code"].as_i64().unwrap();
            assert_eq!(code(client), code(server));
            (code(client), client.status_code, server.status_code, client.status_message.clone())
        })
        .collect();
    assert!(outcomes.contains(&(0, 0, 0, None)), "OK, read from the trailers: {outcomes:?}");
    assert!(
        outcomes.contains(&(13, 2, 2, Some("refused crash".to_owned()))),
        "INTERNAL fails both sides: {outcomes:?}"
    );
    assert!(
        outcomes.contains(&(5, 2, 0, Some("refused missing".to_owned()))),
        "NOT_FOUND fails the client only: {outcomes:?}"
    );
}
