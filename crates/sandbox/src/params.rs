//! The endpoints as the schema's `x-endpoints` describes them: method, path template, path and
//! query parameters (checked against their own JSON Schemas, generically), body definition and
//! whether `Wechatpay-Serial` is required. Nothing here is written per endpoint.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use wechatpay_card_models::SCHEMA_JSON;

use crate::SandboxError;
use crate::answer::{ApiError, Location};
use crate::body_check::BodyChecker;

/// Longest untrusted text copied into a message.
const ECHO: usize = 64;
/// A parameter value is echoed in `detail.value` only when it is at most this many characters.
const MAX_ECHO: usize = 256;
/// The most digits an integer parameter may have (an `i64` has 19).
const MAX_DIGITS: usize = 18;

/// At most [`ECHO`] characters of untrusted text.
pub(crate) fn echo(text: &str) -> String {
    let mut chars = text.chars();
    let mut short: String = chars.by_ref().take(ECHO).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

/// One segment of a path template.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// What a parameter's value is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
}

/// One path or query parameter and its compiled schema.
struct ParamSpec {
    name: String,
    required: bool,
    kind: Kind,
    validator: jsonschema::Validator,
}

/// One endpoint of `x-endpoints`.
pub(crate) struct EndpointSpec {
    /// The endpoint's name, e.g. `UpdateUserCard`.
    pub(crate) name: String,
    /// The HTTP method, upper case.
    pub(crate) method: String,
    /// Whether requests must carry `Wechatpay-Serial`.
    pub(crate) requires_serial: bool,
    /// The body's checker; `None` for an endpoint without a body.
    pub(crate) body: Option<BodyChecker>,
    segments: Vec<Segment>,
    path_params: Vec<ParamSpec>,
    query_params: Vec<ParamSpec>,
}

/// The parameters of a request, checked: strings and integers by name.
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, Value>);

impl Params {
    /// A string parameter's value ("" when absent: only optional parameters can be).
    pub(crate) fn str(&self, name: &str) -> &str {
        self.0.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    /// An optional string parameter's value.
    pub(crate) fn opt_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// An integer parameter's value (0 when absent: only optional parameters can be).
    pub(crate) fn int(&self, name: &str) -> i64 {
        self.0.get(name).and_then(Value::as_i64).unwrap_or_default()
    }
}

/// Why no endpoint takes a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// No endpoint has this path.
    NotFound,
    /// Endpoints have this path, with these methods (comma-separated).
    MethodNotAllowed(String),
}

/// Every endpoint of the schema.
pub(crate) struct Endpoints {
    specs: Vec<EndpointSpec>,
}

impl Endpoints {
    /// Reads `x-endpoints` of the models' schema and compiles every parameter's and body's schema.
    pub(crate) fn from_schema() -> Result<Self, SandboxError> {
        let schema: Value =
            serde_json::from_str(SCHEMA_JSON).map_err(|e| SandboxError::Schema(e.to_string()))?;
        Self::from_value(&schema)
    }

