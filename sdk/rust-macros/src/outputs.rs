//! `#[derive(Outputs)]`: one `output-spec` per field and the code that sets them.

use crate::common::{kebab, name_problem, named_fields, required_doc};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Field, LitStr};

/// Output names the host writes itself (compared without case).
const RESERVED: &[&str] = &["status", "message", "outputs"];

/// One field: its name and doc.
fn plan(field: &Field) -> syn::Result<(String, String)> {
    let ident = field.ident.as_ref().expect("named fields");
    let mut name: Option<LitStr> = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("output")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                if name.replace(meta.value()?.parse()?).is_some() {
                    return Err(meta.error("given twice"));
                }
                Ok(())
            } else {
                Err(meta.error("unknown `output` option; write `name = \"…\"`"))
            }
        })?;
    }
    let doc = required_doc(field, ident, "output")?;
    let (name, span) = match name {
        Some(lit) => (lit.value(), lit.span()),
        None => (kebab(ident), ident.span()),
    };
    if let Some(problem) = name_problem(&name) {
        return Err(syn::Error::new(span, problem));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(syn::Error::new(
            span,
            format!(
                "the host sets `{name}` itself ({} are reserved, in any case); rename it with `#[output(name = \"…\")]`",
                RESERVED.join(", ")
            ),
        ));
    }
    Ok((name, doc))
}

/// The `TypedOutputs` impl for `input`, or every mistake found in it.
pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = named_fields(input, "Outputs")?;
    let mut names: Vec<String> = Vec::new();
    let mut specs = Vec::new();
    let mut values = Vec::new();
    let mut errors: Option<syn::Error> = None;
    for field in &fields.named {
        let (name, doc) = match plan(field) {
            Ok(p) => p,
            Err(e) => {
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
                continue;
            }
        };
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            let e = syn::Error::new(
                field.ident.span(),
                format!("two fields are the output `{name}` (names are compared without case)"),
            );
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
            continue;
        }
        let ident = &field.ident;
        specs.push(quote! {
            ::tollgate_sdk::OutputSpec {
                name: ::std::string::String::from(#name),
                doc: ::std::string::String::from(#doc),
            }
        });
        values.push(quote_spanned! {field.ty.span()=>
            if let ::std::option::Option::Some(text) = ::tollgate_sdk::__private::output_text(#name, &self.#ident)? {
                __values.push((::std::string::String::from(#name), text));
            }
        });
        names.push(name);
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let ident = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        impl ::tollgate_sdk::TypedOutputs for #ident {
            fn specs() -> ::std::vec::Vec<::tollgate_sdk::OutputSpec> {
                ::std::vec![#(#specs),*]
            }

            fn values(
                &self,
            ) -> ::std::result::Result<
                ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ::tollgate_sdk::PluginError,
            > {
                let mut __values = ::std::vec::Vec::new();
                #(#values)*
                ::std::result::Result::Ok(__values)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn error(input: DeriveInput) -> String {
        expand(&input).expect_err("should not expand").to_string()
    }

    #[test]
    fn outputs_need_docs_and_free_names() {
        assert_eq!(
            error(parse_quote!(
                struct O {
                    healthy: u32,
                }
            )),
            "missing doc comment: it becomes the output's documentation"
        );
        assert!(
            error(parse_quote!(
                struct O {
                    /// D.
                    status: String,
                }
            ))
            .contains("the host sets `status` itself")
        );
        assert!(
            error(parse_quote!(
                struct O {
                    /// D.
                    a: String,
                    /// E.
                    #[output(name = "A")]
                    b: String,
                }
            ))
            .contains("two fields are the output `A`")
        );
        assert!(
            error(parse_quote!(
                struct O {
                    /// D.
                    #[output(rename = "x")]
                    a: String,
                }
            ))
            .contains("unknown `output` option")
        );
    }
}
