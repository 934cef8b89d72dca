//! A real Prometheus server (Debian's `prometheus` package, which `.ci/run` installs) scraping
//! an endpoint under test, with exemplar storage on, read back through its HTTP API.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus server scraping one target every second; stopped when dropped.
pub struct Prometheus {
    child: Child,
    api: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus scraping `target`'s `/metrics`, and waits until it is ready.
    ///
    /// # Panics
    /// If the `prometheus` binary is missing (install Debian's `prometheus` package, as `.ci/run`
    /// does) or the server does not become ready within a minute.
    pub fn scraping(target: SocketAddr) -> Self {
        let dir = spanscope_readback::fresh_dir("prometheus");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: spanscope\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let api = free_address();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={api}"))
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("prometheus.log"))
            .spawn()
            .expect("the `prometheus` binary runs the Prometheus tests: install Debian's `prometheus` package (.ci/run does)");
        let server = Self { child, api, dir };
        server.wait_for("/-/ready", |status, _| status == 200);
        server
    }

    /// `GET path` on the server's API until `done(status, body)` holds; returns that body.
    pub fn wait_for(&self, path: &str, done: impl Fn(u16, &str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((status, body)) = get(self.api, path) {
                if done(status, &body) {
                    return body;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never answered {path} as expected; its log: {}",
                std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The result of the instant query `query`, once it has at least one series.
    pub fn query(&self, query: &str) -> serde_json::Value {
        let body = self.wait_for(&format!("/api/v1/query?query={}", encode(query)), |status, body| {
            status == 200 && !body.contains(r#""result":[]"#)
        });
        serde_json::from_str(&body).expect("Prometheus answers JSON")
    }

    /// The exemplars stored for the series `query` selects, once there is at least one.
    pub fn exemplars(&self, query: &str) -> serde_json::Value {
        let body = self.wait_for(
            &format!("/api/v1/query_exemplars?query={}&start=0&end=9999999999", encode(query)),
            |status, body| status == 200 && body.contains(r#""exemplars":[{"#),
        );
        serde_json::from_str(&body).expect("Prometheus answers JSON")
    }

    /// The status of the scrape target: `up`, `down` or `unknown`, with the last error.
    pub fn target_health(&self) -> (String, String) {
        let body =
            self.wait_for("/api/v1/targets", |status, body| status == 200 && !body.contains(r#""health":"unknown""#));
        let targets: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let target = &targets["data"]["activeTargets"][0];
        (target["health"].as_str().unwrap_or("").to_owned(), target["lastError"].as_str().unwrap_or("").to_owned())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address free right now.
fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port")
}

/// `GET path` over HTTP/1.0: the status and body, or `None` if the server is not answering.
pub fn get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Some((status, body.to_owned()))
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
