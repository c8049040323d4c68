//! `functional_block!`: parsing, checking and expansion.

use heck::ToSnakeCase;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Item, Lit, LitStr, Token};

use crate::ast::Feature;
use crate::errors::Errors;

/// The macro's input as written: `key = value;` entries and items, in order.
pub(crate) struct Input {
    entries: Vec<Entry>,
}

/// One top-level entry of the input.
enum Entry {
    /// `key = value;`
    Key { key: Ident, value: Expr },
    /// Any item; only unit structs are accepted.
    Item(Box<Item>),
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut entries = Vec::new();
        while !input.is_empty() {
            if input.peek(syn::Ident) && input.peek2(Token![=]) {
                let key = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = input.parse()?;
                input.parse::<Token![;]>()?;
                entries.push(Entry::Key { key, value });
            } else {
                entries.push(Entry::Item(Box::new(input.parse()?)));
            }
        }
        Ok(Input { entries })
    }
}

/// A checked block.
struct Block<'a> {
    /// The block's module name.
    name: &'a LitStr,
    /// For a block declared outside a version module: the version module whose actions its
    /// own may not reuse (`extends = v2_0_1;`).
    extends: Option<&'a syn::Path>,
    /// The version module the block belongs to (`version = v1_6;`, or what it `extends`): its
    /// services belong to that version's dispatchers only.
    version: Option<&'a syn::Path>,
    /// Whether that version is OCPP 1.6, whose roles are named "Charge Point" and "Central
    /// System": the handler traits are then `CentralSystemHandler` and `ChargePointHandler`.
    v16: bool,
    /// Its features, in the order given.
    features: Vec<Handled<'a>>,
}

/// A feature and the name of its handler method.
struct Handled<'a> {
    feature: Feature<'a>,
    method: Ident,
}

/// The block's code, or the errors found in it.
pub(crate) fn expand(input: &Input) -> TokenStream {
    match check(input) {
        Ok(block) => expand_block(&block),
        Err(errors) => errors.to_compile_error(),
    }
}

/// Checks the whole input, reporting every error.
fn check(input: &Input) -> syn::Result<Block<'_>> {
    let mut errors = Errors::default();
    let mut name: Option<&LitStr> = None;
    let mut name_seen = false;
    let mut extends: Option<&syn::Path> = None;
    let mut version: Option<&syn::Path> = None;
    let mut features: Vec<Handled<'_>> = Vec::new();
    for entry in &input.entries {
        match entry {
            Entry::Key { key, value } if key == "name" => {
                if name_seen {
                    errors.spanned(key, "duplicate key `name` in functional_block!");
                }
                if let Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(lit), ..
                }) = value
                {
                    if lit.value().is_empty() {
                        errors.spanned(lit, "`name` must not be empty");
                    } else if !name_seen {
                        name = Some(lit);
                    }
                } else {
                    errors.spanned(
                        value,
                        "`name` must be a string literal, e.g. `name = \"security\";`",
                    );
                }
                name_seen = true;
            }
            Entry::Key { key, value } if key == "extends" => {
                if extends.is_some() {
                    errors.spanned(key, "duplicate key `extends` in functional_block!");
                }
                match value {
                    Expr::Path(path) if path.qself.is_none() => extends = Some(&path.path),
                    _ => errors.spanned(
                        value,
                        "`extends` must name a version module, e.g. `extends = v2_0_1;`",
                    ),
                }
            }
            Entry::Key { key, value } if key == "version" => {
                if version.is_some() {
                    errors.spanned(key, "duplicate key `version` in functional_block!");
                }
                match value {
                    Expr::Path(path) if path.qself.is_none() => version = Some(&path.path),
                    _ => errors.spanned(
                        value,
                        "`version` must name a version module, e.g. `version = v1_6;`",
                    ),
                }
            }
            Entry::Key { key, .. } => errors.spanned(
                key,
                format_args!(
                    "unknown key `{key}` in functional_block!; expected `name`, `version` or \
                     `extends`"
                ),
            ),
            Entry::Item(item) => match &**item {
                Item::Struct(item) => {
                    if let Some(feature) = errors.ok(Feature::from_item(item)) {
                        let method = method_name(&feature.ocpp.action);
                        check_unique(&mut errors, &features, &feature, &method);
                        features.push(Handled { feature, method });
                    }
                }
                other => errors.spanned(
                    item_head(other),
                    "functional_block! accepts only `name = \"...\";` and unit structs \
                     carrying #[ocpp(...)]",
                ),
            },
        }
    }
    if let (Some(version), Some(extends)) = (version, extends) {
        let text = |path: &syn::Path| path.to_token_stream().to_string();
        if text(version) != text(extends) {
            errors.spanned(
                version,
                "`version` and `extends` name different versions; `extends` alone is enough",
            );
        }
    }
    let version = version.or(extends);
    let v16 = version
        .and_then(|path| path.segments.last())
        .is_some_and(|segment| segment.ident == "v1_6");
    match name {
        Some(name) => errors.finish(Block {
            name,
            extends,
            version,
            v16,
            features,
        }),
        // `name` was written, but its value was invalid: reported already.
        None if name_seen => Err(errors.reported()),
        None => Err(errors.fail(syn::Error::new(
            Span::call_site(),
            "functional_block! needs the block's name, e.g. `name = \"security\";`",
        ))),
    }
}

