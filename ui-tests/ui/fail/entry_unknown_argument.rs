use spanscope::entry;

#[entry(peer = "inventory:8080")]
fn serve() {}

#[entry(inject = headers)]
fn serve_again(headers: http::HeaderMap) {
    drop(headers);
}

fn main() {
    serve();
    serve_again(http::HeaderMap::new());
}
