//! What the schema says beyond the shapes typify generates: constructors and setters for request
//! types, the validation pass, the walk over encrypted fields, the unknown-field check, the
//! lenient reading of answers and the access to string fields by name.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::spec::{
    Def, DefKind, Prop, Spec, StringFormat, StringRules, StructDef, Ty, is_plain_string,
};

/// The Rust type of a value of `ty` (not wrapped in `Option`).
pub fn value_type(ty: &Ty) -> TokenStream {
    match ty {
        Ty::String(r) if r.encrypted => quote!(crate::SensitiveString),
        Ty::String(r) if r.format == Some(StringFormat::DateTime) => quote!(crate::Timestamp),
        Ty::String(_) => quote!(::std::string::String),
        Ty::Integer(_) => quote!(i64),
        Ty::Ref(name) => {
            let name = format_ident!("{name}");
            quote!(crate::#name)
        }
        Ty::Array { items, .. } => {
            let item = value_type(items);
            quote!(::std::vec::Vec<#item>)
        }
        Ty::Any => quote!(::serde_json::Value),
    }
}

/// Whether typify wraps an optional property of this type in `Option` (arrays it leaves as
/// `Vec`, empty when absent).
fn is_option(p: &Prop) -> bool {
    !p.required && !matches!(p.ty, Ty::Array { .. })
}

pub fn structs(spec: &Spec) -> impl Iterator<Item = (&Def, &StructDef)> {
    spec.defs.iter().filter_map(|d| match &d.kind {
        DefKind::Struct(s) => Some((d, s)),
        DefKind::Enum(_) => None,
    })
}

/// The most required fields a type's `new` takes as positional arguments; a type with more is
/// made with a builder.
const MAX_POSITIONAL: usize = 2;

/// `new(required…)` (or a builder, past [`MAX_POSITIONAL`] required fields) and
/// `with_…(optional)` for every type of the schema: request bodies and answers alike, since
/// the types are `#[non_exhaustive]` and a struct literal does not compile outside the crate.
/// (The sandbox builds answers, and tests build both.)
pub fn builders(spec: &Spec) -> TokenStream {
    let impls = structs(spec).map(|(def, s)| {
        let name = format_ident!("{}", def.name);
        let required: Vec<&Prop> = s.props.iter().filter(|p| p.required).collect();
        let args = required.iter().map(|p| {
            let ident = format_ident!("{}", p.rust_name);
            let ty = param_type(&p.ty);
            quote!(#ident: #ty)
        });
        let inits = s.props.iter().map(|p| {
            let ident = format_ident!("{}", p.rust_name);
            if p.required {
                match &p.ty {
                    Ty::String(r) if r.format != Some(StringFormat::DateTime) => quote!(#ident: #ident.into()),
                    _ => quote!(#ident),
                }
            } else if is_option(p) {
                quote!(#ident: ::std::option::Option::None)
            } else {
                quote!(#ident: ::std::vec::Vec::new())
            }
        });
        let new_doc = if required.is_empty() {
            "Creates a value with every field left out (none is required).".to_string()
        } else {
            let names: Vec<String> = required.iter().map(|p| format!("`{}`", p.json_name)).collect();
            format!(
                "Creates a value from its required fields ({}); the optional ones are left out, and are not sent.",
                names.join(", ")
            )
        };
        let setters = s.props.iter().filter(|p| !p.required).map(|p| {
            let ident = format_ident!("{}", p.rust_name);
            let setter = format_ident!("with_{}", p.rust_name.trim_end_matches('_'));
            let ty = param_type(&p.ty);
            let value = convert(&p.ty, quote!(value));
            let assign = if is_option(p) {
                quote!(self.#ident = ::std::option::Option::Some(#value);)
            } else {
                quote!(self.#ident = #value;)
            };
            let doc = match &p.description {
                Some(d) => format!("Sets `{}`: {d}", p.json_name),
                None => format!("Sets `{}`.", p.json_name),
            };
            quote! {
                #[doc = #doc]
                #[must_use]
                pub fn #setter(mut self, value: #ty) -> Self {
                    #assign
                    self
                }
            }
        });
        // Three or more required fields in a row of positional arguments can be swapped
        // silently (brand_id, card_id, openid, user_card_code are all strings): such a type is
        // made with a builder whose setters name each field instead.
        if required.len() <= MAX_POSITIONAL {
            return quote! {
                impl crate::#name {
                    #[doc = #new_doc]
                    #[allow(clippy::new_without_default)]
                    pub fn new( #( #args ),* ) -> Self {
                        Self { #( #inits ),* }
                    }

                    #( #setters )*
                }
            };
        }
        let builder = format_ident!("{}Builder", def.name);
        let req_idents: Vec<_> = required.iter().map(|p| format_ident!("{}", p.rust_name)).collect();
        let req_types: Vec<_> = required.iter().map(|p| value_type(&p.ty)).collect();
        let req_setters = required.iter().map(|p| {
            let ident = format_ident!("{}", p.rust_name);
            let ty = param_type(&p.ty);
            let value = convert(&p.ty, quote!(value));
            let doc = match &p.description {
                Some(d) => format!("Sets `{}` (required): {d}", p.json_name),
                None => format!("Sets `{}` (required).", p.json_name),
            };
            quote! {
                #[doc = #doc]
                #[must_use]
                pub fn #ident(mut self, value: #ty) -> Self {
                    self.#ident = ::std::option::Option::Some(#value);
                    self
                }
            }
        });
        let missing_checks = required.iter().map(|p| {
            let ident = format_ident!("{}", p.rust_name);
            let json = &p.json_name;
            quote! {
                if self.#ident.is_none() {
                    let mark = v.enter_field(#json);
                    v.report(crate::Rule::Missing);
                    v.leave(mark);
                }
            }
        });
        let optional_inits = s.props.iter().filter(|p| !p.required).map(|p| {
            let ident = format_ident!("{}", p.rust_name);
            if is_option(p) {
                quote!(#ident: ::std::option::Option::None)
            } else {
                quote!(#ident: ::std::vec::Vec::new())
            }
        });
        let builder_doc = format!(
            "Builds a [`{0}`](crate::{0}): one named setter per required field ({1}); the optional ones are set on the built value with its `with_*` setters.",
            def.name,
            required.iter().map(|p| format!("`{}`", p.json_name)).collect::<Vec<_>>().join(", ")
        );
        let builder_fn_doc = format!("A builder for a `{}`: its required fields are named, never positional.", def.name);
        let build_doc = "The value, or every required field that was not set, each at its name. The values themselves are checked by [`Validate`](crate::Validate) (a request's validation, before anything is sent).";
        quote! {
            impl crate::#name {
                #[doc = #builder_fn_doc]
                pub fn builder() -> #builder {
                    #builder::default()
                }

                #( #setters )*
            }

            #[doc = #builder_doc]
            #[derive(Clone, Debug, Default)]
            pub struct #builder {
                #( #req_idents: ::std::option::Option<#req_types>, )*
            }

            impl #builder {
                #( #req_setters )*

                #[doc = #build_doc]
                pub fn build(self) -> ::std::result::Result<crate::#name, crate::ValidationError> {
                    let mut v = crate::__private::Validator::new();
                    #( #missing_checks )*
                    if let ( #( ::std::option::Option::Some(#req_idents), )* ) = ( #( self.#req_idents, )* ) {
                        v.finish()?;
                        return ::std::result::Result::Ok(crate::#name {
                            #( #req_idents, )*
                            #( #optional_inits, )*
                        });
                    }
                    ::std::result::Result::Err(v.into_error())
                }
            }
        }
    });
    quote!( #( #impls )* )
}

fn param_type(ty: &Ty) -> TokenStream {
    match ty {
        Ty::String(r) if r.encrypted => quote!(impl ::std::convert::Into<crate::SensitiveString>),
        Ty::String(r) if r.format == Some(StringFormat::DateTime) => quote!(crate::Timestamp),
        Ty::String(_) => quote!(impl ::std::convert::Into<::std::string::String>),
        other => value_type(other),
    }
}

fn convert(ty: &Ty, value: TokenStream) -> TokenStream {
    match ty {
        Ty::String(r) if r.format != Some(StringFormat::DateTime) => quote!(#value.into()),
        _ => value,
    }
}

/// The name of the static holding a pattern.
fn pattern_static(owner: &str, field: &str) -> proc_macro2::Ident {
    format_ident!(
        "{}_{}_PATTERN",
        heck::AsShoutySnakeCase(owner).to_string(),
        field.to_uppercase()
    )
}

fn string_rules(rules: &StringRules, owner: &str, field: &str) -> TokenStream {
    let opt_u32 = |v: Option<u32>| match v {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    };
    let min = opt_u32(rules.min_length);
    let max = opt_u32(rules.max_length);
    let pattern = match &rules.pattern {
        Some(_) => {
            let s = pattern_static(owner, field);
            quote!(::std::option::Option::Some(&#s))
        }
        None => quote!(::std::option::Option::None),
    };
    let format = match rules.format {
        Some(StringFormat::DateTime) => {
            quote!(::std::option::Option::Some(crate::Format::DateTime))
        }
        Some(StringFormat::Uri) => quote!(::std::option::Option::Some(crate::Format::Uri)),
        None => quote!(::std::option::Option::None),
    };
    quote!(&crate::__private::StringRules { min_length: #min, max_length: #max, pattern: #pattern, format: #format })
}

/// The statements that check `value` (a reference to a value of `ty`) at the current path.
fn check_value(spec: &Spec, ty: &Ty, value: TokenStream, owner: &str, field: &str) -> TokenStream {
    match ty {
        Ty::String(rules) => {
            let encrypted = rules.encrypted;
            let text = if rules.format == Some(StringFormat::DateTime) {
                quote!(#value.as_str())
            } else {
                quote!(#value)
            };
            let rules = string_rules(rules, owner, field);
            if encrypted {
                quote!(v.check_sensitive(#text, #rules);)
            } else {
                quote!(v.check_string(#text, #rules);)
            }
        }
        Ty::Integer(rules) => {
            let opt = |v: Option<i64>| match v {
                Some(v) => quote!(::std::option::Option::Some(#v)),
                None => quote!(::std::option::Option::None),
            };
            let (min, max) = (opt(rules.minimum), opt(rules.maximum));
            quote!(v.check_integer(*#value, &crate::__private::IntegerRules { minimum: #min, maximum: #max });)
        }
        Ty::Ref(name) if spec.struct_def(name).is_some() => {
            quote!(crate::Validate::validate_into(#value, v);)
        }
        Ty::Ref(_) => quote!(v.check_enum(#value);),
        Ty::Array {
            items,
            min_items,
            max_items,
        } => {
            let opt = |v: &Option<u32>| match v {
                Some(v) => quote!(::std::option::Option::Some(#v)),
                None => quote!(::std::option::Option::None),
            };
            let (min, max) = (opt(min_items), opt(max_items));
            let each = check_value(spec, items, quote!(item), owner, field);
            quote! {
                v.check_items(#value.len(), #min, #max);
                for (i, item) in #value.iter().enumerate() {
                    let mark = v.enter_index(i);
                    #each
                    v.leave(mark);
                }
            }
        }
        Ty::Any => quote!(let _ = #value;),
    }
}

fn patterns(owner: &str, field: &str, ty: &Ty, out: &mut Vec<TokenStream>) {
    match ty {
        Ty::String(StringRules {
            pattern: Some(p), ..
        }) => {
            let s = pattern_static(owner, field);
            let doc = format!("The `pattern` of `{owner}.{field}`.");
            out.push(quote! {
                #[doc = #doc]
                static #s: crate::__private::Pattern = crate::__private::Pattern::new(#p);
            });
        }
        Ty::Array { items, .. } => patterns(owner, field, items, out),
        _ => {}
    }
}

/// `Validate` for every struct.
pub fn validate(spec: &Spec) -> TokenStream {
    let mut statics = Vec::new();
    let impls: Vec<TokenStream> = structs(spec)
        .map(|(def, s)| {
            let name = format_ident!("{}", def.name);
            let checks = s.props.iter().map(|p| {
                patterns(&def.name, &p.json_name, &p.ty, &mut statics);
                let ident = format_ident!("{}", p.rust_name);
                let json = &p.json_name;
                let check = check_value(spec, &p.ty, quote!(value), &def.name, json);
                if is_option(p) {
                    quote! {
                        if let ::std::option::Option::Some(value) = &self.#ident {
                            let mark = v.enter_field(#json);
                            #check
                            v.leave(mark);
                        }
                    }
                } else {
                    quote! {
                        {
                            let value = &self.#ident;
                            let mark = v.enter_field(#json);
                            #check
                            v.leave(mark);
                        }
                    }
                }
            });
            quote! {
                impl crate::Validate for crate::#name {
                    fn validate_into(&self, v: &mut crate::__private::Validator) {
                        #( #checks )*
                    }
                }
            }
        })
        .collect();
    quote!( #( #statics )* #( #impls )* )
}

/// `SensitiveFields` for every struct (empty for those without an encrypted field).
pub fn sensitive(spec: &Spec) -> TokenStream {
    let impls = structs(spec).map(|(def, s)| {
        let name = format_ident!("{}", def.name);
        let props: Vec<&Prop> = s.props.iter().filter(|p| spec.holds_encrypted(&p.ty)).collect();
        let idents: Vec<_> = props.iter().map(|p| format_ident!("{}", p.rust_name)).collect();
        let jsons: Vec<&str> = props.iter().map(|p| p.json_name.as_str()).collect();
        let (path, f) = if props.is_empty() { (quote!(_path), quote!(_f)) } else { (quote!(path), quote!(f)) };
        quote! {
            impl crate::runtime::SensitiveFields for crate::#name {
                fn walk_sensitive_mut<E>(
                    &mut self,
                    #path: &mut crate::runtime::FieldPath,
                    #f: &mut dyn FnMut(&crate::runtime::FieldPath, &mut crate::SensitiveString) -> ::std::result::Result<(), E>,
                ) -> ::std::result::Result<(), E> {
                    #(
                        let mark = path.push_field(#jsons);
                        crate::runtime::SensitiveFields::walk_sensitive_mut(&mut self.#idents, path, f)?;
                        path.truncate(mark);
                    )*
                    Ok(())
                }

                fn walk_sensitive(
                    &self,
                    #path: &mut crate::runtime::FieldPath,
                    #f: &mut dyn FnMut(&crate::runtime::FieldPath, &crate::SensitiveString),
                ) {
                    #(
                        let mark = path.push_field(#jsons);
                        crate::runtime::SensitiveFields::walk_sensitive(&self.#idents, path, f);
                        path.truncate(mark);
                    )*
                }
            }
        }
    });
    quote!( #( #impls )* )
}

/// `StrictFields` for every struct: unknown fields of closed structs are reported, and nested
/// values that hold a closed struct are searched.
pub fn strict(spec: &Spec) -> TokenStream {
    let impls = structs(spec).map(|(def, s)| {
        let name = format_ident!("{}", def.name);
        let type_name = &def.name;
        let nested: Vec<&Prop> = s
            .props
            .iter()
            .filter(|p| spec.holds_closed_struct(&p.ty))
            .collect();
        let plain: Vec<&str> = s
            .props
            .iter()
            .filter(|p| !spec.holds_closed_struct(&p.ty))
            .map(|p| p.json_name.as_str())
            .collect();
        let nested_arms = nested.iter().map(|p| {
            let json = &p.json_name;
            let ty = value_type(&p.ty);
            quote! {
                #json => {
                    let mark = v.enter_field(key);
                    <#ty as crate::runtime::StrictFields>::unknown_fields(child, v);
                    v.leave(mark);
                }
            }
        });
        let plain_arm = if plain.is_empty() {
            quote!()
        } else {
            quote!( #( #plain )|* => {} )
        };
        let fallback = if s.closed {
            quote!(_ => v.unknown_field(key, #type_name),)
        } else {
            quote!(_ => {})
        };
        let (value, v) = if !s.closed && nested.is_empty() {
            (quote!(_value), quote!(_v))
        } else {
            (quote!(value), quote!(v))
        };
        let body = if !s.closed && nested.is_empty() {
            quote!()
        } else {
            let child = if nested.is_empty() {
                quote!(_child)
            } else {
                quote!(child)
            };
            quote! {
                let ::std::option::Option::Some(map) = value.as_object() else { return };
                for (key, #child) in map {
                    match key.as_str() {
                        #plain_arm
                        #( #nested_arms )*
                        #fallback
                    }
                }
            }
        };
        quote! {
            impl crate::runtime::StrictFields for crate::#name {
                fn unknown_fields(#value: &::serde_json::Value, #v: &mut crate::__private::Validator) {
                    #body
                }
            }
        }
    });
    quote!( #( #impls )* )
}

/// Statements checking a path or query parameter (a `&str` named `value`); a path parameter may
/// not be a dot segment.
pub fn check_param(
    rules: &StringRules,
    owner: &str,
    name: &str,
    in_path: bool,
    statics: &mut Vec<TokenStream>,
) -> TokenStream {
    patterns(owner, name, &Ty::String(rules.clone()), statics);
    let rules = string_rules(rules, owner, name);
    let segment = if in_path {
        quote!(v.check_path_segment(value);)
    } else {
        quote!()
    };
    quote! {
        v.check_string(value, #rules);
        #segment
    }
}

/// `LenientDeserialize` for every struct and enum: what arrived is read, a required field
/// missing or unusable gets its zero value, an optional one is left absent; each is recorded.
pub fn lenient(spec: &Spec) -> TokenStream {
    let impls = spec.defs.iter().map(|def| {
        let name = format_ident!("{}", def.name);
        match &def.kind {
            DefKind::Enum(_) => quote! {
                impl crate::runtime::LenientDeserialize for crate::#name {
                    fn read_lenient(
                        value: ::serde_json::Value,
                        v: &mut crate::__private::Validator,
                    ) -> ::std::option::Option<Self> {
                        <::std::string::String as crate::runtime::LenientDeserialize>::read_lenient(value, v)
                            .map(Self::from)
                    }

                    fn zero() -> Self {
                        Self::from("")
                    }
                }
            },
            DefKind::Struct(s) => {
                let reads = s.props.iter().map(|p| {
                    let ident = format_ident!("{}", p.rust_name);
                    let json = &p.json_name;
                    let read = if p.required {
                        quote!(required)
                    } else if is_option(p) {
                        quote!(optional)
                    } else {
                        quote!(list)
                    };
                    quote!(#ident: crate::lenient::#read(&mut map, #json, v),)
                });
                let zeros = s.props.iter().map(|p| {
                    let ident = format_ident!("{}", p.rust_name);
                    if p.required {
                        quote!(#ident: crate::runtime::LenientDeserialize::zero(),)
                    } else if is_option(p) {
                        quote!(#ident: ::std::option::Option::None,)
                    } else {
                        quote!(#ident: ::std::vec::Vec::new(),)
                    }
                });
                let (map, v) = if s.props.is_empty() {
                    (quote!(_map), quote!(v))
                } else {
                    (quote!(mut map), quote!(v))
                };
                quote! {
                    impl crate::runtime::LenientDeserialize for crate::#name {
                        fn read_lenient(
                            value: ::serde_json::Value,
                            v: &mut crate::__private::Validator,
                        ) -> ::std::option::Option<Self> {
                            let #map = crate::lenient::object(value, #v)?;
                            ::std::option::Option::Some(Self { #( #reads )* })
                        }

                        fn zero() -> Self {
                            Self { #( #zeros )* }
                        }
                    }
                }
            }
        }
    });
    quote!( #( #impls )* )
}

/// `StringFields` for every struct: its top-level plain string fields by JSON name.
pub fn string_fields(spec: &Spec) -> TokenStream {
    let impls = structs(spec).map(|(def, s)| {
        let name = format_ident!("{}", def.name);
        let arms: Vec<TokenStream> = s
            .props
            .iter()
            .filter(|p| is_plain_string(&p.ty))
            .map(|p| {
                let ident = format_ident!("{}", p.rust_name);
                let json = &p.json_name;
                if p.required {
                    quote!(#json => ::std::option::Option::Some(self.#ident.as_str()),)
                } else {
                    quote!(#json => self.#ident.as_deref(),)
                }
            })
            .collect();
        let body = if arms.is_empty() {
            quote! {
                let _ = name;
                ::std::option::Option::None
            }
        } else {
            quote! {
                match name {
                    #( #arms )*
                    _ => ::std::option::Option::None,
                }
            }
        };
        quote! {
            impl crate::runtime::StringFields for crate::#name {
                fn string_field(&self, name: &str) -> ::std::option::Option<&str> {
                    #body
                }
            }
        }
    });
    quote!( #( #impls )* )
}
