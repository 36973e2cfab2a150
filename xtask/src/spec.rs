//! Reads a schema file into the small model the generators work from.
//!
//! The generator supports the JSON Schema subset the WeChat Pay pages need and refuses everything
//! else with an error naming the place: a keyword it silently ignored would be a limit the models
//! silently fail to check (or, for `x-wechatpay-encrypted`, a field silently sent in plaintext).

use std::fmt::Write as _;

use heck::{ToPascalCase, ToSnakeCase};
use schemars::schema::{InstanceType, RootSchema, Schema, SchemaObject, SingleOrVec};
use serde::Deserialize;

/// The annotation that marks a string (or the strings of an array) as encrypted on the wire.
pub const ENCRYPTED: &str = "x-wechatpay-encrypted";
/// Per-value documentation of a string enum.
pub const ENUM_DESCRIPTIONS: &str = "x-enum-descriptions";
/// The endpoints a schema file describes.
pub const ENDPOINTS: &str = "x-endpoints";

/// Everything one schema file describes.
pub struct Spec {
    /// The path of the schema file, relative to the workspace root, for messages and headers.
    pub source: String,
    /// The definitions, in file order.
    pub defs: Vec<Def>,
    /// The endpoints of `x-endpoints`.
    pub endpoints: Vec<EndpointSpec>,
}

pub struct Def {
    pub name: String,
    pub description: Option<String>,
    pub kind: DefKind,
}

pub enum DefKind {
    Struct(StructDef),
    Enum(EnumDef),
}

pub struct StructDef {
    /// `additionalProperties: false`: a field the schema does not define is an error in a request.
    pub closed: bool,
    pub props: Vec<Prop>,
}

pub struct Prop {
    pub json_name: String,
    pub rust_name: String,
    pub description: Option<String>,
    pub required: bool,
    pub ty: Ty,
}

#[derive(Clone)]
pub enum Ty {
    String(StringRules),
    Integer(IntegerRules),
    Ref(String),
    Array {
        items: Box<Ty>,
        min_items: Option<u32>,
        max_items: Option<u32>,
    },
    /// Any JSON value.
    Any,
}

#[derive(Clone, Default)]
pub struct StringRules {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub pattern: Option<String>,
    pub format: Option<StringFormat>,
    pub encrypted: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    DateTime,
    Uri,
}

#[derive(Clone, Default)]
pub struct IntegerRules {
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
}

pub struct EnumDef {
    pub values: Vec<EnumValue>,
}

pub struct EnumValue {
    pub wire: String,
    pub variant: String,
    pub description: Option<String>,
}

/// One entry of `x-endpoints`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub name: String,
    pub summary: String,
    pub method: String,
    pub path: String,
    pub hosts: Hosts,
    #[serde(default)]
    pub path_parameters: Vec<ParamSpec>,
    #[serde(default)]
    pub query_parameters: Vec<ParamSpec>,
    /// Absent for an endpoint that sends no body (the request's body is `crate::NoBody`).
    #[serde(default)]
    pub request_body: Option<RefSpec>,
    pub response: ResponseSpec,
    pub error_body: RefSpec,
    pub requires_wechatpay_serial: bool,
    pub errors: Vec<ErrorSpec>,
    /// Absent (or `null`) when no page states one and none is inferred.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// Filled from the parameters' `schema` once parsed.
    #[serde(skip)]
    pub path_rules: Vec<ParamTy>,
    #[serde(skip)]
    pub query_rules: Vec<ParamTy>,
}

/// `rate_limit` of an endpoint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    pub per_second: u32,
    /// What calls are counted by, e.g. `mchid`.
    pub scope: String,
    /// `page` (the endpoint's page states it) or `inferred` (from its siblings' pages).
    pub source: String,
}

