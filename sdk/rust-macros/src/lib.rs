//! Derive macros for `tollgate-sdk`: a plugin's inputs and outputs declared once, as a struct.
//! Use them through the SDK (`#[derive(tollgate_sdk::Inputs)]`), which documents them; the
//! generated code names `::tollgate_sdk`.

#![deny(missing_docs)]

mod common;
mod inputs;
mod outputs;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Expands to an `impl tollgate_sdk::TypedInputs` for the struct.
#[proc_macro_derive(Inputs, attributes(input))]
pub fn derive_inputs(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    inputs::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Expands to an `impl tollgate_sdk::TypedOutputs` for the struct.
#[proc_macro_derive(Outputs, attributes(output))]
pub fn derive_outputs(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    outputs::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