/// Reports an action name or handler method name that an earlier feature has already.
fn check_unique(
    errors: &mut Errors,
    earlier: &[Handled<'_>],
    feature: &Feature<'_>,
    method: &Ident,
) {
    let action = &feature.ocpp.action;
    for other in earlier {
        let other_action = &other.feature.ocpp.action;
        if other_action.value() == action.value() {
            errors.spanned(
                action,
                format_args!(
                    "duplicate action {:?}: `{}` declares it already",
                    action.value(),
                    other.feature.ident
                ),
            );
            return;
        }
        if &other.method == method {
            errors.spanned(
                action,
                format_args!(
                    "action {:?} gets the handler method name `{method}`, as {:?} of `{}` does",
                    action.value(),
                    other_action.value(),
                    other.feature.ident
                ),
            );
            return;
        }
    }
}

/// `on_` and the action in snake case: `SignCertificate` -> `on_sign_certificate`.
fn method_name(action: &LitStr) -> Ident {
    // The action was checked to be ASCII letters and digits, so this is an identifier.
    Ident::new(
        &format!("on_{}", action.value().to_snake_case()),
        action.span(),
    )
}

/// The tokens that name an item for an error, rather than its whole body.
fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Enum(item) => {
            let (token, ident) = (&item.enum_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Fn(item) => item.sig.to_token_stream(),
        Item::Impl(item) => {
            let (token, ty) = (&item.impl_token, &item.self_ty);
            quote!(#token #ty)
        }
        Item::Mod(item) => {
            let (token, ident) = (&item.mod_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Trait(item) => {
            let (token, ident) = (&item.trait_token, &item.ident);
            quote!(#token #ident)
        }
        other => other.to_token_stream(),
    }
}

/// Which end of the connection a handler trait is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The CSMS, answering CALLs from charging stations.
    Csms,
    /// The charging station, answering CALLs from the CSMS.
    ChargingStation,
}

impl Side {
    fn handles(self, feature: &Feature<'_>) -> bool {
        match self {
            Side::Csms => feature.ocpp.initiator.sent_by_charging_station(),
            Side::ChargingStation => feature.ocpp.initiator.sent_by_csms(),
        }
    }

    /// The role's name in the version's words: 1.6 says "Central System" and "Charge Point".
    fn name(self, v16: bool) -> &'static str {
        match (self, v16) {
            (Side::Csms, false) => "Csms",
            (Side::Csms, true) => "CentralSystem",
            (Side::ChargingStation, false) => "ChargingStation",
            (Side::ChargingStation, true) => "ChargePoint",
        }
    }

    fn handler(self, v16: bool) -> Ident {
        Ident::new(&format!("{}Handler", self.name(v16)), Span::call_site())
    }

    fn service(self, v16: bool) -> Ident {
        Ident::new(&format!("{}Service", self.name(v16)), Span::call_site())
    }

    fn role(self) -> TokenStream {
        match self {
            Side::Csms => quote!(::ocpp_messages::Role::Csms),
            Side::ChargingStation => quote!(::ocpp_messages::Role::ChargingStation),
        }
    }

    /// Who sends the CALLs this side answers, for docs.
    fn peer(self, v16: bool) -> &'static str {
        match (self, v16) {
            (Side::Csms, false) => "the charging station",
            (Side::Csms, true) => "the charge point",
            (Side::ChargingStation, false) => "the CSMS",
            (Side::ChargingStation, true) => "the central system",
        }
    }

    /// Who receives the CALLs this side answers, for docs.
    fn receiver(self, v16: bool) -> &'static str {
        match self {
            Side::Csms => Side::ChargingStation.peer(v16),
            Side::ChargingStation => Side::Csms.peer(v16),
        }
    }

    /// Who implements this side's handler, for docs.
    fn implementer(self, v16: bool) -> &'static str {
        match (self, v16) {
            (Side::Csms, false) => "the CSMS",
            (Side::Csms, true) => "the central system",
            (Side::ChargingStation, false) => "a charging station",
            (Side::ChargingStation, true) => "a charge point",
        }
    }

    /// The parameters of a handler method after `&self` (the CSMS learns which station called).
    fn params(self, request: &syn::Type) -> TokenStream {
        match self {
            Side::Csms => quote!(charging_station_id: &str, request: #request),
            Side::ChargingStation => quote!(request: #request),
        }
    }

    /// The parameters as an expression, to mark them used in a default body.
    fn unused(self) -> TokenStream {
        match self {
            Side::Csms => quote!((charging_station_id, request)),
            Side::ChargingStation => quote!(request),
        }
    }

    /// The arguments matching [`Side::params`].
    fn args(self) -> TokenStream {
        match self {
            Side::Csms => quote!(charging_station_id, request),
            Side::ChargingStation => quote!(request),
        }
    }
}

fn expand_block(block: &Block<'_>) -> TokenStream {
    let name = block.name;
    let structs = block.features.iter().map(|handled| {
        let feature = &handled.feature;
        let (attrs, vis, ident) = (feature.attrs, feature.vis, feature.ident);
        quote! {
            #[derive(
                ::core::fmt::Debug,
                ::core::clone::Clone,
                ::core::marker::Copy,
                ::core::default::Default,
                ::core::cmp::PartialEq,
                ::core::cmp::Eq,
                ::core::hash::Hash,
                ::ocpp_messages::Feature
            )]
            #(#attrs)*
            #vis struct #ident;
        }
    });
    let idents = block.features.iter().map(|handled| handled.feature.ident);
    let profile_doc = format!(
        " The metadata of the `{}` functional block: its name and its features.",
        name.value()
    );
    let csms = expand_side(block, Side::Csms);
    let charging_station = expand_side(block, Side::ChargingStation);
    // A downstream block's actions may not be actions of the version it extends: checked at
    // compile time, reported on the action's name.
    let clashes = block.extends.iter().flat_map(|version| {
        block.features.iter().map(move |handled| {
            let action = &handled.feature.ocpp.action;
            let version_name = version
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            let message = format!(
                "`{}` is already an action of {version_name}: a downstream feature needs a name \
                 of its own",
                action.value()
            );
            quote::quote_spanned! {action.span()=>
                const _: () = ::core::assert!(
                    !::ocpp_messages::__private::contains(::ocpp_messages::#version::ACTIONS, #action),
                    #message
                );
            }
        })
    });
    quote! {
        #(#structs)*

        #(#clashes)*

        /// The name of this functional block.
        pub const PROFILE_NAME: &str = #name;

        #[doc = #profile_doc]
        pub static PROFILE: ::ocpp_messages::Profile = ::ocpp_messages::Profile {
            name: PROFILE_NAME,
            features: &[#(<#idents as ::ocpp_messages::Feature>::INFO),*],
        };

        #csms

        #charging_station
    }
}

/// The handler trait of one side, its `Arc` impl and its service.
fn expand_side(block: &Block<'_>, side: Side) -> TokenStream {
    let features: Vec<&Handled<'_>> = block
        .features
        .iter()
        .filter(|handled| side.handles(&handled.feature))
        .collect();
    let handler_trait = handler_trait(block, side, &features);
    let arc_impl = arc_impl(side, block.v16, &features);
    let service = service(side, block, &features);
    quote! {
        #handler_trait

        #arc_impl

        #service
    }
}

/// `pub trait CsmsHandler` or `pub trait ChargingStationHandler`, with default methods.
fn handler_trait(block: &Block<'_>, side: Side, features: &[&Handled<'_>]) -> TokenStream {
    let handler = side.handler(block.v16);
    let service = side.service(block.v16);
    let methods = features.iter().map(|handled| {
        let feature = &handled.feature;
        let method = &handled.method;
        let action = &feature.ocpp.action;
        let params = side.params(&feature.ocpp.request);
        let unused = side.unused();
        let output = output(&feature.ocpp);
        let docs: Vec<_> = feature.docs().collect();
        let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
        if feature.ocpp.send {
            let summary = format!(
                " Receives a `{}` SEND from {} (message type 6: never answered).",
                action.value(),
                side.peer(block.v16)
            );
            return quote! {
                #[doc = #summary]
                #[doc = ""]
                #(#docs)*
                #separator
                #[doc = " The default drops it."]
                fn #method(&self, #params) -> #output {
                    let _ = #unused;
                    ::core::future::ready(())
                }
            };
        }
        let summary = format!(
            " Answers a `{}` CALL from {}.",
            action.value(),
            side.peer(block.v16)
        );
        quote! {
            #[doc = #summary]
            #[doc = ""]
            #(#docs)*
            #separator
            #[doc = " The default answers `NotSupported`."]
            fn #method(&self, #params) -> #output {
                let _ = #unused;
                ::core::future::ready(::core::result::Result::Err(
                    ::ocpp_messages::CallError::not_supported(#action),
                ))
            }
        }
    });
    let summary = format!(
        " The CALLs of the `{}` functional block that {} sends: implemented by {}.",
        block.name.value(),
        side.peer(block.v16),
        side.implementer(block.v16),
    );
    let details = format!(
        " Every method answers `NotSupported` unless implemented, so an implementation writes \
         only the actions it supports, each as an `async fn`. Serve it with [`{service}`]; \
         `Arc<impl {handler}>` implements it too, so one application can serve several blocks."
    );
    quote! {
        #[doc = #summary]
        #[doc = ""]
        #[doc = #details]
        pub trait #handler: ::core::marker::Send + ::core::marker::Sync {
            #(#methods)*
        }
    }
}

