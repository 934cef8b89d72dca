//! Facts about the host that backends show next to an instance: OS name and IPv4 addresses.

/// The OS name as the SkyWalking Java agent spells it (its `OS Name` property).
pub(crate) fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        other => other,
    }
}

/// The machine's own IPv4 addresses other than loopback. On Linux they are the `/32 host LOCAL`
/// entries of the kernel's routing trie (no socket, no system call beyond one file read);
/// elsewhere none are reported.
pub(crate) fn ipv4_addresses() -> Vec<String> {
    std::fs::read_to_string("/proc/net/fib_trie").map(|trie| local_addresses(&trie)).unwrap_or_default()
}

/// In `/proc/net/fib_trie`, an address line (`|-- 10.0.0.5`) followed by `/32 host LOCAL` is
/// an address of this machine.
fn local_addresses(trie: &str) -> Vec<String> {
    let mut addresses = Vec::new();
    let mut last: Option<&str> = None;
    for line in trie.lines() {
        let line = line.trim();
        if let Some(address) = line.strip_prefix("|-- ") {
            last = Some(address.trim());
        } else if line == "/32 host LOCAL" {
            if let Some(address) = last.take() {
                let loopback = address.starts_with("127.");
                if !loopback && address.parse::<std::net::Ipv4Addr>().is_ok() && !addresses.iter().any(|a| a == address)
                {
                    addresses.push(address.to_owned());
                }
            }
        }
    }
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_read_from_the_routing_trie() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 10.0.2.0/24 2 0 2\n        |-- 10.0.2.15\n           /32 host LOCAL\n        |-- 10.0.2.255\n           /32 link BROADCAST\n     |-- 127.0.0.1\n        /32 host LOCAL\nLocal:\n        |-- 10.0.2.15\n           /32 host LOCAL\n";
        assert_eq!(local_addresses(trie), vec!["10.0.2.15".to_owned()]);
    }
}
