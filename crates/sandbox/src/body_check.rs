//! The request body's checks: the JSON Schema (`SCHEMA_JSON`, with formats) through the
//! jsonschema crate, then what JSON Schema cannot say (the models' strict parse and
//! [`Validate`]: characters outside the Basic Multilingual Plane, RFC 3339 and URL rules).

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wechatpay_card_models::runtime::{LenientDeserialize, StrictFields};
use wechatpay_card_models::{Validate, from_json_strict};

use crate::SandboxError;
use crate::answer::{ApiError, Location};

/// The schema keyword marking an encrypted field.
const ENCRYPTED: &str = "x-wechatpay-encrypted";
/// An offending value is echoed in `detail.value` only when its JSON is this short.
const MAX_ECHO: usize = 256;
/// The message lists at most this many problems.
const MAX_LISTED: usize = 10;

/// One broken rule, with the field's path (`user_information.custom_field_list[0].name`).
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) field: Option<String>,
    pub(crate) issue: String,
}

/// One request body's compiled schema and the shapes of its sensitive fields.
pub(crate) struct BodyChecker {
    validator: jsonschema::Validator,
    /// Paths of encrypted fields with `[]` for any index, e.g.
    /// `user_information.common_field_list[].value`.
    sensitive: Vec<String>,
}

impl BodyChecker {
    /// The checker of the body defined as `definitions.<definition>` in the schema.
    #[cfg(test)]
    pub(crate) fn new(definition: &str) -> Result<Self, SandboxError> {
        let schema: Value = serde_json::from_str(wechatpay_card_models::SCHEMA_JSON)
            .map_err(|e| SandboxError::Schema(e.to_string()))?;
        Self::from_schema(&schema, definition)
    }

