//! What both derives share: the struct's named fields, doc comments, names and types.

use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Expr, Fields, FieldsNamed, GenericArgument, Lit, PathArguments, Type};

/// Longest input or output name the host accepts.
pub const MAX_NAME: usize = 64;
/// Longest doc the host accepts, in bytes.
pub const MAX_DOC: usize = 4 << 10;

/// The named fields of a plain struct; `what` names the derive in errors.
pub fn named_fields<'a>(input: &'a DeriveInput, what: &str) -> syn::Result<&'a FieldsNamed> {
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!("`#[derive({what})]` takes a struct without generic parameters"),
        ));
    }
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Ok(fields),
            _ => Err(syn::Error::new(
                input.ident.span(),
                format!(
                    "`#[derive({what})]` takes a struct with named fields, one per {}",
                    what.to_lowercase().trim_end_matches('s')
                ),
            )),
        },
        _ => Err(syn::Error::new(
            input.ident.span(),
            format!("`#[derive({what})]` takes a struct with named fields"),
        )),
    }
}

/// The doc comment on `attrs`, as one line per paragraph: lines joined with a space,
/// paragraphs with a blank line. `None` when there is none or it is blank.
pub fn doc_of(attrs: &[Attribute]) -> syn::Result<Option<String>> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        let value = &attr.meta.require_name_value()?.value;
        match value {
            Expr::Lit(lit) if matches!(lit.lit, Lit::Str(_)) => {
                let Lit::Str(text) = &lit.lit else { unreachable!() };
                lines.extend(text.value().split('\n').map(|l| l.trim().to_string()));
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "write the documentation as a `///` comment: it becomes part of `describe`",
                ));
            }
        }
    }
    let paragraphs: Vec<String> = lines
        .split(|l| l.is_empty())
        .filter(|p| !p.is_empty())
        .map(|p| p.join(" "))
        .collect();
    Ok((!paragraphs.is_empty()).then(|| paragraphs.join("\n\n")))
}

/// The default name of a field: its identifier in kebab-case (`min_healthy` → `min-healthy`).
pub fn kebab(ident: &syn::Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").unwrap_or(&text).replace('_', "-")
}

/// Why the host would refuse `name`, if it would.
pub fn name_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (!ok).then(|| format!("`{name}` is not a usable name: names are 1-{MAX_NAME} letters, digits, `-` and `_`"))
}

/// `T` when `ty` is `Option<T>` (written with any path, e.g. `std::option::Option<T>`).
pub fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungroup(ty) else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// The last identifier of a type's path (`std::collections::HashMap<K, V>` → `HashMap`).
pub fn last_ident(ty: &Type) -> Option<String> {
    match ungroup(ty) {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `ty` without the invisible groups and parentheses macros leave around types.
pub fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

/// The doc comment of a field, which becomes the `what`'s documentation: required, and no
/// longer than the host accepts.
pub fn required_doc(field: &syn::Field, ident: &syn::Ident, what: &str) -> syn::Result<String> {
    let doc = doc_of(&field.attrs)?.ok_or_else(|| {
        syn::Error::new(
            ident.span(),
            format!("missing doc comment: it becomes the {what}'s documentation"),
        )
    })?;
    if doc.len() > MAX_DOC {
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "the doc comment is {} bytes; the host takes at most {MAX_DOC}",
                doc.len()
            ),
        ));
    }
    Ok(doc)
}
