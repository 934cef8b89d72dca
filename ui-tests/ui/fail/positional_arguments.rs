use spanscope::{entry, local};

#[local("price")]
fn price() {}

#[entry("GET /orders")]
fn serve() {}

#[entry(req.headers())]
fn serve_request(req: http::Request<()>) {
    drop(req);
}

#[local(1)]
fn numbered() {}

#[spanscope::main("checkout")]
fn main() {
    price();
    serve();
    serve_request(http::Request::new(()));
    numbered();
}