    /// The checker of `definitions.<definition>` in `schema`.
    pub(crate) fn from_schema(schema: &Value, definition: &str) -> Result<Self, SandboxError> {
        let definitions = schema
            .get("definitions")
            .cloned()
            .ok_or_else(|| SandboxError::Schema("no definitions".to_owned()))?;
        // The body's definition as the root, the other definitions beside it for its `$ref`s.
        let root = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": format!("#/definitions/{definition}"),
            "definitions": definitions,
        });
        let mut root = root;
        if let (Some(id), Some(root)) = (schema.get("$id"), root.as_object_mut()) {
            root.insert("$id".to_owned(), id.clone());
        }
        let validator = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| SandboxError::Schema(e.to_string()))?;
        let body = definitions.get(definition).ok_or_else(|| {
            SandboxError::Schema(format!("no definition {definition} for a request body"))
        })?;
        let mut sensitive = Vec::new();
        sensitive_shapes(&definitions, body, "", 0, &mut sensitive);
        Ok(Self {
            validator,
            sensitive,
        })
    }

    /// Whether the field at `path` (or a value inside it) is encrypted on the wire.
    pub(crate) fn is_sensitive(&self, path: &str) -> bool {
        let shape = shape_of(path);
        self.sensitive.iter().any(|s| {
            shape == *s
                || shape
                    .strip_prefix(s.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }

    /// Checks a body, as received, against everything the page says of it; the body read
    /// (sensitive fields still encrypted) and its JSON.
    pub(crate) fn check<B>(&self, bytes: &[u8]) -> Result<(B, Value), ApiError>
    where
        B: DeserializeOwned + LenientDeserialize + Validate + StrictFields,
    {
        if let Err(e) = std::str::from_utf8(bytes) {
            return Err(ApiError::param(
                Location::Body,
                None,
                None,
                format!(
                    "the body is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            ));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::param(
                Location::Body,
                None,
                None,
                format!("the body is not valid JSON: {e}"),
            )
        })?;

        // A key given twice would read two ways (serde_json keeps the last one, another parser
        // the first): refused at any depth, before anything reads the body.
        if let Some(field) = duplicate_key(bytes) {
            return Err(ApiError::param(
                Location::Body,
                Some(field),
                None,
                "is given more than once (duplicate JSON key)",
            ));
        }

        let mut problems = Vec::new();
        for error in self.validator.iter_errors(&value) {
            schema_problems(&error, &mut problems);
        }
        if problems.is_empty() {
            // What JSON Schema cannot say; also catches anything the two disagree on.
            if let Err(report) = from_json_strict::<B>(bytes) {
                problems.extend(report.violations().iter().map(|v| Problem {
                    field: Some(v.path().to_owned()).filter(|p| !p.is_empty()),
                    issue: v.rule().to_string(),
                }));
            }
        }
        if !problems.is_empty() {
            return Err(self.report(problems, &value));
        }
        let body: B = serde_json::from_value(value.clone()).map_err(|e| {
            ApiError::param(Location::Body, None, None, format!("invalid body: {e}"))
        })?;
        Ok((body, value))
    }

    /// Checks the body once its sensitive fields are decrypted (the plaintexts must be BMP text
    /// like every other string).
    pub(crate) fn check_plaintext<B: Validate>(&self, body: &B) -> Result<(), ApiError> {
        match body.validate() {
            Ok(()) => Ok(()),
            Err(report) => {
                let problems = report
                    .violations()
                    .iter()
                    .map(|v| Problem {
                        field: Some(v.path().to_owned()).filter(|p| !p.is_empty()),
                        issue: format!("after decryption: {}", v.rule()),
                    })
                    .collect();
                Err(self.report(problems, &Value::Null))
            }
        }
    }

    /// A PARAM_ERROR listing the problems; `detail` names the first, with its value unless the
    /// field is sensitive or the value long.
    fn report(&self, problems: Vec<Problem>, body: &Value) -> ApiError {
        let count = problems.len();
        let mut listed: Vec<String> = problems
            .iter()
            .take(MAX_LISTED)
            .map(|p| match &p.field {
                Some(field) => format!("{field}: {}", p.issue),
                None => p.issue.clone(),
            })
            .collect();
        if count > MAX_LISTED {
            listed.push(format!("and {} more", count - MAX_LISTED));
        }
        let Some(first) = problems.into_iter().next() else {
            return ApiError::param(Location::Body, None, None, "invalid body");
        };
        let value = first
            .field
            .as_deref()
            .filter(|field| !self.is_sensitive(field))
            .and_then(|field| lookup(body, field))
            .filter(|v| v.to_string().len() <= MAX_ECHO)
            .cloned();
        let mut error = ApiError::param(Location::Body, first.field, value, first.issue);
        error.message = if count == 1 {
            format!("输入参数有误 (invalid body): {}", listed.join("; "))
        } else {
            format!(
                "输入参数有误 (invalid body): {count} problems: {}",
                listed.join("; ")
            )
        };
        error
    }
}

/// Longest field path named for a duplicate key (the key itself is the sender's text).
const MAX_PATH_CHARS: usize = 256;

/// The path (`a.b[0].c`) of the first key given twice in one object, at any depth, of a body
/// already known to be JSON within the parser's depth limit.
fn duplicate_key(bytes: &[u8]) -> Option<String> {
    use serde::de::DeserializeSeed as _;
    let walk = KeyWalk {
        at: &std::cell::RefCell::new(Vec::new()),
        found: &std::cell::RefCell::new(None),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    // The only error a valid body can give here is the one the walk raises on a duplicate.
    let _ = walk.deserialize(&mut deserializer);
    walk.found.take()
}

/// One step of the path to a value.
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[0].c`, at most [`MAX_PATH_CHARS`] characters.
fn path_of(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Step::Index(i) => path.push_str(&format!("[{i}]")),
        }
        if path.chars().count() > MAX_PATH_CHARS {
            let mut short: String = path.chars().take(MAX_PATH_CHARS).collect();
            short.push('…');
            return short;
        }
    }
    path
}

/// A walk over a JSON value that fails at the first object key seen twice, recording its path.
/// The path so far is a stack of steps, formatted only when a duplicate is found.
#[derive(Clone, Copy)]
struct KeyWalk<'a> {
    at: &'a std::cell::RefCell<Vec<Step>>,
    found: &'a std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for KeyWalk<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyWalk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            self.at.borrow_mut().push(Step::Index(index));
            let more = seq.next_element_seed(self)?.is_some();
            self.at.borrow_mut().pop();
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys compared as parsed: `"a"` and `"\u0061"` are one key.
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = !seen.insert(key.clone());
            self.at.borrow_mut().push(Step::Key(key));
            if duplicate {
                *self.found.borrow_mut() = Some(path_of(&self.at.borrow()));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value_seed(self)?;
            self.at.borrow_mut().pop();
        }
        Ok(())
    }
}

/// The problems one jsonschema error stands for, with field paths in the models' notation.
fn schema_problems(error: &jsonschema::ValidationError<'_>, out: &mut Vec<Problem>) {
    use jsonschema::error::ValidationErrorKind as Kind;
    let path = dotted(error.instance_path());
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match error.kind() {
        Kind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                out.push(Problem {
                    field: Some(join(name)),
                    issue: "is not a field of this object (the page does not define it)".to_owned(),
                });
            }
        }
        Kind::Required { property } => out.push(Problem {
            field: Some(join(property.as_str().unwrap_or_default())),
            issue: "is required".to_owned(),
        }),
        _ => out.push(Problem {
            field: Some(path).filter(|p| !p.is_empty()),
            issue: error.masked_with("the value").to_string(),
        }),
    }
}

/// A JSON pointer location as `a.b[0].c`.
fn dotted(location: &jsonschema::paths::Location) -> String {
    use jsonschema::paths::LocationSegment;
    let mut path = String::new();
    for segment in location.segments() {
        match segment {
            LocationSegment::Index(i) => path.push_str(&format!("[{i}]")),
            LocationSegment::Property(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name);
            }
        }
    }
    path
}

/// The value at a path in the models' notation (`a.b[0].c`).
fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = root;
    for part in path.split('.') {
        let (name, mut indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            current = current.get(name)?;
        }
        while let Some(rest) = indexes.strip_prefix('[') {
            let end = rest.find(']')?;
            current = current.get(rest[..end].parse::<usize>().ok()?)?;
            indexes = &rest[end + 1..];
        }
    }
    Some(current)
}

/// `a[3].b[12]` → `a[].b[]`.
fn shape_of(path: &str) -> String {
    let mut shape = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                shape.push('[');
            }
            ']' => {
                in_index = false;
                shape.push(']');
            }
            _ if in_index => {}
            _ => shape.push(c),
        }
    }
    shape
}

/// Collects the shapes of the encrypted fields under `schema`, following `$ref`s.
fn sensitive_shapes(
    definitions: &Value,
    schema: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > 16 {
        return;
    }
    let schema = resolve(definitions, schema);
    if schema.get(ENCRYPTED).and_then(Value::as_bool) == Some(true) {
        out.push(path.to_owned());
        return;
    }
    if let Some(items) = schema.get("items") {
        sensitive_shapes(definitions, items, &format!("{path}[]"), depth + 1, out);
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            sensitive_shapes(definitions, property, &child, depth + 1, out);
        }
    }
}

/// A schema with its local `$ref` followed (the property's own keywords win over the target's
/// only for the encryption mark, which sits beside the type).
fn resolve<'a>(definitions: &'a Value, schema: &'a Value) -> &'a Value {
    if schema.get(ENCRYPTED).is_some() {
        return schema;
    }
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

    use wechatpay_card_models::UpdateUserCardBody;

    fn checker() -> BodyChecker {
        BodyChecker::new("UpdateUserCardBody").unwrap()
    }

    impl BodyChecker {
        fn check_update(&self, bytes: &[u8]) -> Result<(UpdateUserCardBody, Value), ApiError> {
            self.check::<UpdateUserCardBody>(bytes)
        }
    }

    fn detail(error: &ApiError) -> (Option<&str>, Option<&Value>, &str) {
        let d = error.detail.as_ref().unwrap();
        (
            d.field.as_deref(),
            d.value.as_ref(),
            d.location.as_deref().unwrap(),
        )
    }

    #[test]
    fn the_sensitive_fields_come_from_the_schema() {
        let c = checker();
        let mut shapes = c.sensitive.clone();
        shapes.sort();
        assert_eq!(
            shapes,
            [
                "phone_number",
                "user_information.common_field_list[].value",
                "user_information.custom_field_list[].user_chosen_values[]",
            ]
        );
        assert!(c.is_sensitive("user_information.custom_field_list[3].user_chosen_values[12]"));
        assert!(c.is_sensitive("phone_number"));
        assert!(!c.is_sensitive("phone_number_2"));
        assert!(!c.is_sensitive("user_information.custom_field_list[3].name"));
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        let c = checker();
        let cases: &[(&str, &str)] = &[
            (
                r#"{"brand_id":"9999","openid":"o","level":"金卡","brand_id":"1004"}"#,
                "brand_id",
            ),
            // The same key once escaped: one key once parsed.
            (r#"{"brand_id":"1004","openid":"o","openid":"p"}"#, "openid"),
            (
                r#"{"brand_id":"1004","openid":"o","brand\u005fid":"9999"}"#,
                "brand_id",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","valid_date_information":{"type":"FIX_TERM","type":"PERMANENT"}}"#,
                "valid_date_information.type",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","user_information":{"custom_field_list":[{"name":"a","user_chosen_values":[]},{"name":"b","name":"c","user_chosen_values":[]}]}}"#,
                "user_information.custom_field_list[1].name",
            ),
            // Not a field of the page, not at the top: still a duplicate first.
            (r#"{"x":[[{"y":1,"y":2}]]}"#, "x[0][0].y"),
        ];
        for (body, field) in cases {
            let error = c.check_update(body.as_bytes()).unwrap_err();
            assert_eq!(error.code, "PARAM_ERROR", "{body}");
            assert_eq!(detail(&error), (Some(*field), None, "body"), "{body}");
            assert!(
                error.message.contains("more than once"),
                "{}",
                error.message
            );
        }
        // The same key in two objects is not a duplicate.
        let body = r#"{"brand_id":"1004","openid":"o","user_information":{"custom_field_list":[{"name":"a","user_chosen_values":["x"]},{"name":"b","user_chosen_values":["y"]}]}}"#;
        assert!(c.check_update(body.as_bytes()).is_ok());
        // A long key is named in at most 256 characters.
        let long = "k".repeat(1000);
        let body = format!(r#"{{"{long}":1,"{long}":2}}"#);
        let field = detail(&c.check_update(body.as_bytes()).unwrap_err())
            .0
            .unwrap()
            .to_owned();
        assert_eq!(field.chars().count(), 257);
    }

    #[test]
    fn the_pages_example_passes() {
        let body = r##"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","card_color":"#FFFF00",
            "card_picture_url":"https://wxpaylogo.qpic.cn/wxpaylogo/x/0","level":"钻石会员",
            "valid_date_information":{"type":"PERMANENT","available_begin_time":"2020-05-20T13:29:35.120+08:00",
            "available_end_time":"2020-05-20T13:29:35.120+08:00","available_day_after_receive":30},
            "user_information":{"custom_field_list":[{"name":"喜欢的运动","user_chosen_values":["x"]}]},
            "attach":"自定义数据说明"}"##;
        let (body, value) = checker().check_update(body.as_bytes()).unwrap();
        assert_eq!(body.level.as_deref(), Some("钻石会员"));
        assert!(value["user_information"].get("custom_field_list").is_some());
    }

    #[test]
    fn each_rule_is_named_with_its_field() {
        let c = checker();
        let cases: &[(&str, &str)] = &[
            (r#"{"brand_id":"1004"}"#, "openid"),
            (
                r#"{"brand_id":"1004","openid":"o","level":"一二三四五六七八九十一"}"#,
                "level",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","card_color":"yellow"}"#,
                "card_color",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","card_picture_url":"not a url"}"#,
                "card_picture_url",
            ),
            (r#"{"brand_id":"1004","openid":"o","levle":"x"}"#, "levle"),
            (
                r#"{"brand_id":"1004","openid":"o","user_card_code":"1"}"#,
                "user_card_code",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","valid_date_information":{"type":"SOMETIMES"}}"#,
                "valid_date_information.type",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","valid_date_information":{"type":"FIX_TERM","available_day_after_receive":-1}}"#,
                "valid_date_information.available_day_after_receive",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","valid_date_information":{"type":"FIX_TIME_RANGE","available_begin_time":"yesterday"}}"#,
                "valid_date_information.available_begin_time",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","attach":"🙂"}"#,
                "attach",
            ),
            (
                r#"{"brand_id":"1004","openid":"o","user_information":{"custom_field_list":[{"name":"a","extra":1}]}}"#,
                "user_information.custom_field_list[0].extra",
            ),
            (r#"{"brand_id":5,"openid":"o"}"#, "brand_id"),
        ];
        for (body, field) in cases {
            let error = c.check_update(body.as_bytes()).unwrap_err();
            assert_eq!(error.code, "PARAM_ERROR", "{body}");
            let (f, _, location) = detail(&error);
            assert_eq!(f, Some(*field), "{body}: {}", error.message);
            assert_eq!(location, "body");
        }
    }

    #[test]
    fn sensitive_values_are_never_echoed() {
        let c = checker();
        let body = r#"{"brand_id":"1004","openid":"o","phone_number":13800138000}"#;
        let error = c.check_update(body.as_bytes()).unwrap_err();
        let (field, value, _) = detail(&error);
        assert_eq!(field, Some("phone_number"));
        assert_eq!(value, None);
        assert!(!error.message.contains("13800138000"), "{}", error.message);
        let body = r#"{"brand_id":"1004","openid":"o","user_information":{"common_field_list":[{"name":"USER_FORM_FLAG_NAME","value":12345678}]}}"#;
        let error = c.check_update(body.as_bytes()).unwrap_err();
        assert_eq!(detail(&error).1, None);
        assert!(!error.message.contains("12345678"), "{}", error.message);
        // A value that is not sensitive is echoed.
        let error = c
            .check_update(br#"{"brand_id":"1004","openid":"o","card_color":"yellow"}"#)
            .unwrap_err();
        assert_eq!(detail(&error).1, Some(&json!("yellow")));
    }

    #[test]
    fn not_utf8_not_json_too_deep() {
        let c = checker();
        assert!(c.check_update(b"{\"brand_id\":\"\xff\"}").is_err());
        assert!(c.check_update(b"").is_err());
        assert!(c.check_update(b"[]").is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(c.check_update(deep.as_bytes()).is_err());
        let deep = format!(
            r#"{{"brand_id":"1004","openid":"o","attach":{}1{}}}"#,
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(c.check_update(deep.as_bytes()).is_err());
    }

    #[test]
    fn lookup_and_shapes() {
        let v = json!({"a": {"b": [{"c": 1}, {"c": [5, 6]}]}});
        assert_eq!(lookup(&v, "a.b[1].c[1]"), Some(&json!(6)));
        assert_eq!(lookup(&v, "a.x"), None);
        assert_eq!(shape_of("a.b[1].c[10]"), "a.b[].c[]");
    }
}
