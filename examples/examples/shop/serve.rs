//! `shop serve <role> [--port N] [--downstream HOST:PORT]`: one service in this process, set up by
//! `#[spanscope::main]`, serving until standard input closes.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{frontend, inventory, orders, Error};

/// One of the three services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Frontend,
    Orders,
    Inventory,
}

impl Role {
    /// In the order the demo starts them: each one's downstream first.
    pub const ALL: [Role; 3] = [Role::Inventory, Role::Orders, Role::Frontend];

    pub fn name(self) -> &'static str {
        match self {
            Role::Frontend => "frontend",
            Role::Orders => "orders",
            Role::Inventory => "inventory",
        }
    }

    fn parse(name: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|role| role.name() == name).ok_or_else(|| format!("unknown role {name:?}").into())
    }
}

/// The command line of `shop serve`.
#[derive(Debug)]
struct Args {
    role: Role,
    port: u16,
    /// The service `role` calls.
    downstream: Downstream,
}

/// The service a role calls.
#[derive(Debug)]
enum Downstream {
    None,
    Orders(SocketAddr),
    Inventory(SocketAddr),
}

impl Args {
    /// From the process's arguments after `serve`.
    fn from_env() -> Result<Self, Error> {
        let mut args = std::env::args().skip(2);
        let role = Role::parse(&args.next().ok_or("usage: shop serve <role> [--port N] [--downstream HOST:PORT]")?)?;
        let (mut port, mut address) = (0, None);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let invalid = |error: &dyn std::fmt::Display| format!("{flag} {value:?}: {error}");
            match flag.as_str() {
                "--port" => port = value.parse().map_err(|e| invalid(&e))?,
                "--downstream" => address = Some(value.parse().map_err(|e| invalid(&e))?),
                _ => return Err(format!("unknown option {flag}").into()),
            }
        }
        let downstream = match (role, address) {
            (Role::Inventory, _) => Downstream::None,
            (Role::Orders, Some(address)) => Downstream::Inventory(address),
            (Role::Frontend, Some(address)) => Downstream::Orders(address),
            (role, None) => return Err(format!("{} needs --downstream HOST:PORT", role.name()).into()),
        };
        Ok(Self { role, port, downstream })
    }
}

/// `shop serve ...`: names the service after its role, then runs it.
pub fn run() -> Result<(), Error> {
    role_defaults(Args::from_env()?.role);
    main()
}

/// Sets what `#[spanscope::main]` reads that depends on the role, unless the environment already
/// says: the service name, and for inventory one flamegraph per tenant. Runs while the process
/// has one thread, before spanscope reads the environment.
fn role_defaults(role: Role) {
    let mut defaults = vec![("OTEL_SERVICE_NAME", role.name())];
    if role == Role::Inventory {
        defaults.push(("SPANSCOPE_FLAMEGRAPH_TAG", "tenant"));
    }
    for (name, value) in defaults {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

#[spanscope::main]
async fn main() -> Result<(), Error> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    // The services log with `tracing`; spanscope exports each event as a log record with the
    // ids of its span.
    tracing_subscriber::registry().with(spanscope::tracing::layer()).init();
    // Parsed again: `main` takes no arguments.
    let args = Args::from_env()?;
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    // Whoever started us reads the port from our first line of output.
    println!("{}", listener.local_addr()?.port());
    match args.downstream {
        Downstream::None => inventory::serve(listener, stdin_closed()).await,
        Downstream::Inventory(address) => orders::serve(listener, address, stdin_closed()).await,
        Downstream::Orders(address) => frontend::serve(listener, address, stdin_closed()).await,
    }
}

/// Resolves when standard input closes: the parent's way of saying "stop".
async fn stdin_closed() {
    let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut tokio::io::sink()).await;
}
