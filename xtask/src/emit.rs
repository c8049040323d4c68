//! Rust source from the model: every item built with `quote!`, formatted on its own with
//! prettyplease, and the file composed from those pieces with a blank line between them.

use std::collections::BTreeMap;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Number;

use crate::constraints::Constraints;
use crate::manifest::Initiator;
use crate::model::{Block, Field, RustType, Shape, TypeDef, Version};
use crate::Result;

/// The generated files of one version: file name -> contents.
pub fn version_files(model: &Version) -> Result<BTreeMap<String, String>> {
    let module = &model.module;
    let mut out = BTreeMap::new();

    let doc = format!(
        " Definitions shared by several OCPP {} messages.",
        model.version
    );
    let mut pieces = vec![unparse(quote! {
        #![doc = #doc]
        #![allow(clippy::all)]
    })?];
    pieces.extend(module_items(model, "types")?);
    out.insert(
        "types.rs".to_owned(),
        compose(&format!("schemas/{module}/*.json"), &pieces),
    );

    for (name, block) in &model.blocks {
        let files: Vec<&str> = block
            .actions
            .iter()
            .flat_map(|a| a.files.iter().map(|f| f.trim_end_matches(".json")))
            .collect();
        let source = format!("schemas/{module}/{{{}}}.json", files.join(","));
        out.insert(
            format!("{name}.rs"),
            compose(&source, &block_file(model, name, block)?),
        );
    }

    out.insert(
        "mod.rs".to_owned(),
        compose(&format!("schemas/{module}.toml"), &mod_file(model)?),
    );
    Ok(out)
}

