//! `#[derive(Codec)]`: strict one-pass decoding, encoding, the schema tree and typed checks of a
//! schema type, all read from the type's fields and their `#[ocpp(...)]` constraints.
//!
//! The phases: [`parse`] reads the item into a [`Model`] (field kinds from the field types,
//! constraints from the attributes, every misuse reported on its tokens); the `expand_*`
//! functions print the model.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{
    Attribute, Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, PathArguments, Type,
};

use crate::errors::Errors;

/// Expands `#[derive(Codec)]`.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "#[derive(Codec)] does not support generics",
        );
    }
    let tokens = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => {
                let model = parse_struct(&input.ident, fields.named.iter(), &mut errors);
                expand_struct(&model)
            }
            _ => {
                errors.spanned(
                    &input.ident,
                    "#[derive(Codec)] needs a struct with named fields (a JSON object)",
                );
                TokenStream::new()
            }
        },
        Data::Enum(data) => {
            let model = parse_enum(&input.ident, data, &mut errors);
            expand_enum(&model)
        }
        Data::Union(_) => {
            errors.spanned(&input.ident, "#[derive(Codec)] does not support unions");
            TokenStream::new()
        }
    };
    match errors.finish(()) {
        Ok(()) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

/// What JSON a field's Rust type stands for.
enum Kind {
    /// `String`: a JSON string.
    Str,
    /// `DateTime`: a `date-time` string.
    DateTime,
    /// `i64`: a JSON integer.
    Int,
    /// `f64`: a JSON number.
    Num,
    /// `bool`.
    Bool,
    /// `Value`: any JSON value.
    Any,
    /// `Vec<T>`: an array.
    Vec(Box<Kind>, Box<Rules>),
    /// Any other type: one that derives `Codec` itself.
    Named(Box<Type>),
}

/// The constraints of `#[ocpp(...)]` on a value.
#[derive(Default)]
struct Rules {
    max_length: Option<usize>,
    min_length: Option<usize>,
    uri: bool,
    minimum: Option<f64>,
    maximum: Option<f64>,
    multiple_of: Option<f64>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    /// `draft4`: an integer as draft-04 counts them (`5.0` is not one).
    draft4: bool,
}

struct Field {
    ident: Ident,
    json: String,
    optional: bool,
    kind: Kind,
    rules: Rules,
}

struct Model {
    ident: Ident,
    fields: Vec<Field>,
    /// The `#[ocpp(extra)]` map of members beyond the declared ones (an open object).
    extra: Option<Ident>,
}

fn is_ocpp(attr: &Attribute) -> bool {
    attr.path().is_ident("ocpp")
}

fn last_segment(ty: &Type) -> Option<(&Ident, Option<&Type>)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    let argument = match &segment.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    };
    Some((&segment.ident, argument))
}

/// The kind of a (non-`Option`) field type.
fn kind_of(ty: &Type, items: Rules, errors: &mut Errors) -> Kind {
    let Some((ident, argument)) = last_segment(ty) else {
        return Kind::Named(Box::new(ty.clone()));
    };
    match (ident.to_string().as_str(), argument) {
        ("String", None) => Kind::Str,
        ("DateTime", None) => Kind::DateTime,
        ("i64", None) => Kind::Int,
        ("f64", None) => Kind::Num,
        ("bool", None) => Kind::Bool,
        ("Value", None) => Kind::Any,
        ("Vec", Some(inner)) => {
            let inner = kind_of(inner, Rules::default(), errors);
            if let Kind::Vec(..) = inner {
                errors.spanned(ty, "nested arrays are not supported by #[derive(Codec)]");
            }
            Kind::Vec(Box::new(inner), Box::new(items))
        }
        (
            "i8" | "i16" | "i32" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
            | "usize" | "f32",
            None,
        ) => {
            errors.spanned(
                ty,
                "use i64 for JSON integers and f64 for JSON numbers (with `minimum`/`maximum`)",
            );
            Kind::Int
        }
        _ => Kind::Named(Box::new(ty.clone())),
    }
}

