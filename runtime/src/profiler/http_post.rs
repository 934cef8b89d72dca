//! A minimal HTTP/1.1 POST over a plain TCP connection, for the Pyroscope exporter: one request
//! per connection, a deadline on every step, the status code back.
//!
//! Deliberately small and isolated until profiles can travel through the export pipeline's
//! HTTP client and retry lanes, which are built for span batches today; it runs on the
//! profile pusher thread only, never on an application thread.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// One request.
#[derive(Debug)]
pub(crate) struct Post<'a> {
    /// `host:port`.
    pub authority: &'a str,
    /// Path and query.
    pub target: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub timeout: Duration,
}

/// Sends the request and returns the response's status code.
pub(crate) fn send(post: &Post<'_>) -> std::io::Result<u16> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} does not resolve", post.authority));
    for address in post.authority.to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, post.timeout) {
            Ok(stream) => return exchange(stream, post),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// The `Authorization` value for HTTP basic authentication with `user:password`: "Basic " and
/// the credentials in standard Base64 with padding (RFC 7617).
pub(crate) fn basic_authorization(credentials: &str) -> String {
    let mut out = String::from("Basic ");
    crate::propagation::base64::encode_into(credentials.as_bytes(), &mut out);
    out
}

fn exchange(mut stream: TcpStream, post: &Post<'_>) -> std::io::Result<u16> {
    stream.set_read_timeout(Some(post.timeout))?;
    stream.set_write_timeout(Some(post.timeout))?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: spanscope/{}\r\n",
        post.target,
        post.authority,
        post.body.len(),
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in post.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(post.body)?;
    stream.flush()?;
    // The status line is all that is needed; the rest is read and dropped so the server is not
    // reset mid-response.
    let mut response = Vec::with_capacity(256);
    let mut buffer = [0u8; 1024];
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 || response.len() > 64 * 1024 {
            break;
        }
        response.extend_from_slice(&buffer[..n]);
    }
    let status_line = response.split(|&b| b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(status_line)
        .ok()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP status line in the response"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_authorization_is_rfc_7617() {
        assert_eq!(super::basic_authorization("Aladdin:open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(super::basic_authorization("user:pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(super::basic_authorization("u:"), "Basic dTo=");
    }
}
