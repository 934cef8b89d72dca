//! The socket DogStatsD datagrams go through: UDP to `host:port`, or a Unix datagram socket.
//!
//! Sockets are non-blocking: a datagram the kernel cannot take now (`EWOULDBLOCK`, `ENOBUFS`)
//! fails at once rather than making anything wait. The socket is connected at the first send
//! and again after the agent was found gone, so an agent that starts after the application, or
//! restarts, is reached (UDP resolves its host again then).

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
#[cfg(unix)]
use std::path::PathBuf;

/// The most bytes a UDP datagram carries (datadog-go's `OptimalUDPPayloadSize`: an Ethernet
/// MTU less the IP and UDP headers).
const UDP_PAYLOAD: usize = 1432;
/// The most bytes a Unix datagram carries (datadog-go's `DefaultMaxAgentPayloadSize`).
#[cfg(unix)]
const UNIX_PAYLOAD: usize = 8192;

/// Where the agent listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Agent {
    Udp {
        host: String,
        port: u16,
    },
    #[cfg(unix)]
    Unix(PathBuf),
}

impl Agent {
    /// The most bytes one datagram to it carries.
    pub(crate) fn max_payload(&self) -> usize {
        match self {
            Self::Udp { .. } => UDP_PAYLOAD,
            #[cfg(unix)]
            Self::Unix(_) => UNIX_PAYLOAD,
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Udp { host, port } if host.contains(':') => write!(f, "udp://[{host}]:{port}"),
            Self::Udp { host, port } => write!(f, "udp://{host}:{port}"),
            #[cfg(unix)]
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// A socket to the agent, connected when first needed.
#[derive(Debug)]
pub(crate) struct AgentSocket {
    agent: Agent,
    connected: Option<Connected>,
}

#[derive(Debug)]
enum Connected {
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(UnixDatagram),
}

impl AgentSocket {
    pub(crate) fn new(agent: Agent) -> Self {
        Self { agent, connected: None }
    }

    /// Connects if not connected. Fails when the host does not resolve or no agent listens on
    /// the Unix socket.
    pub(crate) async fn connect(&mut self) -> io::Result<()> {
        if self.connected.is_some() {
            return Ok(());
        }
        let connected = match &self.agent {
            Agent::Udp { host, port } => {
                let address = tokio::net::lookup_host((host.as_str(), *port))
                    .await?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "the host has no address"))?;
                let local: SocketAddr = match address {
                    SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                    SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
                };
                let socket = UdpSocket::bind(local)?;
                socket.connect(address)?;
                socket.set_nonblocking(true)?;
                Connected::Udp(socket)
            }
            #[cfg(unix)]
            Agent::Unix(path) => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(path)?;
                socket.set_nonblocking(true)?;
                Connected::Unix(socket)
            }
        };
        self.connected = Some(connected);
        Ok(())
    }

    /// Sends one datagram, whole or not at all, without waiting.
    pub(crate) fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let sent = match &self.connected {
            None => return Err(io::ErrorKind::NotConnected.into()),
            Some(Connected::Udp(socket)) => socket.send(datagram)?,
            #[cfg(unix)]
            Some(Connected::Unix(socket)) => socket.send(datagram)?,
        };
        match sent == datagram.len() {
            true => Ok(()),
            false => Err(io::Error::new(io::ErrorKind::WriteZero, "the datagram was cut")),
        }
    }

    /// Forgets the connection, so that the next send connects again.
    pub(crate) fn disconnect(&mut self) {
        self.connected = None;
    }
}

/// Whether `error` says no agent is there (rather than that one datagram could not go).
pub(crate) fn agent_gone(error: &io::Error) -> bool {
    use io::ErrorKind::{AddrNotAvailable, BrokenPipe, ConnectionRefused, ConnectionReset, NotConnected, NotFound};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionReset | NotConnected | NotFound | BrokenPipe | AddrNotAvailable
    )
}