/// Parses the value of a numeric key as `f64` (integer or float literal, optionally negative).
fn number(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<f64> {
    let expr: syn::Expr = meta.value()?.parse()?;
    let (negative, lit) = match &expr {
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        other => (false, other),
    };
    let value = match lit {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse::<f64>()?,
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(f),
            ..
        }) => f.base10_parse::<f64>()?,
        _ => return Err(syn::Error::new_spanned(&expr, "expected a number literal")),
    };
    Ok(if negative { -value } else { value })
}

fn count(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<usize> {
    let lit: syn::LitInt = meta.value()?.parse()?;
    lit.base10_parse()
}

/// Reads one constraint key into `rules`; `Ok(false)` if `meta` is not a constraint key.
fn constraint(meta: &syn::meta::ParseNestedMeta<'_>, rules: &mut Rules) -> syn::Result<bool> {
    let key = meta
        .path
        .get_ident()
        .map(Ident::to_string)
        .unwrap_or_default();
    fn once<T>(
        slot: &mut Option<T>,
        value: T,
        meta: &syn::meta::ParseNestedMeta<'_>,
    ) -> syn::Result<()> {
        if slot.replace(value).is_some() {
            return Err(meta.error("duplicate constraint"));
        }
        Ok(())
    }
    match key.as_str() {
        "max_length" => once(&mut rules.max_length, count(meta)?, meta)?,
        "min_length" => once(&mut rules.min_length, count(meta)?, meta)?,
        "min_items" => once(&mut rules.min_items, count(meta)?, meta)?,
        "max_items" => once(&mut rules.max_items, count(meta)?, meta)?,
        "minimum" => once(&mut rules.minimum, number(meta)?, meta)?,
        "maximum" => once(&mut rules.maximum, number(meta)?, meta)?,
        "multiple_of" => {
            let step = number(meta)?;
            if step.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(meta.error("multiple_of must be greater than 0"));
            }
            once(&mut rules.multiple_of, step, meta)?;
        }
        "format" => {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value() != "uri" {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "the only format is \"uri\" (date-times are typed `DateTime`)",
                ));
            }
            rules.uri = true;
        }
        "draft4" => {
            if std::mem::replace(&mut rules.draft4, true) {
                return Err(meta.error("duplicate constraint"));
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reports constraints that do not apply to `kind`.
fn check_rules(kind: &Kind, rules: &Rules, at: &dyn ToTokens, errors: &mut Errors) {
    let string = matches!(kind, Kind::Str | Kind::DateTime);
    let number = matches!(kind, Kind::Int | Kind::Num);
    let array = matches!(kind, Kind::Vec(..));
    let mut misplaced = |present: bool, ok: bool, what: &str| {
        if present && !ok {
            errors.spanned(
                at,
                format_args!("`{what}` does not apply to this field's type"),
            );
        }
    };
    misplaced(rules.max_length.is_some(), string, "max_length");
    misplaced(rules.min_length.is_some(), string, "min_length");
    misplaced(rules.uri, matches!(kind, Kind::Str), "format");
    misplaced(rules.minimum.is_some(), number, "minimum");
    misplaced(rules.maximum.is_some(), number, "maximum");
    misplaced(rules.multiple_of.is_some(), number, "multiple_of");
    misplaced(rules.min_items.is_some(), array, "min_items");
    misplaced(rules.max_items.is_some(), array, "max_items");
    misplaced(rules.draft4, matches!(kind, Kind::Int), "draft4");
    if let Kind::Vec(inner, item_rules) = kind {
        check_rules(inner, item_rules, at, errors);
    }
}

fn parse_struct<'a>(
    ident: &Ident,
    fields: impl Iterator<Item = &'a syn::Field>,
    errors: &mut Errors,
) -> Model {
    let mut model = Model {
        ident: ident.clone(),
        fields: Vec::new(),
        extra: None,
    };
    for field in fields {
        let Some(field_ident) = field.ident.clone() else {
            continue;
        };
        let mut rename: Option<LitStr> = None;
        let mut extra = false;
        let mut rules = Rules::default();
        let mut items = Rules::default();
        for attr in field.attrs.iter().filter(|a| is_ocpp(a)) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if rename.replace(meta.value()?.parse()?).is_some() {
                        return Err(meta.error("duplicate `rename`"));
                    }
                } else if meta.path.is_ident("extra") {
                    extra = true;
                } else if meta.path.is_ident("items") {
                    meta.parse_nested_meta(|inner| {
                        if constraint(&inner, &mut items)? {
                            Ok(())
                        } else {
                            Err(inner.error("unknown item constraint"))
                        }
                    })?;
                } else if !constraint(&meta, &mut rules)? {
                    return Err(meta.error(
                        "unknown key; expected rename, extra, items(...), max_length, min_length, \
                         format, minimum, maximum, multiple_of, min_items, max_items or draft4",
                    ));
                }
                Ok(())
            });
            errors.ok(result);
        }
        if extra {
            if model.extra.replace(field_ident.clone()).is_some() {
                errors.spanned(&field_ident, "only one field may be #[ocpp(extra)]");
            }
            continue;
        }
        let (optional, ty) = match last_segment(&field.ty) {
            Some((name, Some(inner))) if name == "Option" => (true, inner),
            _ => (false, &field.ty),
        };
        let kind = kind_of(ty, items, errors);
        check_rules(&kind, &rules, &field.ty, errors);
        let json = rename
            .map(|r| r.value())
            .unwrap_or_else(|| field_ident.to_string().trim_start_matches("r#").to_owned());
        if model.fields.iter().any(|f| f.json == json) {
            errors.spanned(
                &field_ident,
                format_args!("two fields are named {json:?} in JSON"),
            );
        }
        model.fields.push(Field {
            ident: field_ident,
            json,
            optional,
            kind,
            rules,
        });
    }
    model
}

