//! Open string enums: every documented value is a variant, and any other value a newer server
//! sends is kept in `Unknown` (and serialized back unchanged) instead of failing the parse.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::spec::{DefKind, Spec};

pub fn generate(spec: &Spec) -> TokenStream {
    let enums = spec.defs.iter().filter_map(|def| {
        let DefKind::Enum(e) = &def.kind else { return None };
        let name = format_ident!("{}", def.name);
        let doc = def.description.as_deref().map(|d| quote!(#[doc = #d]));
        let variants: Vec<_> = e.values.iter().map(|v| format_ident!("{}", v.variant)).collect();
        let wires: Vec<&str> = e.values.iter().map(|v| v.wire.as_str()).collect();
        let variant_docs = e.values.iter().map(|v| {
            let text = match &v.description {
                Some(d) => format!("`{}`: {d}", v.wire),
                None => format!("`{}`.", v.wire),
            };
            quote!(#[doc = #text])
        });
        let unknown_doc = format!(
            "A value this version does not know (a newer server may send one), kept as received. \
             Make one with `{}::from(\"…\")`.",
            def.name
        );
        Some(quote! {
            #doc
            #[derive(Clone, Debug, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum #name {
                #( #variant_docs #variants, )*
                #[doc = #unknown_doc]
                Unknown(crate::UnknownValue),
            }

            impl #name {
                /// The documented values, in the schema's order.
                pub const KNOWN: &'static [Self] = &[ #( Self::#variants ),* ];

                /// The value as sent on the wire.
                pub fn as_str(&self) -> &str {
                    match self {
                        #( Self::#variants => #wires, )*
                        Self::Unknown(value) => value.as_str(),
                    }
                }

                /// Whether this is a value this version does not know.
                pub fn is_unknown(&self) -> bool {
                    matches!(self, Self::Unknown(_))
                }
            }

            impl crate::runtime::OpenEnum for #name {
                const KNOWN_VALUES: &'static [&'static str] = &[ #( #wires ),* ];

                fn as_str(&self) -> &str {
                    self.as_str()
                }

                fn is_unknown(&self) -> bool {
                    self.is_unknown()
                }
            }

            impl ::std::convert::From<&str> for #name {
                fn from(value: &str) -> Self {
                    match value {
                        #( #wires => Self::#variants, )*
                        other => Self::Unknown(crate::UnknownValue::new(other)),
                    }
                }
            }

            impl ::std::convert::From<::std::string::String> for #name {
                fn from(value: ::std::string::String) -> Self {
                    Self::from(value.as_str())
                }
            }

            impl ::std::str::FromStr for #name {
                type Err = ::std::convert::Infallible;

                fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                    Ok(Self::from(value))
                }
            }

            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                    Ok(Self::from(value))
                }
            }
        })
    });
    quote!( #( #enums )* )
}
