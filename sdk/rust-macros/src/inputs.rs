//! `#[derive(Inputs)]`: one `input-spec` per field and the code that reads it back.

use crate::common::{kebab, last_ident, name_problem, named_fields, option_inner, required_doc, ungroup};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Field, LitStr, Token, Type};

/// The WIT `value-kind`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Boolean,
    Duration,
    List,
    Object,
    Any,
}

impl Kind {
    const NAMES: [(&'static str, Kind); 7] = [
        ("string", Kind::String),
        ("number", Kind::Number),
        ("boolean", Kind::Boolean),
        ("duration", Kind::Duration),
        ("list", Kind::List),
        ("object", Kind::Object),
        ("any", Kind::Any),
    ];

    fn parse(text: &LitStr) -> syn::Result<Self> {
        let value = text.value();
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == value)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                syn::Error::new(
                    text.span(),
                    format!("unknown kind `{value}`; write one of {}", names.join(", ")),
                )
            })
    }

    fn tokens(self) -> TokenStream {
        let variant = syn::Ident::new(&format!("{self:?}"), Span::call_site());
        quote!(::tollgate_sdk::ValueKind::#variant)
    }
}

/// The kind a field type implies: `String` → string, `bool` → boolean, integers and floats →
/// number, `Duration` → duration, `Vec`/sets/arrays/tuples → list, maps → object, else any.
pub fn infer_kind(ty: &Type) -> Kind {
    match ungroup(ty) {
        Type::Array(_) => return Kind::List,
        Type::Tuple(t) if !t.elems.is_empty() => return Kind::List,
        _ => {}
    }
    match last_ident(ty).as_deref() {
        Some("String") => Kind::String,
        Some("bool") => Kind::Boolean,
        Some(
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "f32"
            | "f64",
        ) => Kind::Number,
        Some("Duration") => Kind::Duration,
        Some("Vec" | "VecDeque" | "HashSet" | "BTreeSet") => Kind::List,
        Some("HashMap" | "BTreeMap" | "Map") => Kind::Object,
        _ => Kind::Any,
    }
}

/// When the workflow gives no value.
enum Absent {
    /// `#[input(required)]`: an error.
    Required,
    /// `Option<T>`: `None`.
    None,
    /// `#[input(default = …)]`: this JSON (`serde_json::json!` syntax).
    Json(TokenStream),
    /// `#[input(default)]`: `T::default()`.
    TypeDefault,
}

/// One field, read and checked.
struct Plan {
    ident: syn::Ident,
    /// The field's type, or `T` for `Option<T>`.
    ty: Type,
    name: String,
    kind: Kind,
    /// The kind was inferred from a type named `Duration`, which must be the SDK's.
    check_duration: bool,
    absent: Absent,
    doc: String,
    grants_origins: bool,
    /// `#[input(sensitive)]`: the host digests and masks its value.
    sensitive: bool,
    /// `#[input(range = 0..=10)]`: the value must lie in this range.
    range: Option<TokenStream>,
}

/// What `#[input(...)]` says.
#[derive(Default)]
struct Attrs {
    required: Option<Span>,
    default: Option<(Span, Option<TokenStream>)>,
    name: Option<LitStr>,
    kind: Option<LitStr>,
    grants_origins: bool,
    sensitive: bool,
    range: Option<TokenStream>,
}

/// Everything up to the next top-level comma: a Rust expression, or `serde_json::json!`
/// syntax such as `["a", "b"]` or `{"k": 1}`.
fn tokens_until_comma(input: syn::parse::ParseStream<'_>) -> syn::Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(tokens)
}

