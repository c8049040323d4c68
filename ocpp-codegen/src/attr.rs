//! Parsing of the `#[ocpp(...)]` attribute, shared by `#[derive(Feature)]` and
//! `functional_block!`.

use proc_macro2::{Ident, TokenTree};
use syn::{Attribute, Expr, Lit, LitStr, Token, Type};

use crate::errors::Errors;

/// The attribute as it should be written, quoted in error messages.
pub(crate) const EXAMPLE: &str =
    "#[ocpp(action = \"SignCertificate\", request = SignCertificateRequest, \
     response = SignCertificateResponse, initiator = ChargingStation)]";

/// The keys `#[ocpp(...)]` accepts, in the order they are reported missing.
const KEYS: [&str; 4] = ["action", "request", "response", "initiator"];

/// Who sends the CALL of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Initiator {
    /// Only the charging station.
    ChargingStation,
    /// Only the CSMS.
    Csms,
    /// Either side.
    Both,
}

impl Initiator {
    /// Whether the charging station sends this action (so the CSMS handles it).
    pub(crate) fn sent_by_charging_station(self) -> bool {
        matches!(self, Initiator::ChargingStation | Initiator::Both)
    }

    /// Whether the CSMS sends this action (so the charging station handles it).
    pub(crate) fn sent_by_csms(self) -> bool {
        matches!(self, Initiator::Csms | Initiator::Both)
    }
}

/// The content of a valid `#[ocpp(...)]` attribute, keeping the user's tokens for spans.
pub(crate) struct OcppAttr {
    /// The action name, a non-empty string of ASCII letters and digits.
    pub(crate) action: LitStr,
    /// The CALL payload type.
    pub(crate) request: Type,
    /// The CALLRESULT payload type (`ocpp_messages::NoResponse` for a SEND).
    pub(crate) response: Type,
    /// Whether the action is a SEND (OCPP 2.1 message type 6): never answered; written as the
    /// flag `send` instead of a `response`.
    pub(crate) send: bool,
    /// Who sends the CALL.
    pub(crate) initiator: Initiator,
    /// The initiator as written.
    pub(crate) initiator_ident: Ident,
}

/// The keys found so far, each with the tokens it was written with.
#[derive(Default)]
struct Found {
    action: Option<LitStr>,
    request: Option<Type>,
    response: Option<Type>,
    initiator: Option<(Initiator, Ident)>,
    send: Option<Ident>,
}

/// Whether `attr` is an `#[ocpp ...]` attribute.
pub(crate) fn is_ocpp(attr: &Attribute) -> bool {
    attr.path().is_ident("ocpp")
}

