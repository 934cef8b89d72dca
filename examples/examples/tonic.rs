//! A tonic server and client, traced with the tower layers: `ServerLayer` on
//! `Server::builder()`, `ClientLayer` around the client's channel.
//!
//! ```text
//! cargo run --example tonic
//! ```
//!
//! Each call is a client span and a server span named `spanscope.examples.greeter.v1.Greeter/SayHello`
//! with `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code` (read from the
//! response trailers, or from the headers of an error answered without a body). The refused call
//! (INVALID_ARGUMENT) fails the client span only: the server did its job. Spans go to
//! `spanscope-out/traces.jsonl` (the path is printed at exit).

use spanscope::local;
use spanscope::tower::{ClientLayer, ClientService, ServerLayer};
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tower::Layer;

mod greeter {
    tonic::include_proto!("spanscope.examples.greeter.v1");
}

use greeter::greeter_client::GreeterClient;
use greeter::greeter_server::{Greeter, GreeterServer};
use greeter::{HelloReply, HelloRequest};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug)]
struct Greetings;

#[tonic::async_trait]
impl Greeter for Greetings {
    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("a name, please"));
        }
        Ok(Response::new(HelloReply { message: greeting(&name) }))
    }
}

#[local]
fn greeting(name: &str) -> String {
    format!("hello, {name}")
}

/// The caller's own span; the call's client span is its child.
#[local]
async fn greet(client: &mut GreeterClient<ClientService<Channel>>, name: &str) -> Result<String, Status> {
    let reply = client.say_hello(HelloRequest { name: name.to_owned() }).await?;
    Ok(reply.into_inner().message)
}

#[spanscope::main(service = "tonic-example")]
async fn main() -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Without TCP_NODELAY each reply's trailers wait for the ACK of its data (Nagle's algorithm
    // meeting the client's delayed ACK): 40 ms per call.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = Server::builder().layer(ServerLayer::new()).add_service(GreeterServer::new(Greetings));
    let server = tokio::spawn(server.serve_with_incoming(incoming));

    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    // Generated clients send only the path; the channel adds the address, so the layer is told it.
    let mut client = GreeterClient::new(ClientLayer::new().peer(addr.to_string()).layer(channel));
    for name in ["Ada", ""] {
        match greet(&mut client, name).await {
            Ok(message) => println!("{message}"),
            Err(status) => println!("refused: {:?} {}", status.code(), status.message()),
        }
    }
    server.abort();
    Ok(())
}
