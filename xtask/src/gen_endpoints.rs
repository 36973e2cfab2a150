//! The endpoint descriptors of `x-endpoints`: method, path template, parameters, body and
//! response types, documented errors; and each endpoint's request type (parameters + body).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::gen_impls::check_param;
use crate::spec::{EndpointSpec, ParamSpec, Spec};

pub fn generate(spec: &Spec) -> Result<TokenStream, String> {
    let mut out = Vec::new();
    let mut statics = Vec::new();
    for ep in &spec.endpoints {
        out.push(endpoint(spec, ep, &mut statics)?);
    }
    Ok(quote!( #( #statics )* #( #out )* ))
}

fn endpoint(
    spec: &Spec,
    ep: &EndpointSpec,
    statics: &mut Vec<TokenStream>,
) -> Result<TokenStream, String> {
    let marker = format_ident!("{}", ep.name);
    let request_name = format!("{}Request", ep.name);
    let request = format_ident!("{request_name}");
    if spec.def(&request_name).is_some() {
        return Err(format!(
            "{}: `{request_name}` is generated for the endpoint; rename the definition",
            spec.source
        ));
    }
    let body = format_ident!("{}", ep.request_body.target()?);
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
    for e in &ep.errors {
        if e.source != "page" && e.source != "protocol" {
            return Err(format!(
                "{}: error {}: source must be `page` or `protocol`",
                spec.source, e.code
            ));
        }
    }

    let marker_doc = format!("`{method} {path}`: {summary}");
    let request_doc = format!(
        "A call of [`{}`]: its path and query parameters and its body. Sensitive fields of the body \
         are given in plaintext; the client encrypts them.",
        ep.name
    );
    let params: Vec<(&ParamSpec, &crate::spec::StringRules, &str)> = ep
        .path_parameters
        .iter()
        .zip(&ep.path_rules)
        .map(|(p, r)| (p, r, "path"))
        .chain(
            ep.query_parameters
                .iter()
                .zip(&ep.query_rules)
                .map(|(p, r)| (p, r, "query")),
        )
        .collect();
    for (p, _, _) in &params {
        if p.name == "body" {
            return Err(format!(
                "{}: a parameter may not be named `body`",
                spec.source
            ));
        }
    }
    let fields = params.iter().map(|(p, _, location)| {
        let ident = format_ident!("{}", p.name);
        let doc = format!("{} ({location} parameter `{}`)", p.description, p.name);
        quote!(#[doc = #doc] pub #ident: ::std::string::String,)
    });
    let args = params.iter().map(|(p, _, _)| {
        let ident = format_ident!("{}", p.name);
        quote!(#ident: impl ::std::convert::Into<::std::string::String>)
    });
    let inits = params.iter().map(|(p, _, _)| {
        let ident = format_ident!("{}", p.name);
        quote!(#ident: #ident.into())
    });
    let arm = |location: &str| {
        let arms = params
            .iter()
            .filter(|(_, _, l)| *l == location)
            .map(|(p, _, _)| {
                let ident = format_ident!("{}", p.name);
                let name = &p.name;
                quote!(#name => ::std::option::Option::Some(self.#ident.as_str()),)
            });
        quote!( #( #arms )* _ => ::std::option::Option::None, )
    };
    let (path_arms, query_arms) = (arm("path"), arm("query"));
    let bound = spec.bound_fields(ep)?;
    let checks = params.iter().map(|(p, rules, location)| {
        let ident = format_ident!("{}", p.name);
        let name = &p.name;
        let check = check_param(rules, &request_name, name, *location == "path", statics);
        quote! {
            {
                let value = self.#ident.as_str();
                let mark = v.enter_field(#name);
                #check
                v.leave(mark);
            }
        }
    });
    let new_doc = format!(
        "Creates a call from its parameters ({}) and body.",
        params
            .iter()
            .map(|(p, _, _)| format!("`{}`", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    );

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
            type Request = #request;
            type Body = crate::#body;
            type Response = crate::#response;
        }

        #[doc = #request_doc]
        #[derive(Clone, Debug, PartialEq)]
        pub struct #request {
            #( #fields )*
            /// The request body.
            pub body: crate::#body,
        }

        impl #request {
            #[doc = #new_doc]
            pub fn new( #( #args, )* body: crate::#body ) -> Self {
                Self { #( #inits, )* body }
            }
        }

        impl crate::EndpointRequest for #request {
            type Endpoint = #marker;

            fn path_param(&self, name: &str) -> ::std::option::Option<&str> {
                match name { #path_arms }
            }

            fn query_param(&self, name: &str) -> ::std::option::Option<&str> {
                match name { #query_arms }
            }

            fn body(&self) -> &crate::#body {
                &self.body
            }

            fn body_mut(&mut self) -> &mut crate::#body {
                &mut self.body
            }

            fn into_body(self) -> crate::#body {
                self.body
            }
        }

        impl crate::Validate for #request {
            fn validate_into(&self, v: &mut crate::Validator) {
                #( #checks )*
                crate::Validate::validate_into(&self.body, v);
            }
        }
    })
}
