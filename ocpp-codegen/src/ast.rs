//! The typed model of a feature struct, checked, keeping the user's tokens for spans.

use proc_macro2::Ident;
use quote::quote;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, ItemStruct, Visibility};

use crate::attr::{self, OcppAttr};
use crate::errors::Errors;

/// How a feature struct must look, quoted in error messages.
const UNIT_STRUCT: &str =
    "a feature must be a unit struct, e.g. `pub struct SignCertificateFeature;`";

/// A feature struct: a unit struct without generics carrying a valid `#[ocpp(...)]`.
pub(crate) struct Feature<'a> {
    /// All its attributes, `#[ocpp(...)]` and docs included.
    pub(crate) attrs: &'a [Attribute],
    /// Its visibility.
    pub(crate) vis: &'a Visibility,
    /// Its name.
    pub(crate) ident: &'a Ident,
    /// Its `#[ocpp(...)]` attribute.
    pub(crate) ocpp: OcppAttr,
}

impl<'a> Feature<'a> {
    /// The feature a `#[derive(Feature)]` is applied to.
    pub(crate) fn from_derive(input: &'a DeriveInput) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let ident = &input.ident;
        match &input.data {
            Data::Struct(data) => check_fields(&mut errors, &data.fields),
            Data::Enum(data) => {
                let enum_token = data.enum_token;
                errors.spanned(quote!(#enum_token #ident), UNIT_STRUCT);
            }
            Data::Union(data) => {
                let union_token = data.union_token;
                errors.spanned(quote!(#union_token #ident), UNIT_STRUCT);
            }
        }
        Self::new(errors, &input.attrs, &input.vis, ident, &input.generics)
    }

    /// A feature struct declared in a `functional_block!`.
    pub(crate) fn from_item(item: &'a ItemStruct) -> syn::Result<Self> {
        let mut errors = Errors::default();
        check_fields(&mut errors, &item.fields);
        Self::new(errors, &item.attrs, &item.vis, &item.ident, &item.generics)
    }

    fn new(
        mut errors: Errors,
        attrs: &'a [Attribute],
        vis: &'a Visibility,
        ident: &'a Ident,
        generics: &Generics,
    ) -> syn::Result<Self> {
        if !generics.params.is_empty() || generics.where_clause.is_some() {
            // `Generics` prints its parameters only; add the where clause for the span.
            let where_clause = &generics.where_clause;
            errors.spanned(
                quote!(#generics #where_clause),
                "a feature struct cannot have generic parameters or a where clause",
            );
        }
        match attr::parse(attrs, ident) {
            Ok(ocpp) => errors.finish(Feature {
                attrs,
                vis,
                ident,
                ocpp,
            }),
            Err(error) => Err(errors.fail(error)),
        }
    }

    /// The lines of its doc comment, as `#[doc = "..."]` attributes.
    pub(crate) fn docs(&self) -> impl Iterator<Item = &'a Attribute> {
        self.attrs.iter().filter(
            |attr| matches!(&attr.meta, syn::Meta::NameValue(nv) if nv.path.is_ident("doc")),
        )
    }
}

/// Reports fields: a feature is a marker type.
fn check_fields(errors: &mut Errors, fields: &Fields) {
    match fields {
        Fields::Unit => {}
        Fields::Named(fields) => errors.spanned(fields, UNIT_STRUCT),
        Fields::Unnamed(fields) => errors.spanned(fields, UNIT_STRUCT),
    }
}