fn parse_attrs(field: &Field) -> syn::Result<Attrs> {
    let mut attrs = Attrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("input")) {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            let twice = || syn::Error::new(span, "given twice");
            if meta.path.is_ident("required") {
                if attrs.required.replace(span).is_some() {
                    return Err(twice());
                }
            } else if meta.path.is_ident("grants_origins") {
                if std::mem::replace(&mut attrs.grants_origins, true) {
                    return Err(twice());
                }
            } else if meta.path.is_ident("sensitive") {
                if std::mem::replace(&mut attrs.sensitive, true) {
                    return Err(twice());
                }
            } else if meta.path.is_ident("name") {
                if attrs.name.replace(meta.value()?.parse()?).is_some() {
                    return Err(twice());
                }
            } else if meta.path.is_ident("kind") {
                if attrs.kind.replace(meta.value()?.parse()?).is_some() {
                    return Err(twice());
                }
            } else if meta.path.is_ident("range") {
                let tokens = tokens_until_comma(meta.value()?)?;
                if tokens.is_empty() {
                    return Err(meta.error("write a range after `range =`, e.g. `range = 0..=10`"));
                }
                if attrs.range.replace(tokens).is_some() {
                    return Err(twice());
                }
            } else if meta.path.is_ident("default") {
                let value = if meta.input.peek(Token![=]) {
                    let tokens = tokens_until_comma(meta.value()?)?;
                    if tokens.is_empty() {
                        return Err(meta.error("write a value after `default =`, e.g. `default = 2`"));
                    }
                    Some(tokens)
                } else {
                    None
                };
                if attrs.default.replace((span, value)).is_some() {
                    return Err(twice());
                }
            } else {
                return Err(meta.error(
                    "unknown `input` option; write `required`, `default = …`, `default`, `name = \"…\"`, \
                     `kind = \"…\"`, `range = …`, `grants_origins` or `sensitive`",
                ));
            }
            Ok(())
        })?;
    }
    Ok(attrs)
}

fn plan(field: &Field) -> syn::Result<Plan> {
    let ident = field.ident.clone().expect("named fields");
    let attrs = parse_attrs(field)?;
    let doc = required_doc(field, &ident, "input")?;
    let name = match &attrs.name {
        Some(lit) => {
            let name = lit.value();
            if let Some(problem) = name_problem(&name) {
                return Err(syn::Error::new(lit.span(), problem));
            }
            name
        }
        None => {
            let name = kebab(&ident);
            if let Some(problem) = name_problem(&name) {
                return Err(syn::Error::new(
                    ident.span(),
                    format!("{problem}; set `#[input(name = \"…\")]`"),
                ));
            }
            name
        }
    };
    let inner = option_inner(&field.ty);
    let ty = inner.unwrap_or(&field.ty).clone();
    let (kind, check_duration) = match &attrs.kind {
        Some(lit) => (Kind::parse(lit)?, false),
        None => {
            let kind = infer_kind(&ty);
            (kind, kind == Kind::Duration)
        }
    };
    let absent = match (attrs.required, attrs.default, inner) {
        (Some(_), Some((span, _)), _) => {
            return Err(syn::Error::new(
                span,
                "a required input takes no default; drop one of them",
            ));
        }
        (Some(span), None, Some(_)) => {
            return Err(syn::Error::new(
                span,
                "an `Option` field is optional; drop `required` or the `Option`",
            ));
        }
        (None, Some((span, _)), Some(_)) => {
            return Err(syn::Error::new(
                span,
                "an `Option` field with a default is never `None`; drop the `Option` or the default",
            ));
        }
        (Some(_), None, None) => Absent::Required,
        (None, Some((_, Some(json))), None) => Absent::Json(json),
        (None, Some((_, None)), None) => Absent::TypeDefault,
        (None, None, Some(_)) => Absent::None,
        (None, None, None) => {
            return Err(syn::Error::new(
                field.ty.span(),
                format!(
                    "`{ident}` needs a value for when the workflow gives none: add `#[input(required)]` or \
                     `#[input(default = …)]`, or make it an `Option<…>`"
                ),
            ));
        }
    };
    Ok(Plan {
        ident,
        ty,
        name,
        kind,
        check_duration,
        absent,
        doc,
        grants_origins: attrs.grants_origins,
        sensitive: attrs.sensitive,
        range: attrs.range,
    })
}