/// `impl<T: Handler + ?Sized> Handler for Arc<T>`, forwarding every method.
fn arc_impl(side: Side, v16: bool, features: &[&Handled<'_>]) -> TokenStream {
    let handler = side.handler(v16);
    let forwards = features.iter().map(|handled| {
        let feature = &handled.feature;
        let method = &handled.method;
        let params = side.params(&feature.ocpp.request);
        let args = side.args();
        let output = output(&feature.ocpp);
        quote! {
            fn #method(&self, #params) -> #output {
                <T as #handler>::#method(self, #args)
            }
        }
    });
    quote! {
        impl<T: #handler + ?::core::marker::Sized> #handler for ::std::sync::Arc<T> {
            #(#forwards)*
        }
    }
}

/// `pub struct CsmsService<H>(pub H)` or `ChargingStationService`, implementing `Service`.
fn service(side: Side, block: &Block<'_>, features: &[&Handled<'_>]) -> TokenStream {
    let handler = side.handler(block.v16);
    let service = side.service(block.v16);
    let role = side.role();
    let actions = features.iter().map(|handled| &handled.feature.ocpp.action);
    // Per action: the slow arm (a validated `Value` in, a `Value` out) and the fast arm (the
    // frame text in, the CALLRESULT payload text out).
    let (arms, fast_arms): (Vec<TokenStream>, Vec<TokenStream>) = features
        .iter()
        .map(|handled| {
            let method = &handled.method;
            let action = &handled.feature.ocpp.action;
            let request = &handled.feature.ocpp.request;
            let args = side.args();
            if handled.feature.ocpp.send {
                // A SEND: the handler returns nothing, and nothing is sent back.
                let call = quote!(<H as #handler>::#method(&self.0, #args).await);
                let slow = quote! {
                    #action => ::std::boxed::Box::pin(async move {
                        let request = payload.decode::<#request>()?;
                        #call;
                        ::core::result::Result::Ok(::ocpp_messages::__private::Value::Null)
                    }),
                };
                let fast = quote! {
                    #action => {
                        let request = frame.decode::<#request>()?;
                        ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                            #call;
                            ::core::result::Result::Ok(::std::string::String::new())
                        }))
                    }
                };
                return (slow, fast);
            }
            let call = quote!(<H as #handler>::#method(&self.0, #args).await?);
            let slow = quote! {
                #action => ::std::boxed::Box::pin(async move {
                    let request = payload.decode::<#request>()?;
                    let response = #call;
                    ::ocpp_messages::__private::encode(&response)
                }),
            };
            let fast = quote! {
                #action => {
                    let request = frame.decode::<#request>()?;
                    ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                        let response = #call;
                        ::ocpp_messages::__private::encode_response(&response)
                    }))
                }
            };
            (slow, fast)
        })
        .unzip();
    // The charging station's handlers do not take the id.
    let unused_id = (side == Side::ChargingStation).then(|| quote!(let _ = charging_station_id;));
    let fast = if features.is_empty() {
        quote! {
            let _ = (charging_station_id, action, frame);
            ::core::option::Option::None
        }
    } else {
        quote! {
            #unused_id
            match action {
                #(#fast_arms)*
                _ => ::core::option::Option::None,
            }
        }
    };
    let dispatch = if features.is_empty() {
        quote! {
            let _ = (charging_station_id, payload);
            let error = ::ocpp_messages::CallError::not_supported(action);
            ::std::boxed::Box::pin(async move { ::core::result::Result::Err(error) })
        }
    } else {
        quote! {
            #unused_id
            match action {
                #(#arms)*
                other => {
                    let error = ::ocpp_messages::CallError::not_supported(other);
                    ::std::boxed::Box::pin(async move { ::core::result::Result::Err(error) })
                }
            }
        }
    };
    let doc = format!(
        " Serves this block's CALLs received by {}: wrap an implementation of [`{handler}`] \
         and add it to a `Dispatcher`.",
        side.receiver(block.v16),
    );
    let version = match block.version {
        Some(path) => quote!(::core::option::Option::Some(::ocpp_messages::#path::VERSION)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::default::Default)]
        pub struct #service<H>(
            /// The handler CALLs are routed to.
            pub H,
        );

        impl<H: #handler> ::ocpp_messages::__private::Service for #service<H> {
            fn role(&self) -> ::ocpp_messages::Role {
                #role
            }

            fn actions(&self) -> &'static [&'static str] {
                &[#(#actions),*]
            }

            fn version(&self) -> ::core::option::Option<::ocpp_messages::OcppVersion> {
                #version
            }

            fn feature(&self, action: &str) -> ::core::option::Option<&'static ::ocpp_messages::FeatureInfo> {
                PROFILE.feature(action)
            }

            fn call<'a>(
                &'a self,
                charging_station_id: &'a str,
                action: &str,
                payload: ::ocpp_messages::__private::Payload,
            ) -> ::ocpp_messages::__private::BoxFuture<
                'a,
                ::core::result::Result<::ocpp_messages::__private::Value, ::ocpp_messages::CallError>,
            > {
                #dispatch
            }

            fn call_text<'a>(
                &'a self,
                charging_station_id: &'a str,
                action: &str,
                frame: ::ocpp_messages::__private::CallText<'_>,
            ) -> ::core::option::Option<::ocpp_messages::__private::BoxFuture<
                'a,
                ::core::result::Result<::std::string::String, ::ocpp_messages::CallError>,
            >> {
                #fast
            }
        }
    }
}

/// The return type of a handler method: the response or a CALLERROR; nothing for a SEND.
fn output(ocpp: &crate::attr::OcppAttr) -> TokenStream {
    if ocpp.send {
        return quote! {
            impl ::core::future::Future<Output = ()> + ::core::marker::Send
        };
    }
    let response = &ocpp.response;
    quote! {
        impl ::core::future::Future<
            Output = ::core::result::Result<#response, ::ocpp_messages::CallError>,
        > + ::core::marker::Send
    }
}

#[cfg(test)]
mod tests {
    use super::method_name;
    use proc_macro2::Span;
    use syn::LitStr;

    fn method(action: &str) -> String {
        method_name(&LitStr::new(action, Span::call_site())).to_string()
    }

    #[test]
    fn method_names_are_snake_case() {
        assert_eq!(method("SignCertificate"), "on_sign_certificate");
        assert_eq!(
            method("NotifyEVChargingNeeds"),
            "on_notify_ev_charging_needs"
        );
        assert_eq!(method("Heartbeat"), "on_heartbeat");
        assert_eq!(
            method("Get15118EVCertificate"),
            "on_get15118_ev_certificate"
        );
    }
}
