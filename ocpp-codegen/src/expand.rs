//! Expansion of `#[derive(Feature)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Feature;

/// The `Feature` impl for `input`, or the errors found in it.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match Feature::from_derive(input) {
        Ok(feature) => impl_feature(&feature),
        Err(errors) => errors.to_compile_error(),
    }
}

/// `impl ::ocpp_messages::Feature for ...`.
fn impl_feature(feature: &Feature<'_>) -> TokenStream {
    let ident = feature.ident;
    let ocpp = &feature.ocpp;
    let action = &ocpp.action;
    let request = &ocpp.request;
    let response = &ocpp.response;
    let initiator = &ocpp.initiator_ident;
    let send = ocpp.send.then(|| {
        quote!(
            const SEND: bool = true;
        )
    });
    quote! {
        #[automatically_derived]
        impl ::ocpp_messages::Feature for #ident {
            const NAME: &'static str = #action;
            type Request = #request;
            type Response = #response;
            const INITIATOR: ::ocpp_messages::Initiator = ::ocpp_messages::Initiator::#initiator;
            #send
        }
    }
}