/// The pieces of a block's file: module docs, re-exports, `functional_block!`, types.
fn block_file(model: &Version, name: &str, block: &Block) -> Result<Vec<String>> {
    let module_doc = format!(" {}", block.doc);
    let mut pieces = vec![unparse(quote! {
        #![doc = #module_doc]
        #![allow(clippy::all)]
    })?];
    if !block.shared.is_empty() {
        let shared = block.shared.iter().map(|s| format_ident!("{s}"));
        pieces.push(unparse(quote!(pub use super::types::{#(#shared),*};))?);
    }

    // prettyplease prints a macro call's body on one line; format each declaration as an
    // item and indent it into the body.
    let mut body = format!("    name = {name:?};\n    version = {};\n", model.module);
    for action in &block.actions {
        let ident = format_ident!("{}", action.feature);
        let req = format_ident!("{}", action.request);
        let init = format_ident!("{}", action.initiator.as_str());
        let who = match (action.initiator, model.is_1_6()) {
            (Initiator::ChargingStation, false) => "the charging station sends it to the CSMS",
            (Initiator::Csms, false) => "the CSMS sends it to the charging station",
            (Initiator::ChargingStation, true) => "the charge point sends it to the central system",
            (Initiator::Csms, true) => "the central system sends it to the charge point",
            (Initiator::Both, _) => "either side may send it",
        };
        let action_name = &action.name;
        let text = match &action.response {
            Some(response) => {
                let doc = format!(" The `{}` action: {who}.", action.name);
                let resp = format_ident!("{response}");
                unparse(quote! {
                    #[doc = #doc]
                    #[ocpp(action = #action_name, request = #req, response = #resp, initiator = #init)]
                    pub struct #ident;
                })?
            }
            None => {
                let doc = format!(
                    " The `{}` action, a SEND (message type 6, never answered): {who}.",
                    action.name
                );
                unparse(quote! {
                    #[doc = #doc]
                    #[ocpp(action = #action_name, request = #req, send, initiator = #init)]
                    pub struct #ident;
                })?
            }
        };
        body.push('\n');
        for line in text.lines() {
            if !line.is_empty() {
                body.push_str("    ");
                body.push_str(line);
            }
            body.push('\n');
        }
    }
    pieces.push(format!("::ocpp_messages::functional_block! {{\n{body}}}\n"));
    pieces.extend(module_items(model, name)?);
    Ok(pieces)
}

/// The pieces of the version's `mod.rs`: modules, `PROFILES` and the action table.
fn mod_file(model: &Version) -> Result<Vec<String>> {
    let version = &model.version;
    let blocks: Vec<syn::Ident> = model.blocks.keys().map(|b| format_ident!("{b}")).collect();
    let doc_profiles =
        format!(" Every functional block of OCPP {version} generated so far, by name.");
    let mut actions: Vec<(&str, &str, &str)> = model
        .blocks
        .iter()
        .flat_map(|(block, b)| {
            b.actions
                .iter()
                .map(move |a| (a.name.as_str(), block.as_str(), a.feature.as_str()))
        })
        .collect();
    actions.sort();
    let arms = actions.iter().map(|(action, block, feature)| {
        let (block, feature) = (format_ident!("{block}"), format_ident!("{feature}"));
        quote!(#action => Some(&<#block::#feature as ::ocpp_messages::Feature>::INFO),)
    });
    let doc_feature = format!(
        " The feature of `action`, if it is an OCPP {version} action (a generated `match`)."
    );
    let doc_actions = format!(
        " Every OCPP {version} action, sorted (a downstream block declared with \
         `extends = {}` may not reuse one).",
        model.module
    );
    let names = actions.iter().map(|(action, _, _)| action);
    let variant = format_ident!("V{}", version.replace('.', "_"));
    let doc_version = format!(" OCPP {version}: the version these modules implement.");
    Ok(vec![
        unparse(quote!(#![allow(clippy::all)]))?,
        unparse(quote! {
            #( pub mod #blocks; )*
            pub mod types;
        })?,
        unparse(quote! {
            #[doc = #doc_version]
            pub const VERSION: ::ocpp_messages::OcppVersion = ::ocpp_messages::OcppVersion::#variant;
        })?,
        unparse(quote! {
            #[doc = #doc_profiles]
            pub static PROFILES: &[&::ocpp_messages::Profile] = &[#(&#blocks::PROFILE),*];
        })?,
        unparse(quote! {
            #[doc = #doc_actions]
            pub const ACTIONS: &[&str] = &[#(#names),*];
        })?,
        unparse(quote! {
            #[doc = #doc_feature]
            pub fn feature(action: &str) -> Option<&'static ::ocpp_messages::FeatureInfo> {
                match action {
                    #(#arms)*
                    _ => None,
                }
            }
        })?,
    ])
}

/// Every item of the types in `module`, in Rust-name order, one piece per item.
fn module_items(model: &Version, module: &str) -> Result<Vec<String>> {
    let mut pieces = Vec::new();
    for ty in model.types.iter().filter(|t| t.module == module) {
        for item in type_items(ty)? {
            pieces.push(unparse(item)?);
        }
    }
    Ok(pieces)
}

/// A type's definition, its constructor and builders, and `impl Message` for payloads.
fn type_items(ty: &TypeDef) -> Result<Vec<TokenStream>> {
    let ident = format_ident!("{}", ty.rust_name);
    let docs = &ty.docs;
    let alias = (ty.rust_name != ty.spec_name).then(|| {
        let spec = &ty.spec_name;
        quote!(#[doc(alias = #spec)])
    });
    let mut items = Vec::new();
    match &ty.shape {
        Shape::Enum { variants } => {
            let variants = variants.iter().map(|v| {
                let doc = format!(" `{}`", v.wire);
                let name = format_ident!("{}", v.ident);
                let wire = &v.wire;
                let rename = (v.wire != v.ident).then(|| quote!(#[ocpp(rename = #wire)]));
                quote! {
                    #[doc = #doc]
                    #rename
                    #name,
                }
            });
            items.push(quote! {
                #(#[doc = #docs])*
                #alias
                #[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, ::ocpp_messages::Codec)]
                pub enum #ident {
                    #(#variants)*
                }
            });
        }
        Shape::Struct { fields, open } => {
            let members = fields
                .iter()
                .map(field_tokens)
                .collect::<Result<Vec<_>>>()?;
            let extra = open.then(|| {
                quote! {
                    #[doc = " Members beyond those the schema names (kept, never dropped)."]
                    #[ocpp(extra)]
                    pub extra: ::serde_json::Map<String, ::serde_json::Value>,
                }
            });
            items.push(quote! {
                #(#[doc = #docs])*
                #alias
                #[derive(Clone, Debug, PartialEq, ::ocpp_messages::Codec)]
                pub struct #ident {
                    #(#members)*
                    #extra
                }
            });
            items.push(constructors(ty, fields, *open));
        }
    }
    if ty.is_message {
        items.push(quote!(impl ::ocpp_messages::Message for #ident {}));
    }
    Ok(items)
}

fn field_tokens(field: &Field) -> Result<TokenStream> {
    let docs = &field.docs;
    let ident = format_ident!("{}", field.ident);
    let ty = rust_type(&field.ty);
    let mut args = Vec::new();
    if field.json_name != field.ident {
        let json = &field.json_name;
        args.push(quote!(rename = #json));
    }
    args.extend(constraint_args(&field.constraints)?);
    let attr = (!args.is_empty()).then(|| quote!(#[ocpp(#(#args),*)]));
    Ok(quote! {
        #(#[doc = #docs])*
        #attr
        pub #ident: #ty,
    })
}

/// `min_length = 1, max_length = 36, format = "uri", minimum = 0, ..., items(...)`.
fn constraint_args(c: &Constraints) -> Result<Vec<TokenStream>> {
    let counts = |pairs: [(&'static str, Option<u64>); 2]| {
        pairs.into_iter().filter_map(|(key, n)| {
            let (key, n) = (format_ident!("{key}"), Literal::u64_unsuffixed(n?));
            Some(quote!(#key = #n))
        })
    };
    let mut args: Vec<TokenStream> =
        counts([("min_length", c.min_length), ("max_length", c.max_length)]).collect();
    if c.format_uri {
        args.push(quote!(format = "uri"));
    }
    for (key, value) in [
        ("minimum", &c.minimum),
        ("maximum", &c.maximum),
        ("multiple_of", &c.multiple_of),
    ] {
        if let Some(n) = value {
            let key = format_ident!("{key}");
            let n = number(n)?;
            args.push(quote!(#key = #n));
        }
    }
    args.extend(counts([
        ("min_items", c.min_items),
        ("max_items", c.max_items),
    ]));
    if c.integer_draft4 {
        args.push(quote!(draft4));
    }
    if let Some(items) = &c.items {
        let inner = constraint_args(items)?;
        args.push(quote!(items(#(#inner),*)));
    }
    Ok(args)
}

/// An integer literal for an integral number, else a float literal; negative numbers as
/// `-` and the literal.
fn number(n: &Number) -> Result<TokenStream> {
    if let Some(u) = n.as_u64() {
        let lit = Literal::u64_unsuffixed(u);
        return Ok(quote!(#lit));
    }
    if let Some(i) = n.as_i64() {
        let lit = Literal::u64_unsuffixed(i.unsigned_abs());
        return Ok(quote!(-#lit));
    }
    let f = n.as_f64().ok_or_else(|| format!("{n} is not a number"))?;
    let lit = if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        Literal::u64_unsuffixed(f.abs() as u64)
    } else {
        Literal::f64_unsuffixed(f.abs())
    };
    Ok(if f < 0.0 { quote!(-#lit) } else { quote!(#lit) })
}

fn rust_type(ty: &RustType) -> TokenStream {
    match ty {
        RustType::Option(inner) => {
            let inner = rust_type(inner);
            quote!(Option<#inner>)
        }
        RustType::Vec(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
        RustType::Named(name) => {
            let ident = format_ident!("{name}");
            quote!(#ident)
        }
        RustType::I64 => quote!(i64),
        RustType::F64 => quote!(f64),
        RustType::Bool => quote!(bool),
        RustType::String => quote!(String),
        RustType::JsonValue => quote!(::serde_json::Value),
        RustType::DateTime => quote!(::ocpp_messages::DateTime),
    }
}

/// `new` from the required members (schema order) and a `with_` builder per optional member.
fn constructors(ty: &TypeDef, fields: &[Field], open: bool) -> TokenStream {
    let ident = format_ident!("{}", ty.rust_name);
    let mut params = Vec::new();
    let mut inits = Vec::new();
    let mut builders = Vec::new();
    for field in fields {
        let name = format_ident!("{}", field.ident);
        if !field.required {
            // The model makes every optional member an `Option`.
            let inner = match &field.ty {
                RustType::Option(inner) => &**inner,
                other => other,
            };
            inits.push(quote!(#name: None));
            let with = format_ident!("with_{}", field.ident);
            let doc = format!(" Sets `{}`.", field.json_name);
            let (param, value) = if *inner == RustType::String {
                (quote!(impl Into<String>), quote!(#name.into()))
            } else {
                (rust_type(inner), quote!(#name))
            };
            builders.push(quote! {
                #[doc = #doc]
                #[must_use]
                pub fn #with(mut self, #name: #param) -> Self {
                    self.#name = Some(#value);
                    self
                }
            });
        } else if field.ty == RustType::String {
            params.push(quote!(#name: impl Into<String>));
            inits.push(quote!(#name: #name.into()));
        } else {
            let ty = rust_type(&field.ty);
            params.push(quote!(#name: #ty));
            inits.push(quote!(#name));
        }
    }
    if open {
        inits.push(quote!(extra: ::serde_json::Map::new()));
    }
    let rust = &ty.rust_name;
    let new_doc = if params.is_empty() {
        format!(" A `{rust}` with no optional member set.")
    } else {
        format!(
            " A `{rust}` from its required members, in schema order; optional members are unset."
        )
    };
    let too_many = (params.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    quote! {
        impl #ident {
            #[doc = #new_doc]
            #too_many
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits),* }
            }
            #(#builders)*
        }
    }
}

/// A test support file: a handler implementing every method of every block for both roles,
/// recording which method a CALL reached, and the dispatchers serving it.
pub fn recorder(model: &Version) -> Result<String> {
    use heck::ToSnakeCase;
    let module = format_ident!("{}", model.module);
    let mut impls = Vec::new();
    let mut csms_services = Vec::new();
    let mut station_services = Vec::new();
    for (block, b) in &model.blocks {
        let block = format_ident!("{block}");
        let mut csms_methods = Vec::new();
        let mut station_methods = Vec::new();
        for action in &b.actions {
            let name = &action.name;
            let method = format_ident!("on_{}", name.to_snake_case());
            let req = format_ident!("{}", action.request);
            // A SEND's handler returns nothing: the recorder records and that is all.
            let (output, finish) = match &action.response {
                Some(resp) => {
                    let resp = format_ident!("{resp}");
                    (quote!(-> Result<#block::#resp, CallError>), quote!())
                }
                None => (quote!(), quote!(;)),
            };
            let record = |id: TokenStream| {
                if action.response.is_some() {
                    quote!(self.record(#name, #id))
                } else {
                    quote!(let _: Result<(), CallError> = self.record(#name, #id))
                }
            };
            if action.initiator != Initiator::Csms {
                let record = record(quote!(Some(charging_station_id)));
                csms_methods.push(quote! {
                    async fn #method(&self, charging_station_id: &str, _request: #block::#req) #output {
                        #record #finish
                    }
                });
            }
            if action.initiator != Initiator::ChargingStation {
                let record = record(quote!(None));
                station_methods.push(quote! {
                    async fn #method(&self, _request: #block::#req) #output {
                        #record #finish
                    }
                });
            }
        }
        let [csms, station] = if model.is_1_6() {
            ["CentralSystem", "ChargePoint"]
        } else {
            ["Csms", "ChargingStation"]
        };
        let (csms_handler, station_handler) = (
            format_ident!("{csms}Handler"),
            format_ident!("{station}Handler"),
        );
        let (csms_service, station_service) = (
            format_ident!("{csms}Service"),
            format_ident!("{station}Service"),
        );
        impls.push(quote!(impl #block::#csms_handler for Recorder { #(#csms_methods)* }));
        impls.push(quote!(impl #block::#station_handler for Recorder { #(#station_methods)* }));
        csms_services.push(quote!(.with(#block::#csms_service(Arc::clone(recorder)))));
        station_services.push(quote!(.with(#block::#station_service(Arc::clone(recorder)))));
    }
    let version = format_ident!("V{}", model.version.replace('.', "_"));
    let mut pieces = vec![
        unparse(quote! {
            #![doc = " A handler for every action of both roles that records which method each CALL reaches."]
            #![allow(dead_code)]
        })?,
        unparse(quote! {
            use std::sync::{Arc, Mutex};
            use ocpp_messages::rpc::Dispatcher;
            use ocpp_messages::#module::*;
            use ocpp_messages::{CallError, ErrorCode, OcppVersion, Role};
        })?,
        unparse(quote! {
            #[doc = " Records `(action, charging station id)` for every method called, and answers each with a `GenericError` naming the action."]
            #[derive(Default)]
            pub struct Recorder {
                pub calls: Mutex<Vec<(&'static str, Option<String>)>>,
            }
        })?,
        unparse(quote! {
            impl Recorder {
                fn record<T>(&self, action: &'static str, charging_station_id: Option<&str>) -> Result<T, CallError> {
                    self.calls.lock().unwrap().push((action, charging_station_id.map(str::to_owned)));
                    Err(CallError::new(ErrorCode::GenericError, action))
                }
            }
        })?,
    ];
    for item in impls {
        pieces.push(unparse(item)?);
    }
    pieces.push(unparse(quote! {
        #[doc = " A CSMS dispatcher with every block served by `recorder`."]
        pub fn csms_dispatcher(recorder: &Arc<Recorder>) -> Dispatcher {
            Dispatcher::new(OcppVersion::#version, Role::Csms) #(#csms_services)*
        }
    })?);
    pieces.push(unparse(quote! {
        #[doc = " A charging-station dispatcher with every block served by `recorder`."]
        pub fn charging_station_dispatcher(recorder: &Arc<Recorder>) -> Dispatcher {
            Dispatcher::new(OcppVersion::#version, Role::ChargingStation) #(#station_services)*
        }
    })?);
    Ok(compose(&format!("schemas/{}.toml", model.module), &pieces))
}

/// Formats `tokens` (one or more items, or inner attributes) with prettyplease.
fn unparse(tokens: TokenStream) -> Result<String> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// The header, then the pieces with a blank line between them.
fn compose(source: &str, pieces: &[String]) -> String {
    format!(
        "// @generated by `cargo xtask codegen` from {source}. Do not edit by hand.\n\n{}",
        pieces
            .iter()
            .map(|p| format!("{}\n", p.trim_end_matches('\n')))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::constraint_args;
    use crate::constraints::of_property;

    fn args(schema: serde_json::Value) -> String {
        let c = of_property(&schema, "X/p").unwrap();
        let args = constraint_args(&c).unwrap();
        quote::quote!(#(#args),*).to_string()
    }

    #[test]
    fn attribute_literals() {
        assert_eq!(
            args(json!({"type": "number", "minimum": 0.0, "maximum": 100, "multipleOf": 0.1})),
            "minimum = 0 , maximum = 100 , multiple_of = 0.1"
        );
        assert_eq!(
            args(json!({"type": "integer", "minimum": -5})),
            "minimum = - 5"
        );
        assert_eq!(
            args(
                json!({"type": "array", "minItems": 1, "items": {"type": "string", "maxLength": 512}})
            ),
            "min_items = 1 , items (max_length = 512)"
        );
    }
}
