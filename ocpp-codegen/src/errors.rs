//! Collecting several spanned errors to report them all at once.

use quote::ToTokens;
use std::fmt::Display;

/// Errors found so far; combined into one `syn::Error` at the end.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records the error of a result, if any, and gives back its value.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// All errors recorded, ending with `error`.
    pub(crate) fn fail(self, error: syn::Error) -> syn::Error {
        match self.0 {
            Some(mut errors) => {
                errors.combine(error);
                errors
            }
            None => error,
        }
    }

    /// The errors recorded, for a caller that knows there is at least one.
    pub(crate) fn reported(self) -> syn::Error {
        self.0.unwrap_or_else(|| {
            syn::Error::new(
                proc_macro2::Span::call_site(),
                "internal error in ocpp-codegen: invalid input without a reported error",
            )
        })
    }

    /// `Ok(value)` if no error was recorded, else all of them.
    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(errors) => Err(errors),
            None => Ok(value),
        }
    }
}
