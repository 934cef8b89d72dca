use http::HeaderMap;
use spanscope::exit;

#[exit(peer = "inventory:8080", inject = headers)]
fn call(headers: HeaderMap) -> usize {
    headers.len()
}

fn main() {
    call(HeaderMap::new());
}