/// The `TypedInputs` impl for `input`, or every mistake found in it.
pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = named_fields(input, "Inputs")?;
    let mut plans = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut fail = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for field in &fields.named {
        match plan(field) {
            Ok(p) => {
                if plans.iter().any(|q: &Plan| q.name == p.name) {
                    fail(syn::Error::new(
                        p.ident.span(),
                        format!(
                            "two fields are the input `{}`; rename one with `#[input(name = \"…\")]`",
                            p.name
                        ),
                    ));
                }
                plans.push(p);
            }
            Err(e) => fail(e),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let json = quote!(::tollgate_sdk::__private::serde_json::json!);
    let private = quote!(::tollgate_sdk::__private);
    let mut specs = Vec::new();
    let mut inits = Vec::new();
    let mut checks = Vec::new();
    let mut asserts = Vec::new();
    for p in &plans {
        let Plan {
            ident,
            ty,
            name,
            kind,
            doc,
            grants_origins,
            ..
        } = p;
        let span = ty.span();
        let kind = kind.tokens();
        let required = matches!(p.absent, Absent::Required);
        let default = match &p.absent {
            Absent::Json(tokens) => {
                quote!(::std::option::Option::Some(#private::json_text(&#json(#tokens))))
            }
            Absent::TypeDefault => {
                quote_spanned!(span=> ::std::option::Option::Some(#private::json_text(&#private::default_of::<#ty>())))
            }
            Absent::Required | Absent::None => quote!(::std::option::Option::None),
        };
        specs.push(quote! {
            ::tollgate_sdk::InputSpec {
                name: ::std::string::String::from(#name),
                kind: #kind,
                required: #required,
                default: #default,
                doc: ::std::string::String::from(#doc),
                grants_origins: #grants_origins,
            }
        });
        let init = match &p.absent {
            Absent::Required => quote_spanned! {span=>
                #private::required::<#ty>(__inputs, #name, #kind)?
            },
            Absent::None => quote_spanned! {span=>
                #private::optional::<#ty>(__inputs, #name, #kind)?
            },
            Absent::Json(tokens) => quote_spanned! {span=>
                #private::defaulted::<#ty>(__inputs, #name, #kind, || #json(#tokens))?
            },
            Absent::TypeDefault => quote_spanned! {span=>
                #private::defaulted::<#ty>(__inputs, #name, #kind, #private::default_of::<#ty>)?
            },
        };
        inits.push(match (&p.range, &p.absent) {
            (None, _) => quote_spanned!(span=> #ident: #init),
            (Some(range), Absent::None) => quote_spanned! {span=>
                #ident: #private::in_range_opt(#name, #init, #range)?
            },
            (Some(range), _) => quote_spanned! {span=>
                #ident: #private::in_range(#name, #init, #range)?
            },
        });
        if let (Some(range), Absent::Json(_) | Absent::TypeDefault) = (&p.range, &p.absent) {
            checks.push(quote_spanned! {span=>
                #private::check_default_in_range::<#ty, _>(&__specs, #name, #kind, #range)?;
            });
        }
        if matches!(p.absent, Absent::Json(_) | Absent::TypeDefault) {
            checks.push(quote_spanned! {span=>
                #private::check_default::<#ty>(&__specs, #name, #kind)?;
            });
        }
        if p.check_duration {
            asserts.push(quote_spanned! {span=>
                #private::assert_duration::<#ty>();
            });
        }
    }
    let ident = &input.ident;
    let sensitive: Vec<&String> = plans.iter().filter(|p| p.sensitive).map(|p| &p.name).collect();
    let declare_sensitive = if sensitive.is_empty() {
        quote!()
    } else {
        quote!(::tollgate_sdk::sensitive_inputs!(#(#sensitive),*);)
    };
    let specs_binding = if checks.is_empty() {
        quote!()
    } else {
        quote!(let __specs = <Self as ::tollgate_sdk::TypedInputs>::specs();)
    };
    Ok(quote! {
        #declare_sensitive

        #[automatically_derived]
        impl ::tollgate_sdk::TypedInputs for #ident {
            fn specs() -> ::std::vec::Vec<::tollgate_sdk::InputSpec> {
                #(#asserts)*
                ::std::vec![#(#specs),*]
            }

            fn from_inputs(
                __inputs: &::tollgate_sdk::Inputs,
            ) -> ::std::result::Result<Self, ::tollgate_sdk::PluginError> {
                ::std::result::Result::Ok(Self { #(#inits),* })
            }

            fn check_defaults() -> ::std::result::Result<(), ::tollgate_sdk::PluginError> {
                #specs_binding
                #(#checks)*
                ::std::result::Result::Ok(())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn error(input: DeriveInput) -> String {
        let errors: Vec<String> = expand(&input)
            .expect_err("should not expand")
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        errors.join("\n")
    }

    #[test]
    fn kinds_are_inferred_from_field_types() {
        let cases: [(Type, Kind); 14] = [
            (parse_quote!(String), Kind::String),
            (parse_quote!(std::string::String), Kind::String),
            (parse_quote!(bool), Kind::Boolean),
            (parse_quote!(u32), Kind::Number),
            (parse_quote!(f64), Kind::Number),
            (parse_quote!(tollgate_sdk::Duration), Kind::Duration),
            (parse_quote!(Vec<Endpoint>), Kind::List),
            (parse_quote!(std::collections::BTreeSet<String>), Kind::List),
            (parse_quote!([u8; 4]), Kind::List),
            (parse_quote!(HashMap<String, String>), Kind::Object),
            (parse_quote!(serde_json::Map<String, serde_json::Value>), Kind::Object),
            (parse_quote!(serde_json::Value), Kind::Any),
            (parse_quote!(Endpoint), Kind::Any),
            (parse_quote!(()), Kind::Any),
        ];
        for (ty, kind) in cases {
            assert_eq!(infer_kind(&ty), kind, "{}", quote!(#ty));
        }
    }

    #[test]
    fn sensitive_fields_are_declared_by_their_input_names() {
        let expanded = expand(&parse_quote! {
            struct C {
                /// A token.
                #[input(required, sensitive)]
                api_token: String,
                /// Not secret.
                #[input(default = 1)]
                retries: u32,
            }
        })
        .unwrap()
        .to_string();
        assert!(expanded.contains(r#"sensitive_inputs ! ("api-token")"#), "{expanded}");
        let plain = expand(&parse_quote! {
            struct D {
                /// Not secret.
                #[input(default = 1)]
                retries: u32,
            }
        })
        .unwrap()
        .to_string();
        assert!(!plain.contains("sensitive_inputs"), "{plain}");
    }

    #[test]
    fn a_field_without_a_doc_comment_is_refused() {
        let message = error(parse_quote! {
            struct C {
                #[input(required)]
                url: String,
            }
        });
        assert_eq!(message, "missing doc comment: it becomes the input's documentation");
    }

    #[test]
    fn a_field_needs_required_a_default_or_option() {
        let message = error(parse_quote! {
            struct C {
                /// Retries.
                retries: u32,
            }
        });
        assert!(message.contains("`retries` needs a value"), "{message}");
        assert!(message.contains("#[input(required)]"), "{message}");
    }

    #[test]
    fn contradictory_options_are_refused() {
        let cases: [(DeriveInput, &str); 6] = [
            (
                parse_quote!(
                    struct C {
                        /// D.
                        #[input(required, default = 1)]
                        a: u32,
                    }
                ),
                "a required input takes no default",
            ),
            (
                parse_quote!(
                    struct C {
                        /// D.
                        #[input(required)]
                        a: Option<u32>,
                    }
                ),
                "an `Option` field is optional",
            ),
            (
                parse_quote!(
                    struct C {
                        /// D.
                        #[input(default = 1)]
                        a: Option<u32>,
                    }
                ),
                "never `None`",
            ),
            (
                parse_quote!(
                    struct C {
                        /// D.
                        #[input(kind = "text")]
                        a: Option<String>,
                    }
                ),
                "unknown kind `text`; write one of string, number, boolean, duration, list, object, any",
            ),
            (
                parse_quote!(
                    struct C {
                        /// D.
                        #[input(optional)]
                        a: Option<String>,
                    }
                ),
                "unknown `input` option",
            ),
            (
                parse_quote!(
                    struct C {
                        /// D.
                        #[input(required, required)]
                        a: String,
                    }
                ),
                "given twice",
            ),
        ];
        for (input, expected) in cases {
            let message = error(input);
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn names_are_checked_and_unique() {
        let message = error(parse_quote! {
            struct C {
                /// A.
                a_b: Option<String>,
                /// B.
                #[input(name = "a-b")]
                other: Option<String>,
                /// C.
                #[input(name = "with space")]
                third: Option<String>,
            }
        });
        assert!(message.contains("two fields are the input `a-b`"), "{message}");
        assert!(message.contains("`with space` is not a usable name"), "{message}");
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let message = error(parse_quote! {
            struct C {
                a: Option<String>,
                b: Option<String>,
            }
        });
        assert_eq!(message.lines().count(), 2, "{message}");
    }

    #[test]
    fn only_plain_structs_with_named_fields() {
        assert!(
            error(parse_quote!(
                struct C(String);
            ))
            .contains("named fields")
        );
        assert!(
            error(parse_quote!(
                enum C {
                    A,
                }
            ))
            .contains("named fields")
        );
        assert!(
            error(parse_quote!(
                struct C<T> {
                    /// D.
                    a: Option<T>,
                }
            ))
            .contains("without generic parameters")
        );
    }

    #[test]
    fn doc_comments_become_one_line_per_paragraph() {
        let field: Field = parse_quote! {
            /// First line
            ///   continues here.
            ///
            /// Second paragraph.
            #[input(default = ["a", "b"])]
            a: Vec<String>
        };
        let p = plan(&field).unwrap();
        assert_eq!(p.doc, "First line continues here.\n\nSecond paragraph.");
        let Absent::Json(tokens) = p.absent else { panic!() };
        assert_eq!(tokens.to_string(), quote!(["a", "b"]).to_string());
    }
}
