use spanscope::exit;

// The peer written without its key: the error shows it with its key, and the function expands as
// if it were written so (no second error about a missing `peer`).
#[exit("inventory:8080")]
fn reserve() {}

#[exit(addr)]
fn call(addr: &str) -> usize {
    addr.len()
}

#[exit(inventory:8080)]
fn unquoted() {}

fn address(port: u16) -> String {
    format!("ledger:{port}")
}

#[exit(address(port))]
fn post(port: u16) -> u16 {
    port
}

fn main() {
    reserve();
    call("inventory:8080");
    unquoted();
    post(7);
}
