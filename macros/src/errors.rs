//! Collects several errors so that one expansion reports all of them at once.

use proc_macro2::TokenStream;

/// The errors found so far; empty is success.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Whether no error was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Appends a `compile_error!` for every error to `output`.
    pub(crate) fn emit(self, mut output: TokenStream) -> TokenStream {
        if let Some(error) = self.0 {
            output.extend(error.into_compile_error());
        }
        output
    }
}
