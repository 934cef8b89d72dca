#![deny(warnings)]
//! `#[exit]` with a literal peer, an expression peer (a call among them: `name(...)` after `=` is a
//! value, not the next argument), and context injection.

use http::{HeaderMap, Request};
use spanscope::exit;

spanscope::tags! {
    pub route: &'static str = "http.route",
}

struct Client {
    addr: String,
}

impl Client {
    #[exit(peer = self.addr, inject = req.headers_mut(), name = "POST /reserve", tags(route = "/reserve"))]
    async fn reserve(&self, mut req: Request<()>) -> Result<Request<()>, String> {
        if req.uri().path().is_empty() {
            return Err("no path".to_owned());
        }
        Ok(req)
    }

    #[exit(peer = "inventory:8080")]
    fn ping(&self) -> bool {
        !self.addr.is_empty()
    }
}

#[exit(peer = "billing:9090", inject = headers)]
fn charge(headers: &mut HeaderMap, cents: u64) -> u64 {
    cents + headers.len() as u64
}

#[exit(peer = format!("{host}:{port}"))]
fn connect(host: &str, port: u16) -> usize {
    host.len() + usize::from(port)
}

fn address(port: u16) -> String {
    format!("ledger:{port}")
}

#[exit(peer = address(port), inject = headers)]
fn post(headers: &mut HeaderMap, port: u16) -> u16 {
    port
}

fn main() {
    let client = Client { addr: "inventory:8080".to_owned() };
    assert!(client.ping());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let req = Request::post("/reserve").body(()).unwrap();
    assert!(rt.block_on(client.reserve(req)).is_ok());
    assert_eq!(charge(&mut HeaderMap::new(), 5), 5);
    assert_eq!(connect("a", 1), 2);
    assert_eq!(post(&mut HeaderMap::new(), 7), 7);
}