    fn from_value(schema: &Value) -> Result<Self, SandboxError> {
        let bad = |what: String| SandboxError::Schema(what);
        let definitions = schema.get("definitions").cloned().unwrap_or(Value::Null);
        let entries = schema
            .get("x-endpoints")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no x-endpoints".to_owned()))?;
        let mut specs = Vec::new();
        for entry in entries {
            let text = |key: &str| {
                entry
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("an x-endpoints entry has no {key}")))
            };
            let name = text("name")?;
            let method = text("method")?.to_ascii_uppercase();
            let path = text("path")?;
            let segments = path
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(param) => Segment::Param(param.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    },
                )
                .collect();
            let params =
                |key: &str, always_required: bool| -> Result<Vec<ParamSpec>, SandboxError> {
                    let mut out = Vec::new();
                    for param in entry
                        .get(key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let pname = param.get("name").and_then(Value::as_str).ok_or_else(|| {
                            bad(format!("{name}: a parameter of {key} has no name"))
                        })?;
                        let pschema = param.get("schema").cloned().unwrap_or_else(|| json!({}));
                        let resolved = resolve(&definitions, &pschema);
                        let kind = match resolved.get("type").and_then(Value::as_str) {
                            Some("integer") => Kind::Integer,
                            _ => Kind::String,
                        };
                        let mut root = json!({
                            "$schema": "http://json-schema.org/draft-07/schema#",
                            "definitions": definitions,
                        });
                        if let (Some(root), Some(own)) = (root.as_object_mut(), pschema.as_object())
                        {
                            for (k, v) in own {
                                root.insert(k.clone(), v.clone());
                            }
                        }
                        let validator = jsonschema::draft7::options()
                            .should_validate_formats(true)
                            .build(&root)
                            .map_err(|e| bad(format!("{name}.{pname}: {e}")))?;
                        out.push(ParamSpec {
                            name: pname.to_owned(),
                            required: always_required
                                || param.get("required").and_then(Value::as_bool) != Some(false),
                            kind,
                            validator,
                        });
                    }
                    Ok(out)
                };
            let path_params = params("path_parameters", true)?;
            let query_params = params("query_parameters", false)?;
            let body = match entry
                .get("request_body")
                .and_then(|b| b.get("$ref"))
                .and_then(Value::as_str)
            {
                Some(reference) => {
                    let definition = reference.strip_prefix("#/definitions/").ok_or_else(|| {
                        bad(format!(
                            "{name}: request_body {reference} is not a definition"
                        ))
                    })?;
                    Some(BodyChecker::from_schema(schema, definition)?)
                }
                None => None,
            };
            specs.push(EndpointSpec {
                requires_serial: entry
                    .get("requires_wechatpay_serial")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                name,
                method,
                body,
                segments,
                path_params,
                query_params,
            });
        }
        Ok(Self { specs })
    }

    /// The endpoint by name.
    #[cfg(test)]
    pub(crate) fn by_name(&self, name: &str) -> Option<&EndpointSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// The endpoint of a method and path (as received, percent-encoded): among those whose
    /// template matches the path, the one of this method with the fewest parameters (a literal
    /// segment wins over a parameter: `user-cards/import-by-openid`).
    pub(crate) fn route(&self, method: &str, path: &str) -> Result<&EndpointSpec, NoRoute> {
        let matching: Vec<&EndpointSpec> = self.specs.iter().filter(|s| s.matches(path)).collect();
        if matching.is_empty() {
            return Err(NoRoute::NotFound);
        }
        matching
            .iter()
            .filter(|s| s.method == method)
            .min_by_key(|s| s.path_params.len())
            .copied()
            .ok_or_else(|| {
                let mut methods: Vec<&str> = matching.iter().map(|s| s.method.as_str()).collect();
                methods.sort_unstable();
                methods.dedup();
                NoRoute::MethodNotAllowed(methods.join(", "))
            })
    }
}

impl EndpointSpec {
    fn matches(&self, path: &str) -> bool {
        let mut parts = path.split('/');
        for segment in &self.segments {
            match (segment, parts.next()) {
                (Segment::Literal(l), Some(p)) if l == p => {}
                (Segment::Param(_), Some(p)) if !p.is_empty() => {}
                _ => return false,
            }
        }
        parts.next().is_none()
    }

