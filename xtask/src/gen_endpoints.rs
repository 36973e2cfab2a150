//! The endpoint descriptors of `x-endpoints`: method, path template, parameters, body and
//! response types, documented errors, rate limit; and each endpoint's request type (parameters +
//! body) with its builder.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::gen_impls::check_param;
use crate::spec::{EndpointSpec, IntegerRules, ParamSpec, ParamTy, Spec};

pub fn generate(spec: &Spec) -> Result<TokenStream, String> {
    let mut out = Vec::new();
    let mut statics = Vec::new();
    for ep in &spec.endpoints {
        out.push(endpoint(spec, ep, &mut statics)?);
    }
    Ok(quote!( #( #statics )* #( #out )* ))
}

/// One parameter of a request, with what the generator needs to render it.
struct Param<'a> {
    spec: &'a ParamSpec,
    ty: &'a ParamTy,
    in_path: bool,
}

impl Param<'_> {
    fn ident(&self) -> proc_macro2::Ident {
        format_ident!("{}", self.spec.name)
    }

    fn location(&self) -> &'static str {
        if self.in_path { "path" } else { "query" }
    }

    /// The type of a value (not wrapped in `Option`).
    fn value_type(&self) -> TokenStream {
        match self.ty {
            ParamTy::String(_) => quote!(::std::string::String),
            ParamTy::Integer(_) => quote!(i64),
            ParamTy::Enum(name) => {
                let name = format_ident!("{name}");
                quote!(crate::#name)
            }
        }
    }

    /// The type of the request's field.
    fn field_type(&self) -> TokenStream {
        let ty = self.value_type();
        if self.spec.required {
            ty
        } else {
            quote!(::std::option::Option<#ty>)
        }
    }

    /// The type a builder setter takes.
    fn setter_type(&self) -> TokenStream {
        match self.ty {
            ParamTy::String(_) => quote!(impl ::std::convert::Into<::std::string::String>),
            _ => self.value_type(),
        }
    }

    fn setter_value(&self) -> TokenStream {
        match self.ty {
            ParamTy::String(_) => quote!(value.into()),
            _ => quote!(value),
        }
    }

    /// Statements checking `value` (a reference to a value of [`Param::value_type`]) at the
    /// current path.
    fn check(&self, owner: &str, statics: &mut Vec<TokenStream>) -> TokenStream {
        let name = &self.spec.name;
        match self.ty {
            ParamTy::String(rules) => {
                let check = check_param(rules, owner, name, self.in_path, statics);
                quote! {
                    let value = value.as_str();
                    #check
                }
            }
            ParamTy::Integer(IntegerRules { minimum, maximum }) => {
                let opt = |v: &Option<i64>| match v {
                    Some(v) => quote!(::std::option::Option::Some(#v)),
                    None => quote!(::std::option::Option::None),
                };
                let (min, max) = (opt(minimum), opt(maximum));
                quote!(v.check_integer(*value, &crate::__private::IntegerRules { minimum: #min, maximum: #max });)
            }
            ParamTy::Enum(_) => quote!(v.check_enum(value);),
        }
    }

    /// The `query_param` value of the field, an `Option<Cow<str>>`.
    fn query_value(&self) -> TokenStream {
        let ident = self.ident();
        let cow = quote!(::std::borrow::Cow);
        match (self.ty, self.spec.required) {
            (ParamTy::String(_), true) => {
                quote!(::std::option::Option::Some(#cow::Borrowed(self.#ident.as_str())))
            }
            (ParamTy::String(_), false) => quote!(self.#ident.as_deref().map(#cow::Borrowed)),
            (ParamTy::Integer(_), true) => {
                quote!(::std::option::Option::Some(#cow::Owned(self.#ident.to_string())))
            }
            (ParamTy::Integer(_), false) => {
                quote!(self.#ident.map(|n| #cow::Owned(n.to_string())))
            }
            (ParamTy::Enum(_), true) => {
                quote!(::std::option::Option::Some(#cow::Borrowed(self.#ident.as_str())))
            }
            (ParamTy::Enum(_), false) => {
                quote!(self.#ident.as_ref().map(|e| #cow::Borrowed(e.as_str())))
            }
        }
    }
}

fn endpoint(
    spec: &Spec,
    ep: &EndpointSpec,
    statics: &mut Vec<TokenStream>,
) -> Result<TokenStream, String> {
    let marker = format_ident!("{}", ep.name);
    let request_name = format!("{}Request", ep.name);
    let builder_name = format!("{}RequestBuilder", ep.name);
    let request = format_ident!("{request_name}");
    let builder = format_ident!("{builder_name}");
    for generated in [&request_name, &builder_name] {
        if spec.def(generated).is_some() {
            return Err(format!(
                "{}: `{generated}` is generated for the endpoint {}; rename the definition",
                spec.source, ep.name
            ));
        }
    }
    let body = match &ep.request_body {
        Some(r) => {
            let name = format_ident!("{}", r.target()?);
            Some(quote!(crate::#name))
        }
        None => None,
    };
    let has_body = body.is_some();
    let body_type = body.clone().unwrap_or_else(|| quote!(crate::NoBody));
    let response = format_ident!("{}", ep.response.schema.target()?);
    let (method, path, summary) = (&ep.method, &ep.path, &ep.summary);
    let (primary, backup) = (&ep.hosts.primary, &ep.hosts.backup);
    let status = ep.response.status;
    let serial = ep.requires_wechatpay_serial;
    let path_names: Vec<&str> = ep.path_parameters.iter().map(|p| p.name.as_str()).collect();
    let query_names: Vec<&str> = ep
        .query_parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    for e in &ep.errors {
        if !matches!(e.source.as_str(), "page" | "family" | "protocol") {
            return Err(format!(
                "{}: {}: error {}: source must be `page`, `family` or `protocol`",
                spec.source, ep.name, e.code
            ));
        }
    }
    let errors = ep.errors.iter().map(|e| {
        let (status, code, description, solution) =
            (e.status, &e.code, &e.description, &e.solution);
        let on_page = e.source == "page";
        quote! {
            crate::ErrorCodeInfo {
                status: #status,
                code: #code,
                description: #description,
                solution: #solution,
                listed_on_page: #on_page,
            }
        }
    });
    let rate_limit = match &ep.rate_limit {
        Some(r) => {
            let (per_second, scope) = (r.per_second, &r.scope);
            let documented = r.source == "page";
            quote! {
                ::std::option::Option::Some(crate::RateLimit {
                    per_second: #per_second,
                    scope: #scope,
                    documented: #documented,
                })
            }
        }
        None => quote!(::std::option::Option::None),
    };

    let params: Vec<Param<'_>> = ep
        .path_parameters
        .iter()
        .zip(&ep.path_rules)
        .map(|(spec, ty)| Param {
            spec,
            ty,
            in_path: true,
        })
        .chain(
            ep.query_parameters
                .iter()
                .zip(&ep.query_rules)
                .map(|(spec, ty)| Param {
                    spec,
                    ty,
                    in_path: false,
                }),
        )
        .collect();
    let bound = spec.bound_fields(ep)?;

    // The request.
    let marker_doc = format!("`{method} {path}`: {summary}");
    let request_doc = if has_body {
        format!(
            "A call of [`{}`]: its parameters and its body. Sensitive fields of the body are \
             given in plaintext; the client encrypts them. Make one with [`{request_name}::builder`].",
            ep.name
        )
    } else {
        format!(
            "A call of [`{}`]: its parameters (it has no body). Make one with \
             [`{request_name}::builder`].",
            ep.name
        )
    };
    let fields = params.iter().map(|p| {
        let ident = p.ident();
        let ty = p.field_type();
        let optional = if p.spec.required {
            ""
        } else {
            "; optional, not sent when `None`"
        };
        let doc = format!(
            "{} ({} parameter `{}`{optional})",
            p.spec.description,
            p.location(),
            p.spec.name
        );
        quote!(#[doc = #doc] pub #ident: #ty,)
    });
    let body_field = body.as_ref().map(|b| {
        quote!(/// The request body.
            pub body: #b,)
    });
    let path_arms = params.iter().filter(|p| p.in_path).map(|p| {
        let ident = p.ident();
        let name = &p.spec.name;
        quote!(#name => ::std::option::Option::Some(self.#ident.as_str()),)
    });
    let query_arms = params.iter().filter(|p| !p.in_path).map(|p| {
        let name = &p.spec.name;
        let value = p.query_value();
        quote!(#name => #value,)
    });
    let bound_arms = params
        .iter()
        .filter(|p| matches!(p.ty, ParamTy::String(_)))
        .map(|p| {
            let ident = p.ident();
            let name = &p.spec.name;
            if p.spec.required {
                quote!(#name => ::std::option::Option::Some(self.#ident.as_str()),)
            } else {
                quote!(#name => self.#ident.as_deref(),)
            }
        });
    let bound_fallback = if has_body {
        quote!(crate::runtime::StringFields::string_field(&self.body, name))
    } else {
        quote!(::std::option::Option::None)
    };
    let none = quote!(::std::option::Option::None);
    let (path_match, query_match, bound_match) = (
        match_name(path_arms.collect(), &none),
        match_name(query_arms.collect(), &none),
        match_name(bound_arms.collect(), &bound_fallback),
    );
    let body_access = if has_body {
        quote! {
            fn body(&self) -> &#body_type {
                &self.body
            }

            fn body_mut(&mut self) -> &mut #body_type {
                &mut self.body
            }

            fn into_body(self) -> #body_type {
                self.body
            }
        }
    } else {
        quote! {
            fn body(&self) -> &crate::NoBody {
                &crate::NoBody
            }

            fn body_mut(&mut self) -> &mut crate::NoBody {
                // A zero-sized value: boxing it allocates nothing, and leaking it frees nothing.
                ::std::boxed::Box::leak(::std::boxed::Box::new(crate::NoBody))
            }

            fn into_body(self) -> crate::NoBody {
                crate::NoBody
            }
        }
    };

    let mut checks = Vec::new();
    let mut builder_checks = Vec::new();
    for p in &params {
        let ident = p.ident();
        let name = &p.spec.name;
        let check = p.check(&request_name, statics);
        checks.push(if p.spec.required {
            quote! {
                {
                    let value = &self.#ident;
                    let mark = v.enter_field(#name);
                    #check
                    v.leave(mark);
                }
            }
        } else {
            quote! {
                if let ::std::option::Option::Some(value) = &self.#ident {
                    let mark = v.enter_field(#name);
                    #check
                    v.leave(mark);
                }
            }
        });
        builder_checks.push(if p.spec.required {
            quote! {
                match &self.#ident {
                    ::std::option::Option::Some(value) => {
                        let mark = v.enter_field(#name);
                        #check
                        v.leave(mark);
                    }
                    ::std::option::Option::None => {
                        let mark = v.enter_field(#name);
                        v.report(crate::Rule::Missing);
                        v.leave(mark);
                    }
                }
            }
        } else {
            quote! {
                if let ::std::option::Option::Some(value) = &self.#ident {
                    let mark = v.enter_field(#name);
                    #check
                    v.leave(mark);
                }
            }
        });
    }
    let (body_check, body_builder_check) = if has_body {
        (
            quote!(crate::Validate::validate_into(&self.body, v);),
            quote! {
                match &self.body {
                    ::std::option::Option::Some(body) => crate::Validate::validate_into(body, &mut v),
                    ::std::option::Option::None => {
                        let mark = v.enter_field("body");
                        v.report(crate::Rule::Missing);
                        v.leave(mark);
                    }
                }
            },
        )
    } else {
        (quote!(), quote!())
    };
    let v_param = if params.is_empty() && !has_body {
        quote!(_v)
    } else {
        quote!(v)
    };

    // The builder.
    let builder_fields = params.iter().map(|p| {
        let ident = p.ident();
        let ty = p.value_type();
        quote!(#ident: ::std::option::Option<#ty>,)
    });
    let builder_body_field = body
        .as_ref()
        .map(|b| quote!(body: ::std::option::Option<#b>,));
    let setters = params.iter().map(|p| {
        let ident = p.ident();
        let ty = p.setter_type();
        let value = p.setter_value();
        let doc = format!(
            "Sets the {} parameter `{}` ({}): {}",
            p.location(),
            p.spec.name,
            if p.spec.required {
                "required"
            } else {
                "optional"
            },
            p.spec.description
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #ident(mut self, value: #ty) -> Self {
                self.#ident = ::std::option::Option::Some(#value);
                self
            }
        }
    });
    let body_setter = body.as_ref().map(|b| {
        quote! {
            /// Sets the request body (required).
            #[must_use]
            pub fn body(mut self, value: #b) -> Self {
                self.body = ::std::option::Option::Some(value);
                self
            }
        }
    });
    let all_idents: Vec<proc_macro2::Ident> = params
        .iter()
        .map(Param::ident)
        .chain(has_body.then(|| format_ident!("body")))
        .collect();
    let required_idents: Vec<proc_macro2::Ident> = params
        .iter()
        .filter(|p| p.spec.required)
        .map(Param::ident)
        .chain(has_body.then(|| format_ident!("body")))
        .collect();
    let construct = if required_idents.is_empty() {
        quote! {
            v.finish()?;
            ::std::result::Result::Ok(#request { #( #all_idents ),* })
        }
    } else {
        quote! {
            if let ( #( ::std::option::Option::Some(#required_idents), )* ) = ( #( #required_idents, )* ) {
                v.finish()?;
                return ::std::result::Result::Ok(#request { #( #all_idents ),* });
            }
            ::std::result::Result::Err(v.into_error())
        }
    };
    let validator = if builder_checks.is_empty() && !has_body {
        quote!(let v = crate::__private::Validator::new();)
    } else {
        quote!(let mut v = crate::__private::Validator::new();)
    };
    let mut required_list: Vec<String> = params
        .iter()
        .filter(|p| p.spec.required)
        .map(|p| format!("`{}`", p.spec.name))
        .collect();
    if has_body {
        required_list.push("`body`".to_string());
    }
    let build_doc = format!(
        "Checks what was set and makes the request: every missing required value ({}) is \
         reported at its name, together with every violation of what was given.",
        if required_list.is_empty() {
            "none here".to_string()
        } else {
            required_list.join(", ")
        }
    );
    let builder_doc = format!(
        "Builds a [`{request_name}`]: one setter per parameter{}, then [`{builder_name}::build`].",
        if has_body {
            " and one for the body"
        } else {
            ""
        }
    );
    let builder_fn_doc = format!("A builder with nothing set; see [`{builder_name}`].");

    Ok(quote! {
        #[doc = #marker_doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct #marker;

        impl crate::Endpoint for #marker {
            const NAME: &'static str = stringify!(#marker);
            const SUMMARY: &'static str = #summary;
            const METHOD: &'static str = #method;
            const PATH_TEMPLATE: &'static str = #path;
            const PATH_PARAMS: &'static [&'static str] = &[ #( #path_names ),* ];
            const QUERY_PARAMS: &'static [&'static str] = &[ #( #query_names ),* ];
            const SUCCESS_STATUS: u16 = #status;
            const REQUIRES_WECHATPAY_SERIAL: bool = #serial;
            const HOSTS: crate::Hosts = crate::Hosts { primary: #primary, backup: #backup };
            const ERRORS: &'static [crate::ErrorCodeInfo] = &[ #( #errors ),* ];
            const BOUND_FIELDS: &'static [&'static str] = &[ #( #bound ),* ];
            const HAS_BODY: bool = #has_body;
            const RATE_LIMIT: ::std::option::Option<crate::RateLimit> = #rate_limit;
            type Request = #request;
            type Body = #body_type;
            type Response = crate::#response;
        }

        #[doc = #request_doc]
        #[derive(Clone, Debug, PartialEq)]
        pub struct #request {
            #( #fields )*
            #body_field
        }

        impl #request {
            #[doc = #builder_fn_doc]
            pub fn builder() -> #builder {
                #builder::default()
            }
        }

        #[doc = #builder_doc]
        #[derive(Clone, Debug, Default)]
        pub struct #builder {
            #( #builder_fields )*
            #builder_body_field
        }

        impl #builder {
            #( #setters )*
            #body_setter

            #[doc = #build_doc]
            pub fn build(self) -> ::std::result::Result<#request, crate::ValidationError> {
                #validator
                #( #builder_checks )*
                #body_builder_check
                let Self { #( #all_idents ),* } = self;
                #construct
            }
        }

        impl crate::EndpointRequest for #request {
            type Endpoint = #marker;

            fn path_param(&self, name: &str) -> ::std::option::Option<&str> {
                #path_match
            }

            fn query_param(&self, name: &str) -> ::std::option::Option<::std::borrow::Cow<'_, str>> {
                #query_match
            }

            #body_access

            fn bound_value(&self, name: &str) -> ::std::option::Option<&str> {
                #bound_match
            }
        }

        impl crate::Validate for #request {
            fn validate_into(&self, #v_param: &mut crate::__private::Validator) {
                #( #checks )*
                #body_check
            }
        }
    })
}

/// `match name { arms…, _ => fallback }`, or the fallback alone when there is no arm.
fn match_name(arms: Vec<TokenStream>, fallback: &TokenStream) -> TokenStream {
    if arms.is_empty() {
        quote! {
            let _ = name;
            #fallback
        }
    } else {
        quote! {
            match name {
                #( #arms )*
                _ => #fallback,
            }
        }
    }
}