fn opt_usize(v: Option<usize>) -> TokenStream {
    match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn opt_f64(v: Option<f64>) -> TokenStream {
    match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// The `StringSchema` of a string with `rules`.
fn string_schema(rules: &Rules) -> TokenStream {
    let v = quote!(::ocpp_messages::validate);
    let (max, min) = (opt_usize(rules.max_length), opt_usize(rules.min_length));
    let format = if rules.uri {
        quote!(::core::option::Option::Some(#v::Format::Uri))
    } else {
        quote!(::core::option::Option::None)
    };
    quote!(#v::StringSchema { max_length: #max, min_length: #min, format: #format })
}

/// The `NumberRange` of a number with `rules`.
fn number_range(rules: &Rules) -> TokenStream {
    let (min, max, step) = (
        opt_f64(rules.minimum),
        opt_f64(rules.maximum),
        opt_f64(rules.multiple_of),
    );
    quote!(::ocpp_messages::validate::NumberRange { minimum: #min, maximum: #max, multiple_of: #step })
}

/// The decoding seed of a value of `kind`.
fn seed(kind: &Kind, rules: &Rules) -> TokenStream {
    let p = quote!(::ocpp_messages::__private::codec);
    let phantom = |ty: TokenStream| quote!(::core::marker::PhantomData::<#ty>);
    match kind {
        Kind::Str => {
            let strings = string_schema(rules);
            quote!(#p::Str(#strings, mode))
        }
        Kind::Int | Kind::Num => {
            let range = number_range(rules);
            let seed = match kind {
                Kind::Int if rules.draft4 => quote!(IntDraft4),
                Kind::Int => quote!(Int),
                _ => quote!(Num),
            };
            quote!(#p::#seed(#range, mode))
        }
        Kind::DateTime => phantom(quote!(::ocpp_messages::DateTime)),
        Kind::Bool => phantom(quote!(bool)),
        Kind::Any => phantom(quote!(::ocpp_messages::__private::Value)),
        Kind::Named(ty) => quote!(#p::Nested::<#ty>::new(mode)),
        Kind::Vec(inner, item_rules) => {
            let item = seed(inner, item_rules);
            let (min, max) = (opt_usize(rules.min_items), opt_usize(rules.max_items));
            quote!(#p::Items { min_items: #min, max_items: #max, item: #item, mode })
        }
    }
}

/// The `&'static Schema` expression of a value of `kind`.
fn schema(kind: &Kind, rules: &Rules) -> TokenStream {
    let v = quote!(::ocpp_messages::validate);
    match kind {
        Kind::Str => {
            let strings = string_schema(rules);
            quote!(&#v::Schema::String(#strings))
        }
        Kind::DateTime => {
            let (max, min) = (opt_usize(rules.max_length), opt_usize(rules.min_length));
            let format = quote!(::core::option::Option::Some(#v::Format::DateTime));
            quote!(&#v::Schema::String(#v::StringSchema { max_length: #max, min_length: #min, format: #format }))
        }
        Kind::Int if rules.draft4 => {
            let range = number_range(rules);
            quote!(&#v::Schema::IntegerDraft4(#range))
        }
        Kind::Int => {
            let range = number_range(rules);
            quote!(&#v::Schema::Integer(#range))
        }
        Kind::Num => {
            let range = number_range(rules);
            quote!(&#v::Schema::Number(#range))
        }
        Kind::Bool => quote!(&#v::Schema::Boolean),
        Kind::Any => quote!(&#v::Schema::Any),
        Kind::Named(ty) => quote!(<#ty as #v::HasSchema>::SCHEMA),
        Kind::Vec(inner, item_rules) => {
            let items = schema(inner, item_rules);
            let (min, max) = (opt_usize(rules.min_items), opt_usize(rules.max_items));
            quote!(&#v::Schema::Array(#v::ArraySchema { items: #items, min_items: #min, max_items: #max }))
        }
    }
}

/// An expression that is `true` when the value `v` (a reference) satisfies `kind` and `rules`.
fn check(kind: &Kind, rules: &Rules, v: &TokenStream) -> TokenStream {
    let p = quote!(::ocpp_messages::__private::codec);
    match kind {
        Kind::Str => {
            let strings = string_schema(rules);
            quote!(#strings.accepts(#v))
        }
        // Always an RFC 3339 date-time; only a length limit can fail.
        Kind::DateTime => {
            let strings = string_schema(rules);
            quote!(#strings.accepts(#v.as_str()))
        }
        Kind::Int => {
            let range = number_range(rules);
            quote!(#range.accepts(*#v as f64))
        }
        Kind::Num => {
            let range = number_range(rules);
            quote!((#v.is_finite() && #range.accepts(*#v)))
        }
        Kind::Bool | Kind::Any => quote!(true),
        Kind::Named(ty) => quote!(<#ty as ::ocpp_messages::Codec>::is_valid(#v)),
        Kind::Vec(inner, item_rules) => {
            let item = check(inner, item_rules, &quote!(item));
            let (min, max) = (opt_usize(rules.min_items), opt_usize(rules.max_items));
            quote!((#p::count_ok(#v.len(), #min, #max) && #v.iter().all(|item| #item)))
        }
    }
}

fn expand_struct(model: &Model) -> TokenStream {
    let ident = &model.ident;
    let p = quote!(::ocpp_messages::__private);
    let serde = quote!(#p::serde);
    let slots: Vec<Ident> = (0..model.fields.len())
        .map(|i| format_ident!("__f{i}"))
        .collect();
    let expecting = format!("a {ident} object");

    // Decoding.
    let arms = model.fields.iter().zip(&slots).map(|(field, slot)| {
        let json = &field.json;
        let seed = seed(&field.kind, &field.rules);
        quote! {
            #json => #slot = ::core::option::Option::Some(#serde::de::MapAccess::next_value_seed(&mut map, #seed)?),
        }
    });
    let other = match &model.extra {
        Some(_) => quote! {
            _ => {
                let value = #serde::de::MapAccess::next_value::<#p::Value>(&mut map)?;
                __extra.insert(key.into_owned(), value);
            }
        },
        None => quote! {
            _ => return ::core::result::Result::Err(#serde::de::Error::custom(#p::codec::UNKNOWN_MEMBER)),
        },
    };
    let extra_decl = model
        .extra
        .as_ref()
        .map(|_| quote!(let mut __extra = #p::Map::new();));
    let inits = model.fields.iter().zip(&slots).map(|(field, slot)| {
        let fident = &field.ident;
        let json = &field.json;
        if field.optional {
            quote!(#fident: #slot)
        } else {
            quote! {
                #fident: match #slot {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(#serde::de::Error::missing_field(#json))
                    }
                }
            }
        }
    });
    let extra_init = model.extra.as_ref().map(|e| quote!(#e: __extra,));

    // Encoding.
    let required = model.fields.iter().filter(|f| !f.optional).count();
    let optional_counts = model.fields.iter().filter(|f| f.optional).map(|f| {
        let fident = &f.ident;
        quote!(+ usize::from(self.#fident.is_some()))
    });
    let extra_count = model.extra.as_ref().map(|e| quote!(+ self.#e.len()));
    let entries = model.fields.iter().map(|field| {
        let fident = &field.ident;
        let json = &field.json;
        if field.optional {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#fident {
                    #serde::ser::SerializeMap::serialize_entry(&mut map, #json, value)?;
                }
            }
        } else {
            quote!(#serde::ser::SerializeMap::serialize_entry(&mut map, #json, &self.#fident)?;)
        }
    });
    let extra_entries = model.extra.as_ref().map(|e| {
        quote! {
            for (name, value) in &self.#e {
                #serde::ser::SerializeMap::serialize_entry(&mut map, name, value)?;
            }
        }
    });

    // Schema and checks.
    let properties = model.fields.iter().map(|field| {
        let json = &field.json;
        let required = !field.optional;
        let schema = schema(&field.kind, &field.rules);
        quote!(::ocpp_messages::validate::Property { name: #json, required: #required, schema: #schema })
    });
    let open = model.extra.is_some();
    let checks = model.fields.iter().map(|field| {
        let fident = &field.ident;
        if field.optional {
            let check = check(&field.kind, &field.rules, &quote!(value));
            quote!(&& self.#fident.as_ref().is_none_or(|value| #check))
        } else {
            let check = check(&field.kind, &field.rules, &quote!((&self.#fident)));
            quote!(&& #check)
        }
    });
    // Extra members may not shadow declared ones (the object would carry the name twice).
    let extra_check = model.extra.as_ref().map(|e| {
        let names = model.fields.iter().map(|f| &f.json);
        quote!(&& !self.#e.keys().any(|name| [#(#names),*].contains(&name.as_str())))
    });

    quote! {
        impl #ident {
            /// Checks this value against its schema (the constraints its Rust type does not
            /// express, such as lengths, ranges and item counts), as it would be sent.
            pub fn validate(&self) -> ::core::result::Result<(), ::ocpp_messages::validate::Violations> {
                #p::codec::validate_value(self)
            }
        }

        const _: () = {
            impl<'de> #serde::Deserialize<'de> for #ident {
                fn deserialize<D: #serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                    <Self as ::ocpp_messages::Codec>::decode_in(deserializer, #p::Mode::Strict)
                }
            }

            impl #serde::Serialize for #ident {
                fn serialize<S: #serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                    let len = #required #(#optional_counts)* #extra_count;
                    let mut map = serializer.serialize_map(::core::option::Option::Some(len))?;
                    #(#entries)*
                    #extra_entries
                    #serde::ser::SerializeMap::end(map)
                }
            }

            impl ::ocpp_messages::validate::HasSchema for #ident {
                const SCHEMA: &'static ::ocpp_messages::validate::Schema =
                    &::ocpp_messages::validate::Schema::Object(::ocpp_messages::validate::ObjectSchema {
                        properties: &[#(#properties),*],
                        additional_properties: #open,
                    });
            }

            impl ::ocpp_messages::Codec for #ident {
                fn is_valid(&self) -> bool {
                    true #(#checks)* #extra_check
                }

                fn decode_in<'de, D: #serde::Deserializer<'de>>(
                    deserializer: D,
                    mode: #p::Mode,
                ) -> ::core::result::Result<Self, D::Error> {
                    struct Visitor(#p::Mode);
                    impl<'de> #serde::de::Visitor<'de> for Visitor {
                        type Value = #ident;
                        fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            f.write_str(#expecting)
                        }
                        #[allow(unused_mut, unused_variables)]
                        fn visit_map<A: #serde::de::MapAccess<'de>>(self, mut map: A) -> ::core::result::Result<#ident, A::Error> {
                            let mode = self.0;
                            #( let mut #slots = ::core::option::Option::None; )*
                            #extra_decl
                            while let ::core::option::Option::Some(key) = #serde::de::MapAccess::next_key::<#p::codec::Key<'de>>(&mut map)? {
                                match key.as_str() {
                                    #(#arms)*
                                    #other
                                }
                            }
                            ::core::result::Result::Ok(#ident { #(#inits,)* #extra_init })
                        }
                    }
                    deserializer.deserialize_map(Visitor(mode))
                }
            }
        };
    }
}

struct Variant {
    ident: Ident,
    wire: String,
}

struct EnumModel {
    ident: Ident,
    variants: Vec<Variant>,
}

fn parse_enum(ident: &Ident, data: &syn::DataEnum, errors: &mut Errors) -> EnumModel {
    let mut variants = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.spanned(
                variant,
                "#[derive(Codec)] enums have unit variants only (JSON strings)",
            );
        }
        let mut rename: Option<LitStr> = None;
        for attr in variant.attrs.iter().filter(|a| is_ocpp(a)) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if rename.replace(meta.value()?.parse()?).is_some() {
                        return Err(meta.error("duplicate `rename`"));
                    }
                    Ok(())
                } else {
                    Err(meta.error("unknown key; an enum variant takes only `rename`"))
                }
            });
            errors.ok(result);
        }
        let wire = rename.map_or_else(|| variant.ident.to_string(), |r| r.value());
        if variants.iter().any(|v: &Variant| v.wire == wire) {
            errors.spanned(variant, format_args!("two variants are spelled {wire:?}"));
        }
        variants.push(Variant {
            ident: variant.ident.clone(),
            wire,
        });
    }
    if variants.is_empty() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "an enum needs at least one variant",
        ));
    }
    EnumModel {
        ident: ident.clone(),
        variants,
    }
}

fn expand_enum(model: &EnumModel) -> TokenStream {
    let ident = &model.ident;
    let p = quote!(::ocpp_messages::__private);
    let serde = quote!(#p::serde);
    let idents: Vec<&Ident> = model.variants.iter().map(|v| &v.ident).collect();
    let wires: Vec<&str> = model.variants.iter().map(|v| v.wire.as_str()).collect();
    let expecting = format!("a {ident} value (a string)");
    let unknown = format!("not a {ident} value");
    quote! {
        impl #ident {
            /// Every value, in schema order.
            pub const ALL: &'static [Self] = &[#(Self::#idents),*];

            /// The value as written on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(Self::#idents => #wires,)*
                }
            }

            /// The value written `text` on the wire, if there is one.
            pub fn from_wire(text: &str) -> ::core::option::Option<Self> {
                match text {
                    #(#wires => ::core::option::Option::Some(Self::#idents),)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        const _: () = {
            impl ::core::fmt::Display for #ident {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl ::core::str::FromStr for #ident {
                type Err = ::ocpp_messages::ConversionError;
                fn from_str(text: &str) -> ::core::result::Result<Self, Self::Err> {
                    Self::from_wire(text).ok_or(::ocpp_messages::ConversionError::from(#unknown))
                }
            }

            impl ::core::convert::TryFrom<&str> for #ident {
                type Error = ::ocpp_messages::ConversionError;
                fn try_from(text: &str) -> ::core::result::Result<Self, Self::Error> {
                    text.parse()
                }
            }

            impl #serde::Serialize for #ident {
                fn serialize<S: #serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }

            impl<'de> #serde::Deserialize<'de> for #ident {
                fn deserialize<D: #serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                    struct Visitor;
                    impl<'de> #serde::de::Visitor<'de> for Visitor {
                        type Value = #ident;
                        fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            f.write_str(#expecting)
                        }
                        fn visit_str<E: #serde::de::Error>(self, text: &str) -> ::core::result::Result<#ident, E> {
                            #ident::from_wire(text).ok_or_else(|| E::custom(#unknown))
                        }
                    }
                    deserializer.deserialize_str(Visitor)
                }
            }

            impl ::ocpp_messages::validate::HasSchema for #ident {
                const SCHEMA: &'static ::ocpp_messages::validate::Schema =
                    &::ocpp_messages::validate::Schema::Enum(&[#(#wires),*]);
            }

            impl ::ocpp_messages::Codec for #ident {
                fn is_valid(&self) -> bool {
                    true
                }

                fn decode_in<'de, D: #serde::Deserializer<'de>>(
                    deserializer: D,
                    _mode: #p::Mode,
                ) -> ::core::result::Result<Self, D::Error> {
                    <Self as #serde::Deserialize<'de>>::deserialize(deserializer)
                }
            }
        };
    }
}
