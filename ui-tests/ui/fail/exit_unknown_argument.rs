use spanscope::exit;

#[exit(peer = "inventory:8080", headers = headers)]
fn call(headers: &http::HeaderMap) -> usize {
    headers.len()
}

fn main() {
    call(&http::HeaderMap::new());
}