/// The type of a path or query parameter.
#[derive(Clone)]
pub enum ParamTy {
    String(StringRules),
    Integer(IntegerRules),
    /// A string enum definition, by name.
    Enum(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hosts {
    pub primary: String,
    pub backup: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    /// Whether the request must carry it (default `true`); an optional parameter left unset is
    /// not sent. Path parameters are always required.
    #[serde(default = "yes")]
    pub required: bool,
    pub schema: serde_json::Value,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefSpec {
    #[serde(rename = "$ref")]
    pub reference: String,
}

impl RefSpec {
    /// The definition name of a `#/definitions/Name` reference.
    pub fn target(&self) -> Result<&str, String> {
        self.reference
            .strip_prefix("#/definitions/")
            .ok_or_else(|| format!("`{}` is not a `#/definitions/…` reference", self.reference))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    pub status: u16,
    pub schema: RefSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    pub status: u16,
    pub code: String,
    pub description: String,
    pub solution: String,
    /// `page` (listed on the endpoint's page), `family` (on the error-code page of the endpoint
    /// family) or `protocol` (APIv3-wide, see docs/protocol.md).
    pub source: String,
}

impl Spec {
    pub fn def(&self, name: &str) -> Option<&Def> {
        self.defs.iter().find(|d| d.name == name)
    }

    pub fn struct_def(&self, name: &str) -> Option<&StructDef> {
        match self.def(name) {
            Some(Def {
                kind: DefKind::Struct(s),
                ..
            }) => Some(s),
            _ => None,
        }
    }

    /// The fields that bind an answer of `ep` to its request: each path and query parameter,
    /// then each required plain string field of the request body (schema order), that is also a
    /// required plain string field of the answer. Optional fields are values being set, not
    /// names of the resource, and an answer may leave them out.
    pub fn bound_fields(&self, ep: &EndpointSpec) -> Result<Vec<String>, String> {
        let answer_name = ep.response.schema.target()?;
        let Some(answer) = self.struct_def(answer_name) else {
            return Err(format!("{}: the answer is not an object", ep.name));
        };
        let body = match &ep.request_body {
            Some(r) => Some(
                self.struct_def(r.target()?)
                    .ok_or_else(|| format!("{}: the request body is not an object", ep.name))?,
            ),
            None => None,
        };
        let required_string = |s: &StructDef, name: &str| {
            s.props
                .iter()
                .any(|p| p.json_name == name && p.required && is_plain_string(&p.ty))
        };
        let mut bound: Vec<String> = Vec::new();
        // Only required string parameters: an integer or an enum names nothing.
        let params = ep
            .path_parameters
            .iter()
            .zip(&ep.path_rules)
            .chain(ep.query_parameters.iter().zip(&ep.query_rules))
            .filter(|(p, ty)| p.required && matches!(ty, ParamTy::String(_)))
            .map(|(p, _)| p.name.as_str());
        let body_fields = body.into_iter().flat_map(|body| {
            body.props
                .iter()
                .filter(move |p| required_string(body, &p.json_name))
                .map(|p| p.json_name.as_str())
        });
        for name in params.chain(body_fields) {
            if required_string(answer, name) && !bound.iter().any(|b| b == name) {
                bound.push(name.to_string());
            }
        }
        Ok(bound)
    }

    /// Whether values of `ty` hold an encrypted string somewhere inside.
    pub fn holds_encrypted(&self, ty: &Ty) -> bool {
        self.holds(
            ty,
            &mut Vec::new(),
            &|t| matches!(t, Ty::String(r) if r.encrypted),
        )
    }

    /// Whether values of `ty` hold a struct with `additionalProperties: false` somewhere inside.
    pub fn holds_closed_struct(&self, ty: &Ty) -> bool {
        self.holds(ty, &mut Vec::new(), &|t| match t {
            Ty::Ref(name) => self.struct_def(name).is_some_and(|s| s.closed),
            _ => false,
        })
    }

    fn holds<'a>(
        &'a self,
        ty: &'a Ty,
        seen: &mut Vec<&'a str>,
        pred: &dyn Fn(&Ty) -> bool,
    ) -> bool {
        if pred(ty) {
            return true;
        }
        match ty {
            Ty::Array { items, .. } => self.holds(items, seen, pred),
            Ty::Ref(name) => {
                if seen.contains(&name.as_str()) {
                    return false;
                }
                seen.push(name);
                self.struct_def(name)
                    .is_some_and(|s| s.props.iter().any(|p| self.holds(&p.ty, seen, pred)))
            }
            _ => false,
        }
    }
}

/// A string read as text: not encrypted, not a time (what `StringFields` gives access to).
pub fn is_plain_string(ty: &Ty) -> bool {
    matches!(ty, Ty::String(r) if !r.encrypted && r.format != Some(StringFormat::DateTime))
}

/// Parses the schema text. `source` names the file in error messages.
pub fn parse(source: &str, text: &str) -> Result<Spec, String> {
    let root: RootSchema =
        serde_json::from_str(text).map_err(|e| format!("{source}: not a JSON Schema: {e}"))?;
    let mut defs = Vec::new();
    for (name, schema) in &root.definitions {
        let at = format!("{source}: definitions.{name}");
        let obj = as_object(schema, &at)?;
        defs.push(parse_def(name, obj, &at)?);
    }
    let mut endpoints = Vec::new();
    for (key, value) in &root.schema.extensions {
        match key.as_str() {
            ENDPOINTS => {
                endpoints = serde_json::from_value::<Vec<EndpointSpec>>(value.clone())
                    .map_err(|e| format!("{source}: {ENDPOINTS}: {e}"))?;
            }
            "$comment" => {}
            other => return Err(format!("{source}: unsupported root keyword `{other}`")),
        }
    }
    let mut spec = Spec {
        source: source.to_string(),
        defs,
        endpoints: Vec::new(),
    };
    for mut ep in endpoints {
        let at = format!("{source}: {ENDPOINTS}.{}", ep.name);
        check_endpoint(&spec, &ep, &at)?;
        ep.path_rules = param_rules(&spec, &ep.path_parameters, true, &at)?;
        ep.query_rules = param_rules(&spec, &ep.query_parameters, false, &at)?;
        spec.endpoints.push(ep);
    }
    for def in &spec.defs {
        if let DefKind::Struct(s) = &def.kind {
            for p in &s.props {
                check_refs(
                    &spec,
                    &p.ty,
                    &format!("{source}: definitions.{}.{}", def.name, p.json_name),
                )?;
            }
        }
    }
    Ok(spec)
}

fn param_rules(
    spec: &Spec,
    params: &[ParamSpec],
    in_path: bool,
    at: &str,
) -> Result<Vec<ParamTy>, String> {
    params
        .iter()
        .map(|p| {
            let at = format!("{at}.{}", p.name);
            if p.name == "body" || rust_field_name(&p.name) != p.name {
                return Err(format!(
                    "{at}: a parameter's name must be a snake_case Rust identifier other than `body`"
                ));
            }
            if in_path && !p.required {
                return Err(format!("{at}: a path parameter cannot be optional"));
            }
            let obj: SchemaObject = serde_json::from_value(p.schema.clone())
                .map_err(|e| format!("{at}: not a schema: {e}"))?;
            match parse_ty(&obj, &at)? {
                Ty::String(rules) if !rules.encrypted => Ok(ParamTy::String(rules)),
                Ty::Integer(rules) if !in_path => Ok(ParamTy::Integer(rules)),
                Ty::Ref(name) if !in_path => match spec.def(&name) {
                    Some(Def {
                        kind: DefKind::Enum(_),
                        ..
                    }) => Ok(ParamTy::Enum(name)),
                    _ => Err(format!(
                        "{at}: `{name}` is not a string enum definition (a query parameter may be a string, an integer or a string enum)"
                    )),
                },
                _ if in_path => Err(format!("{at}: path parameters must be plain strings")),
                _ => Err(format!(
                    "{at}: query parameters must be plain strings, integers or string enums"
                )),
            }
        })
        .collect()
}

fn check_endpoint(spec: &Spec, ep: &EndpointSpec, at: &str) -> Result<(), String> {
    if ep.name.to_pascal_case() != ep.name {
        return Err(format!("{at}: `name` must be PascalCase"));
    }
    if !matches!(
        ep.method.as_str(),
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
    ) {
        return Err(format!("{at}: unsupported method `{}`", ep.method));
    }
    let mut template_params = Vec::new();
    let mut rest = ep.path.as_str();
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("{at}: unclosed `{{` in path"))?;
        template_params.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    let declared: Vec<&str> = ep.path_parameters.iter().map(|p| p.name.as_str()).collect();
    if template_params != declared {
        return Err(format!(
            "{at}: the path template names {template_params:?} but path_parameters declares {declared:?}"
        ));
    }
    for r in ep
        .request_body
        .iter()
        .chain([&ep.response.schema, &ep.error_body])
    {
        let target = r.target().map_err(|e| format!("{at}: {e}"))?;
        if spec.struct_def(target).is_none() {
            return Err(format!(
                "{at}: `{}` is not an object definition",
                r.reference
            ));
        }
    }
    if let Some(limit) = &ep.rate_limit {
        if limit.per_second == 0 || limit.scope.is_empty() {
            return Err(format!("{at}: rate_limit needs per_second > 0 and a scope"));
        }
        if limit.source != "page" && limit.source != "inferred" {
            return Err(format!(
                "{at}: rate_limit.source must be `page` or `inferred`"
            ));
        }
    }
    let mut names: Vec<&str> = ep
        .path_parameters
        .iter()
        .chain(&ep.query_parameters)
        .map(|p| p.name.as_str())
        .collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("{at}: parameter `{}` is declared twice", pair[0]));
    }
    Ok(())
}

