//! [`InitError`]: why `init` could not start, from a bad configuration value to an output that
//! could not be opened. Below everything that starts something, so each part reports its own.

use std::fmt;

use crate::config::ConfigError;

/// Why [`try_init`](crate::try_init) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A configuration value is invalid; the error names its environment variable.
    Config(ConfigError),
    /// An output could not be opened.
    Io {
        /// What could not be opened.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// spanscope is already initialised; drop the first guard before initialising again.
    AlreadyInitialized,
    /// An endpoint could not listen on its address (the Prometheus endpoint, on a port in use).
    Listen {
        /// The address, as configured.
        address: String,
        /// The variables that set it.
        variables: &'static str,
        /// Why.
        error: std::io::Error,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(error) => error.fmt(f),
            Self::Io { path, error } => write!(f, "cannot write to {}: {error}", path.display()),
            Self::AlreadyInitialized => f.write_str("spanscope is already initialised"),
            Self::Listen { address, variables, error } => {
                write!(f, "cannot listen on {address} ({variables}): {error}")
            }
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(error) => Some(error),
            Self::Io { error, .. } | Self::Listen { error, .. } => Some(error),
            Self::AlreadyInitialized => None,
        }
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}
