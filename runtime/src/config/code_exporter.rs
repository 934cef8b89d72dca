//! Exporters given in code with [`Config::exporter`](super::Config::exporter), added beside those
//! the environment selects. Configuration sits below what it configures, so it keeps them
//! opaque; `export` turns each kind into its lane.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// An exporter that can be given in code with [`Config::exporter`](super::Config::exporter): the
/// `testing` feature's `InMemoryExporter`.
pub trait CodeExporter: Any + Send + Sync + sealed::Sealed {}

pub(crate) mod sealed {
    /// Only spanscope's own exporters may be given in code.
    pub trait Sealed {}
}

/// The exporters given in code, in the order given.
#[derive(Clone, Default)]
pub(crate) struct CodeExporters(pub Vec<Arc<dyn Any + Send + Sync>>);

impl fmt::Debug for CodeExporters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} exporter(s) given in code", self.0.len())
    }
}
