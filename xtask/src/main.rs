//! Maintainer tasks for the workspace.
//!
//! - `cargo xtask gen` regenerates `crates/models/src/generated/` from `schema/card-member.json`;
//!   `cargo xtask gen --check` fails (exit 1) when a generated file is not what the schema gives,
//!   naming the file and the command that fixes it. CI runs the check, so generated code cannot
//!   drift from the schema.
//! - `cargo xtask test` runs every test suite: the workspace's, and the signing crate's again on
//!   each cryptographic backend. It is the README's test command, and CI's.

// A binary: `pub` marks what its modules share with each other.
#![allow(unreachable_pub)]

mod gen_endpoints;
mod gen_enums;
mod gen_impls;
mod gen_types;
mod spec;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The schema file, relative to the workspace root.
const SCHEMA: &str = "schema/card-member.json";
/// Where the generated modules go, relative to the workspace root.
const OUT_DIR: &str = "crates/models/src/generated";

const USAGE: &str = "usage: cargo xtask <gen [--check] | test>

  gen           regenerate crates/models/src/generated/ from schema/
  gen --check   fail if a generated file is not up to date (CI runs this)
  test          run every test suite (the workspace, then each signing backend)";

/// The test runs of `cargo xtask test`, in order: (what, cargo arguments).
const TEST_RUNS: &[(&str, &[&str])] = &[
    ("the workspace, default features", &["test", "--workspace"]),
    (
        "every benchmark once, in criterion's test mode, so that none rots unnoticed",
        &["test", "--workspace", "--bench", "*"],
    ),
    (
        "wechatpay-signing on the RustCrypto backend alone",
        &[
            "test",
            "-p",
            "wechatpay-signing",
            "--no-default-features",
            "--features",
            "rust-crypto",
        ],
    ),
    (
        "wechatpay-signing with both backends (cross-backend checks)",
        &["test", "-p", "wechatpay-signing", "--all-features"],
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = match args.as_slice() {
        ["gen"] => false,
        ["gen", "--check"] => true,
        ["test"] => return test(&workspace_root()),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match generate(&workspace_root(), check) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test(root: &Path) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for (what, args) in TEST_RUNS {
        println!("\n=== cargo {} ({what})", args.join(" "));
        let status = std::process::Command::new(&cargo)
            .args(*args)
            .current_dir(root)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("error: `cargo {}` failed ({s})", args.join(" "));
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("error: could not run cargo: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("\nall test suites passed");
    ExitCode::SUCCESS
}

fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

fn generate(root: &Path, check: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(root.join(SCHEMA)).map_err(|e| format!("{SCHEMA}: {e}"))?;
    let files = render(SCHEMA, &text)?;
    let out_dir = root.join(OUT_DIR);
    let mut stale = Vec::new();
    for (name, contents) in &files {
        let path = out_dir.join(name);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(contents.as_str()) {
            continue;
        }
        if check {
            stale.push(format!("{OUT_DIR}/{name}"));
        } else {
            std::fs::create_dir_all(&out_dir).map_err(|e| format!("{OUT_DIR}: {e}"))?;
            std::fs::write(&path, contents).map_err(|e| format!("{OUT_DIR}/{name}: {e}"))?;
            println!("wrote {OUT_DIR}/{name}");
        }
    }
    // A file the generator no longer makes would linger (and still compile) unless removed.
    if let Ok(entries) = std::fs::read_dir(&out_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !files.iter().any(|(n, _)| *n == name) {
                if check {
                    stale.push(format!("{OUT_DIR}/{name} (no longer generated)"));
                } else {
                    std::fs::remove_file(entry.path())
                        .map_err(|e| format!("{OUT_DIR}/{name}: {e}"))?;
                    println!("removed {OUT_DIR}/{name}");
                }
            }
        }
    }
    if stale.is_empty() {
        if check {
            println!("{OUT_DIR} is up to date with {SCHEMA}");
        }
        Ok(())
    } else {
        let mut message = String::new();
        for file in &stale {
            message.push_str(&format!("{file} was not up to date with {SCHEMA}\n"));
        }
        message.push_str("run `cargo xtask gen` and commit the result");
        Err(message)
    }
}

/// The generated files (name, contents) for the schema `text`, read from `source`.
fn render(source: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    let spec = spec::parse(source, text)?;
    let header = format!(
        "// @generated by `cargo xtask gen` from {source}; do not edit by hand.\n\
         // To change it, edit the schema (or xtask/src/) and run `cargo xtask gen`.\n\n"
    );
    let format = |tokens: proc_macro2::TokenStream, what: &str| -> Result<String, String> {
        let file: syn::File =
            syn::parse2(tokens).map_err(|e| format!("generated {what} does not parse: {e}"))?;
        Ok(unparse(file))
    };
    let mod_rs = "//! Code generated from the schema: the data types (typify), open enums, endpoint\n\
                  //! descriptors, constructors, validation, the sensitive-field walk, the\n\
                  //! unknown-field check, lenient reading and string fields by name. The\n\
                  //! hand-written rest of the crate re-exports them.\n\n\
                  pub(crate) mod builders;\n\
                  pub(crate) mod endpoints;\n\
                  pub(crate) mod enums;\n\
                  mod lenient;\n\
                  mod sensitive;\n\
                  mod strict;\n\
                  mod string_fields;\n\
                  pub(crate) mod types;\n\
                  mod validate;\n";
    let files = vec![
        // The crate documentation's table of endpoints.
        ("endpoints.md", endpoint_table(&spec)),
        // A verbatim copy, so the models crate can hand the schema to a validator (the sandbox
        // uses it) without reaching outside its own directory.
        ("schema.json", text.to_string()),
        ("mod.rs", mod_rs.to_string()),
        ("types.rs", unparse(gen_types::generate(&spec)?)),
        ("enums.rs", format(gen_enums::generate(&spec), "enums")?),
        (
            "endpoints.rs",
            format(gen_endpoints::generate(&spec)?, "endpoints")?,
        ),
        (
            "builders.rs",
            format(gen_impls::builders(&spec), "builders")?,
        ),
        (
            "validate.rs",
            format(gen_impls::validate(&spec), "validation")?,
        ),
        (
            "sensitive.rs",
            format(gen_impls::sensitive(&spec), "sensitive-field walk")?,
        ),
        (
            "strict.rs",
            format(gen_impls::strict(&spec), "unknown-field check")?,
        ),
        (
            "lenient.rs",
            format(gen_impls::lenient(&spec), "lenient reading")?,
        ),
        (
            "string_fields.rs",
            format(gen_impls::string_fields(&spec), "string fields by name")?,
        ),
    ];
    Ok(files
        .into_iter()
        .map(|(name, body)| {
            let contents = if name.ends_with(".rs") {
                format!("{header}{body}")
            } else {
                body
            };
            (name.to_string(), contents)
        })
        .collect())
}

/// The Markdown table of the endpoints, for the models crate's documentation.
fn endpoint_table(spec: &spec::Spec) -> String {
    let mut out = String::from(
        "## Endpoints\n\n\
         | endpoint | request | method and path | body | `Wechatpay-Serial` | rate limit |\n\
         |---|---|---|---|---|---|\n",
    );
    for ep in &spec.endpoints {
        let query: Vec<String> = ep
            .query_parameters
            .iter()
            .map(|p| {
                if p.required {
                    p.name.clone()
                } else {
                    format!("[{}]", p.name)
                }
            })
            .collect();
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{}", query.join("&"))
        };
        let body = match &ep.request_body {
            Some(r) => format!("[`{}`]", r.target().unwrap_or("?")),
            None => "none".to_string(),
        };
        let limit = match &ep.rate_limit {
            Some(r) => format!(
                "{}/s per {}{}",
                r.per_second,
                r.scope,
                if r.source == "page" {
                    ""
                } else {
                    " (inferred)"
                }
            ),
            None => "not stated".to_string(),
        };
        out.push_str(&format!(
            "| [`{name}`] | [`{name}Request`] | `{} {}{query}` | {body} | {} | {limit} |\n",
            ep.method,
            ep.path,
            if ep.requires_wechatpay_serial {
                "yes"
            } else {
                "no"
            },
            name = ep.name,
        ));
    }
    out
}

/// prettyplease, with a space after `///` (typify writes doc attributes without one), every
/// `pub struct` made `#[non_exhaustive]` first (see [`non_exhaustive`]).
fn unparse(mut file: syn::File) -> String {
    use syn::visit_mut::VisitMut;
    non_exhaustive(&mut file);
    struct DocSpace;
    impl VisitMut for DocSpace {
        fn visit_attribute_mut(&mut self, attr: &mut syn::Attribute) {
            if let syn::Meta::NameValue(nv) = &mut attr.meta
                && nv.path.is_ident("doc")
                && let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &mut nv.value
            {
                let text = s.value();
                if !text.is_empty() && !text.starts_with(' ') {
                    *s = syn::LitStr::new(&format!(" {text}"), s.span());
                }
            }
        }
    }
    DocSpace.visit_file_mut(&mut file);
    prettyplease::unparse(&file)
}

/// Marks every public struct of a generated file `#[non_exhaustive]`: the data types (typify's),
/// the request types, the endpoint descriptors and the builders. A field the schema gains is then
/// not a breaking change: outside the models crate a value is made with its generated `new`,
/// `builder()` or `Default`, never a struct literal, and destructured with `..`.
fn non_exhaustive(file: &mut syn::File) {
    for item in &mut file.items {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        let public = matches!(item.vis, syn::Visibility::Public(_));
        let marked = item
            .attrs
            .iter()
            .any(|a| a.path().is_ident("non_exhaustive"));
        if public && !marked {
            item.attrs.push(syn::parse_quote!(#[non_exhaustive]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> serde_json::Value {
        let text = std::fs::read_to_string(workspace_root().join(SCHEMA)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn render_value(schema: &serde_json::Value) -> Result<Vec<(String, String)>, String> {
        render(SCHEMA, &serde_json::to_string(schema).unwrap())
    }

    fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
        &files.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// The statements that check one field of the request body.
    fn body_check<'a>(validate_rs: &'a str, field: &str) -> &'a str {
        let start = validate_rs
            .find("impl crate::Validate for crate::UpdateUserCardBody")
            .unwrap();
        let rest = &validate_rs[start..];
        let at = rest.find(&format!("v.enter_field(\"{field}\")")).unwrap();
        let end = rest[at..].find("v.leave(mark)").unwrap();
        &rest[at..at + end]
    }

    #[test]
    fn checked_in_models_are_what_the_schema_gives() {
        generate(&workspace_root(), true).unwrap();
    }

    #[test]
    fn a_changed_limit_reaches_the_validation() {
        let mut schema = schema();
        let before = render_value(&schema).unwrap();
        assert!(body_check(file(&before, "validate.rs"), "level").contains("Some(10u32)"));
        schema["definitions"]["UpdateUserCardBody"]["properties"]["level"]["maxLength"] = 20.into();
        let after = render_value(&schema).unwrap();
        let check = body_check(file(&after, "validate.rs"), "level");
        assert!(
            check.contains("Some(20u32)") && !check.contains("Some(10u32)"),
            "{check}"
        );
    }

    #[test]
    fn an_added_field_reaches_every_generated_place() {
        let mut schema = schema();
        schema["definitions"]["UpdateUserCardBody"]["properties"]["nickname"] = serde_json::json!({
            "description": "A nickname.",
            "type": "string",
            "maxLength": 16,
            "x-wechatpay-encrypted": true
        });
        let files = render_value(&schema).unwrap();
        assert!(
            file(&files, "types.rs")
                .contains("pub nickname: ::std::option::Option<crate::SensitiveString>")
        );
        assert!(file(&files, "builders.rs").contains("pub fn with_nickname("));
        assert!(body_check(file(&files, "validate.rs"), "nickname").contains("Some(16u32)"));
        assert!(file(&files, "sensitive.rs").contains("path.push_field(\"nickname\")"));
        assert!(file(&files, "strict.rs").contains("\"nickname\""));
    }

    #[test]
    fn unsupported_or_misspelled_keywords_are_refused() {
        let mut schema = schema();
        schema["definitions"]["UpdateUserCardBody"]["properties"]["level"]["x-wechatpay-encrypt"] =
            true.into();
        let err = render_value(&schema).unwrap_err();
        assert!(
            err.contains("definitions.UpdateUserCardBody.level")
                && err.contains("x-wechatpay-encrypt"),
            "{err}"
        );

        let mut schema = self::schema();
        schema["definitions"]["DateInfo"]["properties"]["type"] = serde_json::json!({
            "description": "d", "oneOf": [{"type": "string"}, {"type": "integer", "format": "int64"}]
        });
        assert!(
            render_value(&schema)
                .unwrap_err()
                .contains("allOf/anyOf/oneOf")
        );

        let mut schema = self::schema();
        schema["x-endpoints"][0]["path"] = "/v3/user-cards/{code}".into();
        assert!(
            render_value(&schema)
                .unwrap_err()
                .contains("path template names")
        );
    }

    /// The top-level item of generated `text` that starts with `header`, up to its closing brace.
    fn item<'a>(text: &'a str, header: &str) -> &'a str {
        let start = text.find(header).unwrap_or_else(|| panic!("no `{header}`"));
        let end = start + text[start..].find("\n}").unwrap() + 2;
        &text[start..end]
    }

    /// The index of an endpoint in `x-endpoints`.
    fn endpoint_index(schema: &serde_json::Value, name: &str) -> usize {
        schema["x-endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["name"] == name)
            .unwrap()
    }

    /// The `BOUND_FIELDS` line of the rendered UpdateUserCard.
    fn bound_fields(files: &[(String, String)]) -> String {
        bound_fields_of(files, "UpdateUserCard")
    }

    /// The `BOUND_FIELDS` line of the rendered endpoint `name`.
    fn bound_fields_of(files: &[(String, String)], name: &str) -> String {
        let endpoints = item(
            file(files, "endpoints.rs"),
            &format!("impl crate::Endpoint for {name} "),
        );
        let start = endpoints.find("const BOUND_FIELDS").unwrap();
        let end = start + endpoints[start..].find(';').unwrap();
        endpoints[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn bound_fields_are_those_both_request_and_answer_name() {
        let mut schema = schema();
        assert_eq!(
            bound_fields(&render_value(&schema).unwrap()),
            r#"const BOUND_FIELDS: &'static [&'static str] = &[ "user_card_code", "card_id", "brand_id", "openid", ]"#
        );
        // An answer without brand_id does not bind it.
        let card = &mut schema["definitions"]["UserCard"];
        card["properties"]
            .as_object_mut()
            .unwrap()
            .remove("brand_id");
        let required = card["required"].as_array_mut().unwrap();
        required.retain(|r| r != "brand_id");
        let bound = bound_fields(&render_value(&schema).unwrap());
        assert!(!bound.contains("brand_id"), "{bound}");
        assert!(bound.contains("\"openid\""), "{bound}");
        // Nor does an answer where it is optional; nor an optional request field the answer has.
        let mut schema = self::schema();
        let required = schema["definitions"]["UserCard"]["required"]
            .as_array_mut()
            .unwrap();
        required.retain(|r| r != "openid");
        required.push("level".into());
        let bound = bound_fields(&render_value(&schema).unwrap());
        assert!(!bound.contains("openid"), "{bound}");
        assert!(!bound.contains("level"), "{bound}");
        assert!(bound.contains("\"brand_id\""), "{bound}");
    }

    #[test]
    fn an_extra_endpoint_of_a_supported_shape_needs_no_generator_change() {
        let mut schema = schema();
        schema["x-endpoints"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "name": "SearchUserCards",
                "summary": "a second GET with query parameters",
                "method": "GET",
                "path": "/v3/brand/partner/card-member/brands/{brand_id}/user-cards",
                "hosts": {"primary": "https://a.example", "backup": "https://b.example"},
                "path_parameters": [
                    {"name": "brand_id", "description": "b", "schema": {"type": "string", "maxLength": 32}}
                ],
                "query_parameters": [
                    {"name": "page_size", "description": "p", "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 50}},
                    {"name": "card_type", "description": "t", "required": false, "schema": {"$ref": "#/definitions/CardType"}},
                    {"name": "cursor", "description": "c", "required": false, "schema": {"type": "string", "maxLength": 64}}
                ],
                "response": {"status": 200, "schema": {"$ref": "#/definitions/UserCardList"}},
                "error_body": {"$ref": "#/definitions/ErrorResponse"},
                "requires_wechatpay_serial": false,
                "errors": [],
                "rate_limit": {"per_second": 7, "scope": "brand_id", "source": "inferred"}
            }));
        let files = render_value(&schema).unwrap();
        let endpoints = file(&files, "endpoints.rs");
        let flat = |s: &str| s.split_whitespace().collect::<String>();
        let descriptor = flat(item(endpoints, "impl crate::Endpoint for SearchUserCards "));
        for expected in [
            r#"const PATH_TEMPLATE: &'static str = "/v3/brand/partner/card-member/brands/{brand_id}/user-cards";"#,
            r#"const QUERY_PARAMS: &'static [&'static str] = &["page_size", "card_type", "cursor"];"#,
            "const HAS_BODY: bool = false;",
            r#"per_second: 7u32, scope: "brand_id", documented: false"#,
            "type Body = crate::NoBody;",
            "type Response = crate::UserCardList;",
        ] {
            assert!(
                descriptor.contains(&flat(expected)),
                "{expected}\n{descriptor}"
            );
        }
        let request = flat(item(endpoints, "pub struct SearchUserCardsRequest "));
        for expected in [
            "pub brand_id: ::std::string::String,",
            "pub page_size: i64,",
            "pub card_type: ::std::option::Option<crate::CardType>,",
            "pub cursor: ::std::option::Option<::std::string::String>,",
        ] {
            assert!(request.contains(&flat(expected)), "{expected}\n{request}");
        }
        assert!(!request.contains(&flat("pub body")), "{request}");
        let builder = flat(item(endpoints, "impl SearchUserCardsRequestBuilder "));
        for expected in [
            "pub fn brand_id( mut self, value: impl ::std::convert::Into<::std::string::String>, ) -> Self",
            "pub fn page_size(mut self, value: i64) -> Self",
            "pub fn card_type(mut self, value: crate::CardType) -> Self",
            r#"let mark = v.enter_field("page_size"); v.report(crate::Rule::Missing);"#,
            "minimum: ::std::option::Option::Some(1i64), maximum: ::std::option::Option::Some(50i64),",
            "v.check_enum(value);",
        ] {
            assert!(builder.contains(&flat(expected)), "{expected}\n{builder}");
        }
        // An optional parameter is never reported missing.
        assert!(
            !builder.contains(&flat(r#"enter_field("cursor"); v.report"#)),
            "{builder}"
        );
        let validate = flat(item(
            endpoints,
            "impl crate::Validate for SearchUserCardsRequest ",
        ));
        assert!(
            validate.contains(&flat("v.check_path_segment(value);"))
                && validate.contains(&flat(
                    r#"if let ::std::option::Option::Some(value) = &self.card_type"#
                )),
            "{validate}"
        );
        let access = flat(item(
            endpoints,
            "impl crate::EndpointRequest for SearchUserCardsRequest ",
        ));
        for expected in [
            r#""page_size" => { ::std::option::Option::Some(::std::borrow::Cow::Owned(self.page_size.to_string()),) }"#,
            r#""card_type" => { self.card_type.as_ref().map(|e| ::std::borrow::Cow::Borrowed(e.as_str())) }"#,
            r#""cursor" => self.cursor.as_deref().map(::std::borrow::Cow::Borrowed),"#,
            "fn body(&self) -> &crate::NoBody",
        ] {
            assert!(access.contains(&flat(expected)), "{expected}\n{access}");
        }
        // A path string parameter binds if the answer has it; UserCardList does not.
        assert_eq!(
            bound_fields_of(&files, "SearchUserCards"),
            "const BOUND_FIELDS: &'static [&'static str] = &[]"
        );
        // A second POST with a body: the body gets its builders, the request a body setter.
        let mut schema = self::schema();
        let confirm = endpoint_index(&schema, "ConfirmUserCard");
        let mut post = schema["x-endpoints"][confirm].clone();
        post["name"] = "ReconfirmUserCard".into();
        post["request_body"] = serde_json::json!({"$ref": "#/definitions/InvalidateUserCardBody"});
        schema["x-endpoints"].as_array_mut().unwrap().push(post);
        let files = render_value(&schema).unwrap();
        let endpoints = file(&files, "endpoints.rs");
        let builder = flat(item(endpoints, "impl ReconfirmUserCardRequestBuilder "));
        assert!(
            builder.contains(&flat(
                "pub fn body(mut self, value: crate::InvalidateUserCardBody) -> Self"
            )) && builder.contains(&flat(
                r#"let mark = v.enter_field("body"); v.report(crate::Rule::Missing);"#
            )),
            "{builder}"
        );
        let descriptor = flat(item(
            endpoints,
            "impl crate::Endpoint for ReconfirmUserCard ",
        ));
        assert!(
            descriptor.contains(&flat("const HAS_BODY: bool = true;")),
            "{descriptor}"
        );
        assert!(
            descriptor.contains(&flat(r#"&["user_card_code", "card_id", "openid",]"#)),
            "{descriptor}"
        );
    }

    #[test]
    fn a_body_less_endpoint_has_no_body() {
        let files = render_value(&schema()).unwrap();
        let endpoints = file(&files, "endpoints.rs");
        for name in ["GetUserCard", "ListUserCards"] {
            let descriptor = item(endpoints, &format!("impl crate::Endpoint for {name} "));
            assert!(
                descriptor.contains("const HAS_BODY: bool = false;")
                    && descriptor.contains("type Body = crate::NoBody;"),
                "{descriptor}"
            );
            let request = item(endpoints, &format!("pub struct {name}Request "));
            assert!(!request.contains("body"), "{request}");
        }
        let update = item(endpoints, "impl crate::Endpoint for UpdateUserCard ");
        assert!(
            update.contains("const HAS_BODY: bool = true;")
                && update.contains("const RATE_LIMIT: ::std::option::Option<crate::RateLimit> = ::std::option::Option::None;"),
            "{update}"
        );
    }

    #[test]
    fn every_generated_struct_is_non_exhaustive() {
        for (name, contents) in render_value(&schema()).unwrap() {
            if !name.ends_with(".rs") {
                continue;
            }
            let lines: Vec<&str> = contents.lines().collect();
            for (at, line) in lines.iter().enumerate() {
                if !line.starts_with("pub struct ") {
                    continue;
                }
                // The attributes right above it (docs and derives may sit between).
                let attrs = lines[..at]
                    .iter()
                    .rev()
                    .take_while(|l| l.starts_with("#[") || l.starts_with("///"));
                assert!(
                    attrs.clone().any(|l| *l == "#[non_exhaustive]"),
                    "{name}: `{line}` is not #[non_exhaustive]"
                );
            }
        }
        // A struct that a later generator step adds is caught too: the mark is put on the
        // output, not on each template.
        let mut file: syn::File = syn::parse_quote! {
            pub struct Added { pub a: u8 }
            struct Private;
        };
        non_exhaustive(&mut file);
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains("#[non_exhaustive]\npub struct Added")
                && !text.contains("#[non_exhaustive]\nstruct Private"),
            "{text}"
        );
    }

    #[test]
    fn every_schema_type_can_be_built() {
        let schema = schema();
        let files = render_value(&schema).unwrap();
        let builders = file(&files, "builders.rs");
        let spec = spec::parse(SCHEMA, &serde_json::to_string(&schema).unwrap()).unwrap();
        for (def, s) in gen_impls::structs(&spec) {
            let name = &def.name;
            let required = s.props.iter().filter(|p| p.required).count();
            let constructor = item(builders, &format!("impl crate::{name} "));
            if required <= 2 {
                assert!(constructor.contains("pub fn new("), "{name}: {constructor}");
            } else {
                assert!(
                    constructor.contains(&format!("pub fn builder() -> {name}Builder")),
                    "{name}: {constructor}"
                );
                let builder = item(builders, &format!("impl {name}Builder "));
                // build() reports each required field left out, by its JSON name.
                for p in s.props.iter().filter(|p| p.required) {
                    assert!(
                        builder.contains(&format!("v.enter_field(\"{}\");", p.json_name)),
                        "{name}.{}: {builder}",
                        p.json_name
                    );
                }
            }
            for p in s.props.iter().filter(|p| !p.required) {
                let setter = format!("pub fn with_{}(", p.rust_name.trim_end_matches('_'));
                assert!(constructor.contains(&setter), "{name}: no {setter}");
            }
        }
        // The answers too, not only what a request body is made of.
        for name in [
            "UserCard",
            "UserCardList",
            "ErrorResponse",
            "Notification",
            "UserCardEvent",
        ] {
            assert!(builders.contains(&format!("impl crate::{name} ")), "{name}");
        }
    }

    #[test]
    fn endpoint_shapes_the_generator_cannot_render_are_refused() {
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            (
                "request_body",
                serde_json::json!({"$ref": "#/definitions/UserCardState"}),
                "x-endpoints.ListUserCards: `#/definitions/UserCardState` is not an object definition",
            ),
            (
                "request_body",
                serde_json::json!({"type": "object"}),
                "x-endpoints",
            ),
            (
                "rate_limit",
                serde_json::json!({"per_second": 5, "scope": "mchid", "source": "guessed"}),
                "x-endpoints.ListUserCards: rate_limit.source must be `page` or `inferred`",
            ),
            (
                "rate_limit",
                serde_json::json!({"per_second": 0, "scope": "mchid", "source": "page"}),
                "x-endpoints.ListUserCards: rate_limit needs per_second > 0",
            ),
            (
                "rate_limits",
                serde_json::json!(null),
                "unknown field `rate_limits`",
            ),
        ];
        for (key, value, expected) in cases {
            let mut schema = schema();
            let list = endpoint_index(&schema, "ListUserCards");
            schema["x-endpoints"][list][key] = value;
            let err = render_value(&schema).unwrap_err();
            assert!(err.contains(expected), "{key}: {err}");
        }
        let param_cases: Vec<(&str, usize, serde_json::Value, &str)> = vec![
            (
                "query_parameters",
                2,
                serde_json::json!({"name": "user_card_state", "description": "d", "schema": {"$ref": "#/definitions/UserCard"}}),
                "ListUserCards.user_card_state: `UserCard` is not a string enum definition",
            ),
            (
                "query_parameters",
                3,
                serde_json::json!({"name": "offset", "description": "d", "schema": {"type": "array", "items": {"type": "string"}}}),
                "ListUserCards.offset: query parameters must be plain strings, integers or string enums",
            ),
            (
                "query_parameters",
                1,
                serde_json::json!({"name": "brand_id", "description": "d", "schema": {"type": "string"}}),
                "ListUserCards: parameter `brand_id` is declared twice",
            ),
        ];
        for (key, at, value, expected) in param_cases {
            let mut schema = schema();
            let list = endpoint_index(&schema, "ListUserCards");
            schema["x-endpoints"][list][key][at] = value;
            let err = render_value(&schema).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
        // Path parameters: strings, always required.
        let mut schema = self::schema();
        let get = endpoint_index(&schema, "GetUserCard");
        schema["x-endpoints"][get]["path_parameters"][0]["required"] = false.into();
        let err = render_value(&schema).unwrap_err();
        assert!(
            err.contains("GetUserCard.user_card_code: a path parameter cannot be optional"),
            "{err}"
        );
        let mut schema = self::schema();
        schema["x-endpoints"][get]["path_parameters"][0]["schema"] =
            serde_json::json!({"type": "integer", "format": "int64"});
        let err = render_value(&schema).unwrap_err();
        assert!(
            err.contains("GetUserCard.user_card_code: path parameters must be plain strings"),
            "{err}"
        );
        // A path template naming an undeclared parameter.
        let mut schema = self::schema();
        schema["x-endpoints"][get]["path"] =
            "/v3/brand/partner/card-member/user-cards/{code}".into();
        let err = render_value(&schema).unwrap_err();
        assert!(
            err.contains("x-endpoints.GetUserCard: the path template names [\"code\"]"),
            "{err}"
        );
    }

    #[test]
    fn every_path_parameter_refuses_dot_segments() {
        let mut schema = schema();
        let update = endpoint_index(&schema, "UpdateUserCard");
        schema["x-endpoints"][update]["path"] =
            "/v3/brand/partner/card-member/{brand_id}/user-cards/{user_card_code}".into();
        let params = schema["x-endpoints"][update]["path_parameters"]
            .as_array_mut()
            .unwrap();
        params.insert(
            0,
            serde_json::json!({"name": "brand_id", "description": "d", "schema": {"type": "string"}}),
        );
        let files = render_value(&schema).unwrap();
        let endpoints = item(
            file(&files, "endpoints.rs"),
            "impl crate::Validate for UpdateUserCardRequest ",
        );
        for param in ["brand_id", "user_card_code"] {
            let at = endpoints
                .find(&format!("v.enter_field(\"{param}\")"))
                .unwrap();
            let end = at + endpoints[at..].find("v.leave(mark)").unwrap();
            assert!(
                endpoints[at..end].contains("v.check_path_segment(value);"),
                "{param}"
            );
        }
        // A query parameter is not a path segment.
        let at = endpoints.find("v.enter_field(\"card_id\")").unwrap();
        let end = at + endpoints[at..].find("v.leave(mark)").unwrap();
        assert!(!endpoints[at..end].contains("check_path_segment"));
    }

    #[test]
    fn encrypted_fields_are_checked_as_plaintexts() {
        let files = render_value(&schema()).unwrap();
        let validate = file(&files, "validate.rs");
        let phone = body_check(validate, "phone_number");
        assert!(
            phone.contains("v.check_sensitive(") && !phone.contains("check_string"),
            "{phone}"
        );
        let level = body_check(validate, "level");
        assert!(
            level.contains("v.check_string(") && !level.contains("check_sensitive"),
            "{level}"
        );
    }

    #[test]
    fn every_type_is_read_leniently_and_gives_its_string_fields() {
        let files = render_value(&schema()).unwrap();
        let lenient = file(&files, "lenient.rs");
        let strings = file(&files, "string_fields.rs");
        for name in [
            "UpdateUserCardBody",
            "UserCard",
            "DateInfo",
            "UserInfoCommonField",
        ] {
            assert!(
                lenient.contains(&format!(
                    "impl crate::runtime::LenientDeserialize for crate::{name} "
                )),
                "{name}"
            );
            assert!(
                strings.contains(&format!(
                    "impl crate::runtime::StringFields for crate::{name} "
                )),
                "{name}"
            );
        }
        assert!(lenient.contains("impl crate::runtime::LenientDeserialize for crate::CardType "));
        // Required in the answer, optional in the request.
        let lenient = [
            item(
                lenient,
                "impl crate::runtime::LenientDeserialize for crate::UpdateUserCardBody ",
            ),
            item(
                lenient,
                "impl crate::runtime::LenientDeserialize for crate::UserCard ",
            ),
        ]
        .concat();
        let reads: Vec<&str> = lenient
            .match_indices("valid_date_information: crate::lenient::")
            .map(|(at, m)| &lenient[at + m.len()..at + m.len() + 8])
            .collect();
        assert_eq!(reads, ["optional", "required"]);
    }

    #[test]
    fn schema_and_models_point_only_where_readers_can_follow() {
        // The project's private notes are not in the repository; the official page is.
        let private = concat!("shared", "/", "spec");
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let root = workspace_root();
        let mut files = Vec::new();
        for dir in ["schema", "crates/models", "xtask"] {
            walk(&root.join(dir), &mut files);
        }
        for path in files {
            if let Ok(text) = std::fs::read_to_string(&path) {
                assert!(!text.contains(private), "{}", path.display());
            }
        }
        let schema = schema();
        assert!(
            schema["description"]
                .as_str()
                .unwrap()
                .contains("https://pay.weixin.qq.com/doc/v3/partner/")
        );
    }

    #[test]
    fn every_generated_file_says_how_it_was_made() {
        for (name, contents) in render_value(&schema()).unwrap() {
            if !name.ends_with(".rs") {
                continue;
            }
            assert!(
                contents
                    .starts_with("// @generated by `cargo xtask gen` from schema/card-member.json"),
                "{name}"
            );
        }
    }
}