    /// The path and query parameters of a request this endpoint took: decoded, each present
    /// once, none unknown, the required ones there, each valid against its schema.
    pub(crate) fn params(&self, path: &str, query: Option<&str>) -> Result<Params, ApiError> {
        let mut params = Params::default();
        for (segment, raw) in self.segments.iter().zip(path.split('/')) {
            let Segment::Param(name) = segment else {
                continue;
            };
            let value = decode(raw, false).ok_or_else(|| {
                ApiError::param(
                    Location::Path,
                    Some(name.clone()),
                    None,
                    "is not percent-encoded UTF-8",
                )
            })?;
            if value == "." || value == ".." {
                return Err(ApiError::param(
                    Location::Path,
                    Some(name.clone()),
                    Some(json!(value)),
                    "must not be a dot segment",
                ));
            }
            if let Some(spec) = self.path_params.iter().find(|p| p.name == *name) {
                let value = spec.read(&value, Location::Path)?;
                params.0.insert(name.clone(), value);
            }
        }

        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for pair in query.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, true).unwrap_or_else(|| echo(name));
            let Some(spec) = self.query_params.iter().find(|p| p.name == name) else {
                let known: Vec<&str> = self.query_params.iter().map(|p| p.name.as_str()).collect();
                let issue = if known.is_empty() {
                    "is not a parameter of this endpoint (the page defines no query parameter)"
                        .to_owned()
                } else {
                    format!(
                        "is not a parameter of this endpoint (the page defines {})",
                        known.join(", ")
                    )
                };
                return Err(ApiError::param(
                    Location::Query,
                    Some(echo(&name)),
                    None,
                    issue,
                ));
            };
            if seen.contains_key(&name) {
                return Err(ApiError::param(
                    Location::Query,
                    Some(name),
                    None,
                    "is given more than once",
                ));
            }
            let value = decode(value, true).ok_or_else(|| {
                ApiError::param(
                    Location::Query,
                    Some(name.clone()),
                    None,
                    "is not percent-encoded UTF-8",
                )
            })?;
            let read = spec.read(&value, Location::Query)?;
            params.0.insert(name.clone(), read);
            seen.insert(name, value);
        }
        if let Some(missing) = self
            .query_params
            .iter()
            .find(|p| p.required && !seen.contains_key(&p.name))
        {
            return Err(ApiError::param(
                Location::Query,
                Some(missing.name.clone()),
                None,
                "is required",
            ));
        }
        Ok(params)
    }
}

impl ParamSpec {
    /// The value as its type, checked against the parameter's schema.
    fn read(&self, text: &str, location: Location) -> Result<Value, ApiError> {
        let shown = || (text.chars().count() <= MAX_ECHO).then(|| json!(text));
        let value = match self.kind {
            Kind::String => json!(text),
            Kind::Integer => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                if digits.is_empty()
                    || digits.len() > MAX_DIGITS
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(ApiError::param(
                        location,
                        Some(self.name.clone()),
                        shown(),
                        format!("is not an integer of at most {MAX_DIGITS} digits"),
                    ));
                }
                // At most 18 digits: always an i64.
                json!(text.parse::<i64>().unwrap_or_default())
            }
        };
        if let Some(error) = self.validator.iter_errors(&value).next() {
            return Err(ApiError::param(
                location,
                Some(self.name.clone()),
                shown(),
                error.masked_with("the value").to_string(),
            ));
        }
        Ok(value)
    }
}