/// Parses the `#[ocpp(...)]` attributes of the struct `item`, reporting every unknown,
/// duplicate, missing or malformed key.
pub(crate) fn parse(attrs: &[Attribute], item: &Ident) -> syn::Result<OcppAttr> {
    let mut errors = Errors::default();
    let mut found = Found::default();
    // Keys written, valid or not: an invalid value is reported once, not also as missing.
    let mut seen: Vec<String> = Vec::new();
    // After a syntax error the rest of that attribute is unread, so nothing is "missing".
    let mut syntax_error = false;
    let ocpp_attrs: Vec<&Attribute> = attrs.iter().filter(|a| is_ocpp(a)).collect();
    for attr in &ocpp_attrs {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(Ident::to_string);
            let duplicate = key
                .as_ref()
                .is_some_and(|key| KEYS.contains(&key.as_str()) && seen.contains(key));
            if duplicate {
                errors.spanned(
                    &meta.path,
                    format_args!("duplicate key `{}` in #[ocpp(...)]", path_text(&meta.path)),
                );
            }
            seen.extend(key.clone());
            match key.as_deref() {
                Some("action") => {
                    let value: Expr = meta.value()?.parse()?;
                    set(&mut found.action, errors.ok(action(&value)), duplicate);
                }
                Some("request") => {
                    let value: Type = meta.value()?.parse()?;
                    set(&mut found.request, Some(value), duplicate);
                }
                Some("response") => {
                    let value: Type = meta.value()?.parse()?;
                    set(&mut found.response, Some(value), duplicate);
                }
                Some("initiator") => {
                    let value: Expr = meta.value()?.parse()?;
                    set(
                        &mut found.initiator,
                        errors.ok(initiator(&value)),
                        duplicate,
                    );
                }
                Some("send") => {
                    if found.send.is_some() {
                        errors.spanned(&meta.path, "duplicate key `send` in #[ocpp(...)]");
                    }
                    found.send = meta.path.get_ident().cloned();
                }
                _ => {
                    errors.spanned(
                        &meta.path,
                        format_args!(
                            "unknown key `{}` in #[ocpp(...)]; expected `action`, `request`, \
                             `response` (or `send`) or `initiator`",
                            path_text(&meta.path),
                        ),
                    );
                    // Skip the value so the remaining keys are still checked.
                    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                        meta.input.parse::<TokenTree>()?;
                    }
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            syntax_error = true;
            errors.push(error);
        }
    }

    // A SEND has no response: `send` stands for it, and both together are an error.
    let send = found.send.is_some();
    if let (Some(flag), Some(response)) = (&found.send, &found.response) {
        errors.spanned(
            quote::quote!(#flag #response),
            "a SEND is never answered: write `send` or `response = ...`, not both",
        );
    }
    if send {
        found.response = Some(syn::parse_quote!(::ocpp_messages::NoResponse));
    }
    if let (Some(action), Some(request), Some(response), Some((initiator, initiator_ident))) =
        (found.action, found.request, found.response, found.initiator)
    {
        return errors.finish(OcppAttr {
            action,
            request,
            response,
            send,
            initiator,
            initiator_ident,
        });
    }
    let missing: Vec<String> = KEYS
        .iter()
        .filter(|key| !(send && **key == "response"))
        .filter(|key| !seen.iter().any(|seen| seen == *key))
        .map(|key| format!("`{key}`"))
        .collect();
    match ocpp_attrs.first() {
        None => Err(errors.fail(syn::Error::new_spanned(
            item,
            format_args!("`{item}` needs an attribute like {EXAMPLE}"),
        ))),
        Some(first) if !missing.is_empty() && !syntax_error => {
            Err(errors.fail(syn::Error::new_spanned(
                first,
                format_args!(
                    "#[ocpp(...)] is missing {}; expected {EXAMPLE}",
                    missing.join(", ")
                ),
            )))
        }
        // Every missing key was written but its value was invalid or unreadable: that error
        // has been recorded already.
        Some(_) => Err(errors.reported()),
    }
}

/// Stores a key's valid value, unless the key was written before (the first one counts).
fn set<T>(slot: &mut Option<T>, value: Option<T>, duplicate: bool) {
    if !duplicate {
        *slot = value;
    }
}

/// A path as written, for messages.
fn path_text(path: &syn::Path) -> String {
    quote::ToTokens::to_token_stream(path)
        .to_string()
        .replace(' ', "")
}

/// The `action = "..."` value: a string literal naming an action.
fn action(value: &Expr) -> syn::Result<LitStr> {
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(
            value,
            "`action` must be a string literal, e.g. `action = \"SignCertificate\"`",
        ));
    };
    let name = lit.value();
    if name.is_empty() {
        return Err(syn::Error::new_spanned(lit, "`action` must not be empty"));
    }
    if !is_action_name(&name) {
        return Err(syn::Error::new_spanned(
            lit,
            format_args!(
                "`action` must be an OCPP action name (ASCII letters and digits, starting with \
                 a letter), not {name:?}"
            ),
        ));
    }
    Ok(lit.clone())
}

/// Whether `name` looks like an OCPP action name, e.g. `Get15118EVCertificate`.
fn is_action_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// The `initiator = ...` value: one of three bare identifiers.
fn initiator(value: &Expr) -> syn::Result<(Initiator, Ident)> {
    let ident = match value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => path.path.get_ident(),
        _ => None,
    };
    let initiator = ident.and_then(|ident| match ident.to_string().as_str() {
        "ChargingStation" => Some(Initiator::ChargingStation),
        "Csms" => Some(Initiator::Csms),
        "Both" => Some(Initiator::Both),
        _ => None,
    });
    match (initiator, ident) {
        (Some(initiator), Some(ident)) => Ok((initiator, ident.clone())),
        _ => Err(syn::Error::new_spanned(
            value,
            "unknown initiator; expected `ChargingStation`, `Csms` or `Both`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::is_action_name;

    #[test]
    fn action_names() {
        assert!(is_action_name("SignCertificate"));
        assert!(is_action_name("Get15118EVCertificate"));
        assert!(!is_action_name(""));
        assert!(!is_action_name("1Sign"));
        assert!(!is_action_name("Sign Certificate"));
        assert!(!is_action_name("Sign-Certificate"));
    }
}