fn check_refs(spec: &Spec, ty: &Ty, at: &str) -> Result<(), String> {
    match ty {
        Ty::Ref(name) if spec.def(name).is_none() => {
            Err(format!("{at}: reference to an unknown definition `{name}`"))
        }
        Ty::Array { items, .. } => check_refs(spec, items, at),
        _ => Ok(()),
    }
}

fn as_object<'a>(schema: &'a Schema, at: &str) -> Result<&'a SchemaObject, String> {
    match schema {
        Schema::Object(o) => Ok(o),
        Schema::Bool(_) => Err(format!("{at}: boolean schemas are not supported")),
    }
}

fn parse_def(name: &str, obj: &SchemaObject, at: &str) -> Result<Def, String> {
    if name.to_pascal_case() != name {
        return Err(format!("{at}: definition names must be PascalCase"));
    }
    let description = obj.metadata.as_ref().and_then(|m| m.description.clone());
    if description.is_none() {
        return Err(format!(
            "{at}: a description is required (it becomes the type's documentation)"
        ));
    }
    let kind = if let Some(values) = &obj.enum_values {
        check_extensions(obj, &[ENUM_DESCRIPTIONS], at)?;
        if instance_type(obj) != Some(InstanceType::String) {
            return Err(format!("{at}: only string enums are supported"));
        }
        let descriptions = obj.extensions.get(ENUM_DESCRIPTIONS);
        let mut out = Vec::new();
        for v in values {
            let wire = v
                .as_str()
                .ok_or_else(|| format!("{at}: enum value {v} is not a string"))?
                .to_string();
            let description = descriptions
                .and_then(|d| d.get(&wire))
                .and_then(|d| d.as_str())
                .map(str::to_string);
            let variant = wire.to_lowercase().to_pascal_case();
            if variant == "Unknown" {
                return Err(format!(
                    "{at}: `{wire}` would clash with the Unknown variant"
                ));
            }
            out.push(EnumValue {
                wire,
                variant,
                description,
            });
        }
        if let Some(d) = descriptions.and_then(|d| d.as_object())
            && let Some(extra) = d.keys().find(|k| !out.iter().any(|v| &v.wire == *k))
        {
            return Err(format!(
                "{at}: {ENUM_DESCRIPTIONS} describes `{extra}`, which is not a value"
            ));
        }
        DefKind::Enum(EnumDef { values: out })
    } else {
        check_extensions(obj, &[], at)?;
        if instance_type(obj) != Some(InstanceType::Object) {
            return Err(format!(
                "{at}: a definition must be an object or a string enum"
            ));
        }
        let object = obj
            .object
            .as_deref()
            .ok_or_else(|| format!("{at}: an object without properties"))?;
        if !object.pattern_properties.is_empty()
            || object.property_names.is_some()
            || object.min_properties.is_some()
            || object.max_properties.is_some()
        {
            return Err(format!(
                "{at}: only properties, required and additionalProperties are supported"
            ));
        }
        let closed = match object.additional_properties.as_deref() {
            None => false,
            Some(Schema::Bool(false)) => true,
            Some(_) => return Err(format!("{at}: additionalProperties may only be false")),
        };
        if let Some(missing) = object
            .required
            .iter()
            .find(|r| !object.properties.contains_key(*r))
        {
            return Err(format!("{at}: `{missing}` is required but not a property"));
        }
        let mut props = Vec::new();
        for (json_name, schema) in &object.properties {
            let at = format!("{at}.{json_name}");
            let prop = as_object(schema, &at)?;
            if prop
                .metadata
                .as_ref()
                .and_then(|m| m.description.as_ref())
                .is_none()
            {
                return Err(format!(
                    "{at}: a description is required (it becomes the field's documentation)"
                ));
            }
            let rust_name = rust_field_name(json_name);
            props.push(Prop {
                json_name: json_name.clone(),
                rust_name,
                description: prop.metadata.as_ref().and_then(|m| m.description.clone()),
                required: object.required.contains(json_name),
                ty: parse_ty(prop, &at)?,
            });
        }
        DefKind::Struct(StructDef { closed, props })
    };
    check_unsupported(obj, at)?;
    Ok(Def {
        name: name.to_string(),
        description,
        kind,
    })
}