/// Decodes a path segment or query component: percent-encoding, and `+` as a space in the
/// query (form encoding, as Java's `URLEncoder` writes it).
pub(crate) fn decode(text: &str, plus_is_space: bool) -> Option<String> {
    let text = if plus_is_space {
        text.replace('+', " ")
    } else {
        text.to_owned()
    };
    percent_decode_str(&text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// A schema with its local `$ref` followed.
fn resolve<'a>(definitions: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .and_then(|name| definitions.get(name))
        .unwrap_or(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints() -> Endpoints {
        Endpoints::from_value(&json!({
            "definitions": {
                "State": {"type": "string", "enum": ["A", "B"]},
                "Body": {"type": "object", "properties": {"x": {"type": "string"}}}
            },
            "x-endpoints": [
                {"name": "Get", "method": "GET", "path": "/v/items/{code}",
                 "path_parameters": [{"name": "code", "schema": {"type": "string", "maxLength": 4}}],
                 "query_parameters": [{"name": "id", "schema": {"type": "string", "minLength": 1}}]},
                {"name": "List", "method": "GET", "path": "/v/items",
                 "query_parameters": [
                    {"name": "state", "required": false, "schema": {"$ref": "#/definitions/State"}},
                    {"name": "offset", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 20}}]},
                {"name": "Import", "method": "POST", "path": "/v/items/import",
                 "request_body": {"$ref": "#/definitions/Body"}, "requires_wechatpay_serial": true},
                {"name": "Patch", "method": "PATCH", "path": "/v/items/{code}",
                 "request_body": {"$ref": "#/definitions/Body"},
                 "path_parameters": [{"name": "code", "schema": {"type": "string"}}]}
            ]
        }))
        .unwrap()
    }

    fn field(error: ApiError) -> (String, String) {
        let d = error.detail.unwrap();
        (d.field.unwrap_or_default(), d.issue.unwrap_or_default())
    }

    #[test]
    fn routes_prefer_literals_and_name_the_allowed_methods() {
        let e = endpoints();
        assert_eq!(e.route("GET", "/v/items/12").unwrap().name, "Get");
        assert_eq!(e.route("PATCH", "/v/items/12").unwrap().name, "Patch");
        assert_eq!(e.route("POST", "/v/items/import").unwrap().name, "Import");
        assert!(e.route("POST", "/v/items/import").unwrap().requires_serial);
        assert_eq!(e.route("GET", "/v/items").unwrap().name, "List");
        assert_eq!(
            e.route("POST", "/v/items/12").err(),
            Some(NoRoute::MethodNotAllowed("GET, PATCH".to_owned()))
        );
        assert_eq!(e.route("GET", "/v/items/").err(), Some(NoRoute::NotFound));
        assert_eq!(
            e.route("GET", "/v/items/1/2").err(),
            Some(NoRoute::NotFound)
        );
        assert!(e.by_name("Get").unwrap().body.is_none());
        assert!(e.by_name("Import").unwrap().body.is_some());
    }

    #[test]
    fn parameters_are_checked_from_their_schemas() {
        let e = endpoints();
        let get = e.by_name("Get").unwrap();
        let p = get.params("/v/items/a%20b", Some("id=x+y")).unwrap();
        assert_eq!((p.str("code"), p.str("id")), ("a b", "x y"));
        let cases: &[(&str, Option<&str>, &str, &str)] = &[
            ("/v/items/12345", Some("id=1"), "code", "long"),
            ("/v/items/..", Some("id=1"), "code", "dot segment"),
            ("/v/items/%ff", Some("id=1"), "code", "UTF-8"),
            ("/v/items/1", None, "id", "required"),
            ("/v/items/1", Some("id="), "id", "short"),
            ("/v/items/1", Some("id=1&id=1"), "id", "more than once"),
            ("/v/items/1", Some("id=1&card=2"), "card", "not a parameter"),
        ];
        for (path, query, name, issue) in cases {
            let (f, i) = field(get.params(path, *query).unwrap_err());
            assert_eq!(f, *name, "{path} {query:?}");
            assert!(i.contains(issue), "{path} {query:?}: {i}");
        }
        let list = e.by_name("List").unwrap();
        let p = list.params("/v/items", Some("offset=40&limit=20")).unwrap();
        assert_eq!(
            (p.int("offset"), p.int("limit"), p.opt_str("state")),
            (40, 20, None)
        );
        let p = list
            .params("/v/items", Some("state=B&offset=0&limit=1"))
            .unwrap();
        assert_eq!(p.opt_str("state"), Some("B"));
        for (query, name) in [
            ("offset=0&limit=21", "limit"),
            ("offset=0&limit=0", "limit"),
            ("offset=-1&limit=1", "offset"),
            ("offset=x&limit=1", "offset"),
            ("offset=1e3&limit=1", "offset"),
            ("offset=99999999999999999999999&limit=1", "offset"),
            ("offset=0", "limit"),
            ("state=C&offset=0&limit=1", "state"),
        ] {
            assert_eq!(
                field(list.params("/v/items", Some(query)).unwrap_err()).0,
                name,
                "{query}"
            );
        }
    }

    #[test]
    fn the_models_schema_loads() {
        let e = Endpoints::from_schema().unwrap();
        let update = e.by_name("UpdateUserCard").unwrap();
        assert_eq!(update.method, "PATCH");
        assert!(update.requires_serial && update.body.is_some());
    }
}