/// The Rust field name typify gives a property (snake case; keywords get a trailing `_`).
pub fn rust_field_name(json_name: &str) -> String {
    let snake = json_name.to_snake_case();
    if typify::accept_as_ident(&snake) {
        snake
    } else {
        format!("{snake}_")
    }
}

fn instance_type(obj: &SchemaObject) -> Option<InstanceType> {
    match &obj.instance_type {
        Some(SingleOrVec::Single(t)) => Some(**t),
        _ => None,
    }
}

fn parse_ty(obj: &SchemaObject, at: &str) -> Result<Ty, String> {
    check_unsupported(obj, at)?;
    if let Some(r) = &obj.reference {
        check_extensions(obj, &[], at)?;
        if obj.instance_type.is_some() || obj.string.is_some() || obj.format.is_some() {
            return Err(format!(
                "{at}: `$ref` with sibling validation keywords is not supported"
            ));
        }
        let name = r
            .strip_prefix("#/definitions/")
            .ok_or_else(|| format!("{at}: only `#/definitions/…` references are supported"))?;
        return Ok(Ty::Ref(name.to_string()));
    }
    let encrypted = match obj.extensions.get(ENCRYPTED) {
        None => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err(format!("{at}: {ENCRYPTED} must be true or false")),
    };
    check_extensions(obj, &[ENCRYPTED], at)?;
    let ty = match (&obj.instance_type, instance_type(obj)) {
        (None, _) => {
            if obj.string.is_some() || obj.format.is_some() || obj.array.is_some() || encrypted {
                return Err(format!("{at}: validation keywords without a `type`"));
            }
            Ty::Any
        }
        (_, Some(InstanceType::String)) => {
            let s = obj.string.as_deref();
            let format = match obj.format.as_deref() {
                None => None,
                Some("date-time") => Some(StringFormat::DateTime),
                Some("uri") => Some(StringFormat::Uri),
                Some(other) => return Err(format!("{at}: unsupported string format `{other}`")),
            };
            let pattern = s.and_then(|s| s.pattern.clone());
            if let Some(p) = &pattern {
                regex_lite::Regex::new(p)
                    .map_err(|e| format!("{at}: pattern `{p}` does not compile: {e}"))?;
            }
            if encrypted && format.is_some() {
                return Err(format!("{at}: an encrypted string cannot have a format"));
            }
            Ty::String(StringRules {
                min_length: s.and_then(|s| s.min_length),
                max_length: s.and_then(|s| s.max_length),
                pattern,
                format,
                encrypted,
            })
        }
        (_, Some(InstanceType::Integer)) => {
            if !matches!(obj.format.as_deref(), Some("int64")) {
                return Err(format!("{at}: integers must say `format: int64`"));
            }
            let n = obj.number.as_deref();
            if n.is_some_and(|n| {
                n.multiple_of.is_some()
                    || n.exclusive_maximum.is_some()
                    || n.exclusive_minimum.is_some()
            }) {
                return Err(format!(
                    "{at}: only minimum and maximum are supported on integers"
                ));
            }
            let bound = |v: Option<f64>| -> Result<Option<i64>, String> {
                match v {
                    Some(f) if f.fract() != 0.0 => {
                        Err(format!("{at}: integer bound {f} is not an integer"))
                    }
                    #[allow(clippy::cast_possible_truncation)]
                    Some(f) => Ok(Some(f as i64)),
                    None => Ok(None),
                }
            };
            Ty::Integer(IntegerRules {
                minimum: bound(n.and_then(|n| n.minimum))?,
                maximum: bound(n.and_then(|n| n.maximum))?,
            })
        }
        (_, Some(InstanceType::Array)) => {
            let a = obj
                .array
                .as_deref()
                .ok_or_else(|| format!("{at}: an array without items"))?;
            if a.unique_items.is_some() || a.additional_items.is_some() || a.contains.is_some() {
                return Err(format!(
                    "{at}: only items, minItems and maxItems are supported on arrays"
                ));
            }
            let items = match &a.items {
                Some(SingleOrVec::Single(s)) => as_object(s, &format!("{at}[]"))?,
                _ => return Err(format!("{at}: arrays need one `items` schema")),
            };
            let items = parse_ty(items, &format!("{at}[]"))?;
            if encrypted {
                return Err(format!(
                    "{at}: put {ENCRYPTED} on the items, not on the array"
                ));
            }
            if let Ty::Array { .. } = items {
                return Err(format!("{at}: arrays of arrays are not supported"));
            }
            Ty::Array {
                items: Box::new(items),
                min_items: a.min_items,
                max_items: a.max_items,
            }
        }
        _ => {
            return Err(format!(
                "{at}: unsupported type (only string, integer, array, $ref or any)"
            ));
        }
    };
    if encrypted && !matches!(ty, Ty::String(_)) {
        return Err(format!("{at}: {ENCRYPTED} applies to strings only"));
    }
    Ok(ty)
}

fn check_unsupported(obj: &SchemaObject, at: &str) -> Result<(), String> {
    let mut unsupported = String::new();
    if obj.subschemas.is_some() {
        unsupported.push_str(" allOf/anyOf/oneOf/not/if");
    }
    if obj.const_value.is_some() {
        unsupported.push_str(" const");
    }
    if obj.enum_values.is_some() && obj.reference.is_none() && obj.object.is_some() {
        unsupported.push_str(" enum-on-object");
    }
    if unsupported.is_empty() {
        Ok(())
    } else {
        let mut msg = format!("{at}: unsupported keywords:");
        let _ = write!(msg, "{unsupported}");
        Err(msg)
    }
}

fn check_extensions(obj: &SchemaObject, allowed: &[&str], at: &str) -> Result<(), String> {
    for key in obj.extensions.keys() {
        if key != "$comment" && !allowed.contains(&key.as_str()) {
            return Err(format!(
                "{at}: unknown or misplaced keyword `{key}` (the generator would ignore it; allowed here: {allowed:?})"
            ));
        }
    }
    Ok(())
}
