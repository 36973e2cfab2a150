//! Validation of requests against the schema's limits, before anything is sent.

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

use crate::path::Mark;
use crate::runtime::{FieldPath, LenientDeserialize};

/// A value that can be checked against the schema's limits.
///
/// The generated types implement it from the schema: lengths in characters (not bytes), only
/// characters of the Basic Multilingual Plane, patterns, RFC 3339 times, enum values, integer
/// bounds, no `.` or `..` as a path parameter. Every violation is reported, each with the path of
/// its field.
///
/// The Basic Multilingual Plane rule: WeChat Pay APIv3 accepts only characters of 1 to 3 bytes in
/// UTF-8, so a character of 4 bytes (an emoji, a rare CJK ideograph) is refused. It applies to
/// the plaintext of encrypted fields too: only base64 goes on the wire, but WeChat Pay decrypts the
/// field and stores the plaintext, which must follow the same rule.
///
/// ```
/// use wechatpay_card_models::{UpdateUserCardBody, Validate};
///
/// // The page's own example level: 4 characters, 12 bytes, under string(10).
/// let ok = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA").with_level("钻石会员");
/// assert!(ok.validate().is_ok());
///
/// let bad = ok.with_card_color("yellow").with_attach("🙂");
/// let report = bad.validate().unwrap_err();
/// let paths: Vec<&str> = report.violations().iter().map(|v| v.path()).collect();
/// assert_eq!(paths, ["card_color", "attach"]);
/// ```
pub trait Validate {
    /// Records the violations of `self` (found at `v`'s current path) in `v`. For the generated
    /// code: call [`Validate::validate`].
    #[doc(hidden)]
    fn validate_into(&self, v: &mut Validator);

    /// Checks `self`, returning every violation found.
    fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        self.validate_into(&mut v);
        v.finish()
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate_into(&self, v: &mut Validator) {
        if let Some(value) = self {
            value.validate_into(v);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_into(&self, v: &mut Validator) {
        for (i, item) in self.iter().enumerate() {
            let mark = v.enter_index(i);
            item.validate_into(v);
            v.leave(mark);
        }
    }
}

/// Finds, in a JSON value, the fields a type does not define (for types whose schema says
/// `additionalProperties: false`: WeChat Pay answers PARAM_ERROR to a field it does not know).
///
/// Implemented by the generated types; [`from_json_strict`](crate::from_json_strict) uses it.
pub trait StrictFields {
    /// Records each unknown field of `value` (and of the objects inside it) in `v`.
    #[doc(hidden)]
    fn unknown_fields(value: &serde_json::Value, v: &mut Validator);
}

impl<T: StrictFields> StrictFields for Vec<T> {
    fn unknown_fields(value: &serde_json::Value, v: &mut Validator) {
        if let Some(items) = value.as_array() {
            for (i, item) in items.iter().enumerate() {
                let mark = v.enter_index(i);
                T::unknown_fields(item, v);
                v.leave(mark);
            }
        }
    }
}

impl<T: StrictFields> StrictFields for Option<T> {
    fn unknown_fields(value: &serde_json::Value, v: &mut Validator) {
        T::unknown_fields(value, v);
    }
}

/// Parses JSON written by a person (a request body in a file, say) into `T`, strictly: every
/// field `T` does not define, every missing required field, every value of the wrong JSON type
/// and every limit of the schema are reported together, each with its path (`brand_id: missing`,
/// `level: expected a string, found a number`). Values of sensitive fields are never quoted in
/// the report.
///
/// It reads like [`crate::from_json_lenient`] and turns each correction into a violation; a
/// field reported missing or of the wrong type is not also checked against its limits.
///
/// ```
/// use wechatpay_card_models::{UpdateUserCardBody, from_json_strict};
///
/// let body: UpdateUserCardBody = from_json_strict(br#"{"brand_id": "1004", "openid": "o1", "level": "gold"}"#)?;
/// assert_eq!(body.level.as_deref(), Some("gold"));
///
/// let report = from_json_strict::<UpdateUserCardBody>(br#"{"openid": "o1", "levle": "gold", "level": 5}"#)
///     .unwrap_err();
/// assert_eq!(
///     report.to_string(),
///     "3 invalid fields:\n  - levle: is not a field of UpdateUserCardBody\n  - brand_id: missing\n  - level: expected a string, found a number"
/// );
/// # Ok::<(), wechatpay_card_models::ValidationError>(())
/// ```
pub fn from_json_strict<T>(json: &[u8]) -> Result<T, ValidationError>
where
    T: LenientDeserialize + Validate + StrictFields,
{
    match serde_json::from_slice(json) {
        Ok(value) => from_value_strict(value),
        Err(e) => {
            let mut v = Validator::new();
            v.report(Rule::Json {
                message: e.to_string(),
            });
            Err(ValidationError {
                violations: v.violations,
            })
        }
    }
}

/// [`from_json_strict`] of JSON already parsed, for a caller that holds the value (e.g. one
/// field of a larger document): the same checks and violations, without printing the value
/// and parsing it again.
///
/// ```
/// use wechatpay_card_models::{UpdateUserCardBody, from_value_strict};
///
/// let line: serde_json::Value = serde_json::from_str(r#"{"body": {"brand_id": "1004", "openid": "o1"}}"#)?;
/// let body: UpdateUserCardBody = from_value_strict(line["body"].clone())?;
/// assert_eq!(body.brand_id, "1004");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_value_strict<T>(value: serde_json::Value) -> Result<T, ValidationError>
where
    T: LenientDeserialize + Validate + StrictFields,
{
    let mut v = Validator::new();
    T::unknown_fields(&value, &mut v);
    let shape_from = v.violations.len();
    let Some(parsed) = T::read_lenient(value, &mut v) else {
        return Err(ValidationError {
            violations: v.violations,
        });
    };
    // A field already reported missing or of the wrong type holds a filled-in value: its limits
    // would only repeat the report.
    let corrected: Vec<String> = v.violations[shape_from..]
        .iter()
        .map(|c| c.path.clone())
        .collect();
    let mut limits = Validator::new();
    parsed.validate_into(&mut limits);
    v.violations.extend(
        limits
            .violations
            .into_iter()
            .filter(|l| !corrected.iter().any(|c| is_within(&l.path, c))),
    );
    v.finish().map(|()| parsed)
}

/// Whether `path` is `outer` or a field or item inside it.
fn is_within(path: &str, outer: &str) -> bool {
    path.strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Collects violations while walking a value; the generated `Validate` impls drive it.
#[derive(Debug, Default)]
pub struct Validator {
    path: FieldPath,
    violations: Vec<Violation>,
}

impl Validator {
    /// A validator at the root, with no violation yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Ok` when nothing was reported, else every violation in the order found.
    pub fn finish(self) -> Result<(), ValidationError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                violations: self.violations,
            })
        }
    }

    /// The violations recorded so far, as an error, for a caller that knows at least one was
    /// recorded (a generated builder after reporting a missing parameter).
    pub fn into_error(self) -> ValidationError {
        ValidationError {
            violations: self.violations,
        }
    }

    /// Moves into the field `name`; [`Validator::leave`] comes back.
    pub fn enter_field(&mut self, name: &str) -> Mark {
        self.path.push_field(name)
    }

    /// Moves into item `index` of an array; [`Validator::leave`] comes back.
    pub fn enter_index(&mut self, index: usize) -> Mark {
        self.path.push_index(index)
    }

    /// Goes back to where `mark` was taken.
    pub fn leave(&mut self, mark: Mark) {
        self.path.truncate(mark);
    }

    /// Validates a nested value in the field `name`.
    pub fn field<T: Validate + ?Sized>(&mut self, name: &str, value: &T) {
        let mark = self.enter_field(name);
        value.validate_into(self);
        self.leave(mark);
    }

    /// Records a violation at the current path.
    pub fn report(&mut self, rule: Rule) {
        self.violations.push(Violation {
            path: self.path.as_str().to_string(),
            rule,
        });
    }

    /// Checks a string at the current path.
    pub fn check_string(&mut self, value: &str, rules: &StringRules) {
        let mut chars = 0usize;
        let mut outside_bmp = None;
        for c in value.chars() {
            chars += 1;
            if outside_bmp.is_none() && c.len_utf8() > 3 {
                outside_bmp = Some(chars);
            }
        }
        if let Some(min) = rules.min_length
            && chars < min as usize
        {
            self.report(Rule::MinLength { min, actual: chars });
        }
        if let Some(max) = rules.max_length
            && chars > max as usize
        {
            self.report(Rule::MaxLength { max, actual: chars });
        }
        if let Some(position) = outside_bmp {
            self.report(Rule::OutsideBmp {
                position,
                encrypted: false,
            });
        }
        if let Some(pattern) = rules.pattern
            && !pattern.is_match(value)
        {
            self.report(Rule::Pattern {
                pattern: pattern.source,
            });
        }
        match rules.format {
            Some(Format::DateTime) if crate::Timestamp::parse(value).is_err() => {
                self.report(Rule::Format {
                    format: Format::DateTime,
                });
            }
            Some(Format::Uri) if !is_web_url(value) => {
                self.report(Rule::Format {
                    format: Format::Uri,
                });
            }
            _ => {}
        }
    }

    /// Checks the plaintext of an encrypted string at the current path, like
    /// [`Validator::check_string`]; a character outside the Basic Multilingual Plane is reported
    /// as such (WeChat Pay stores the decrypted plaintext, under the same rule as any string).
    pub fn check_sensitive(&mut self, value: &crate::SensitiveString, rules: &StringRules) {
        let from = self.violations.len();
        self.check_string(value.expose(), rules);
        for v in &mut self.violations[from..] {
            if let Rule::OutsideBmp { encrypted, .. } = &mut v.rule {
                *encrypted = true;
            }
        }
    }

    /// Checks that a path parameter is not `.` or `..`: a URL parser removes such a dot segment,
    /// so the request would go to another path than the one signed.
    pub fn check_path_segment(&mut self, value: &str) {
        if value == "." || value == ".." {
            self.report(Rule::DotSegment);
        }
    }

    /// Checks an integer at the current path.
    pub fn check_integer(&mut self, value: i64, rules: &IntegerRules) {
        if let Some(minimum) = rules.minimum
            && value < minimum
        {
            self.report(Rule::Minimum {
                minimum,
                actual: value,
            });
        }
        if let Some(maximum) = rules.maximum
            && value > maximum
        {
            self.report(Rule::Maximum {
                maximum,
                actual: value,
            });
        }
    }

    /// Checks the length of an array at the current path.
    pub fn check_items(&mut self, len: usize, min_items: Option<u32>, max_items: Option<u32>) {
        if let Some(min) = min_items
            && len < min as usize
        {
            self.report(Rule::MinItems { min, actual: len });
        }
        if let Some(max) = max_items
            && len > max as usize
        {
            self.report(Rule::MaxItems { max, actual: len });
        }
    }

    /// Checks that an open enum holds one of its documented values.
    pub fn check_enum<E: OpenEnum>(&mut self, value: &E) {
        if value.is_unknown() {
            self.report(Rule::Enum {
                allowed: E::KNOWN_VALUES,
                actual: value.as_str().to_string(),
            });
        }
    }

    /// Records an unknown field `name` of the type `of`, at the current path.
    pub fn unknown_field(&mut self, name: &str, of: &'static str) {
        let mark = self.enter_field(name);
        self.report(Rule::UnknownField { of });
        self.leave(mark);
    }
}

/// An absolute `http(s)://` URL with a host and no whitespace.
fn is_web_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        host_end > 0 && !value.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// The limits of a string field, as the schema gives them.
#[derive(Clone, Copy, Debug, Default)]
pub struct StringRules {
    /// `minLength`, in characters.
    pub min_length: Option<u32>,
    /// `maxLength`, in characters.
    pub max_length: Option<u32>,
    /// `pattern`.
    pub pattern: Option<&'static Pattern>,
    /// `format`.
    pub format: Option<Format>,
}

/// The limits of an integer field.
#[derive(Clone, Copy, Debug, Default)]
pub struct IntegerRules {
    /// `minimum`.
    pub minimum: Option<i64>,
    /// `maximum`.
    pub maximum: Option<i64>,
}

/// A schema `pattern`, compiled on first use.
#[derive(Debug)]
pub struct Pattern {
    source: &'static str,
    regex: OnceLock<Option<regex_lite::Regex>>,
}

impl Pattern {
    /// A pattern from its source (the generator checks that it compiles).
    pub const fn new(source: &'static str) -> Self {
        Self {
            source,
            regex: OnceLock::new(),
        }
    }

    /// The pattern as written in the schema.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether `value` matches (a pattern that does not compile matches nothing).
    pub fn is_match(&self, value: &str) -> bool {
        self.regex
            .get_or_init(|| regex_lite::Regex::new(self.source).ok())
            .as_ref()
            .is_some_and(|r| r.is_match(value))
    }
}

/// String formats the schema uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Format {
    /// RFC 3339 date-time with an offset.
    DateTime,
    /// An absolute http(s) URL.
    Uri,
}

/// A string enum that keeps values it does not know (`Unknown(String)`).
pub trait OpenEnum {
    /// The documented values, as sent on the wire.
    const KNOWN_VALUES: &'static [&'static str];
    /// The value as sent on the wire.
    fn as_str(&self) -> &str;
    /// Whether this is a value this version does not know.
    fn is_unknown(&self) -> bool;
}

/// One broken rule: where (`path`) and what (`rule`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    path: String,
    #[serde(flatten)]
    rule: Rule,
}

impl Violation {
    /// The JSON path of the field, e.g. `user_information.custom_field_list[0].name`; empty
    /// for the value as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The rule it broke.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(body)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.rule)
    }
}

/// The rules a value can break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// Shorter than `minLength` characters.
    MinLength {
        /// The limit.
        min: u32,
        /// The value's length in characters.
        actual: usize,
    },
    /// Longer than `maxLength` characters.
    MaxLength {
        /// The limit.
        max: u32,
        /// The value's length in characters.
        actual: usize,
    },
    /// Holds a character outside the Basic Multilingual Plane (4 bytes in UTF-8, e.g. an emoji):
    /// WeChat Pay APIv3 accepts only characters of 1 to 3 UTF-8 bytes, in the plaintext of
    /// encrypted fields too (it decrypts and stores them).
    OutsideBmp {
        /// The first such character's position, counted in characters from 1.
        position: usize,
        /// Whether the value is the plaintext of an encrypted field.
        encrypted: bool,
    },
    /// Does not match the schema's `pattern`.
    Pattern {
        /// The pattern.
        pattern: &'static str,
    },
    /// Not in the schema's `format`.
    Format {
        /// The format.
        format: Format,
    },
    /// Under `minimum`.
    Minimum {
        /// The limit.
        minimum: i64,
        /// The value.
        actual: i64,
    },
    /// Over `maximum`.
    Maximum {
        /// The limit.
        maximum: i64,
        /// The value.
        actual: i64,
    },
    /// Fewer items than `minItems`.
    MinItems {
        /// The limit.
        min: u32,
        /// The number of items.
        actual: usize,
    },
    /// More items than `maxItems`.
    MaxItems {
        /// The limit.
        max: u32,
        /// The number of items.
        actual: usize,
    },
    /// Not one of the enum's documented values.
    Enum {
        /// The documented values.
        allowed: &'static [&'static str],
        /// The value given.
        actual: String,
    },
    /// A path parameter that is `.` or `..`.
    DotSegment,
    /// A required field that is absent.
    Missing,
    /// A value of the wrong JSON type.
    WrongType {
        /// The type the field has, e.g. `a string`.
        expected: &'static str,
        /// The type of the value given, e.g. `a number` (never the value: it may be sensitive).
        found: &'static str,
    },
    /// A field the type does not define.
    UnknownField {
        /// The type.
        of: &'static str,
    },
    /// Not JSON.
    Json {
        /// What the parser said.
        message: String,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Rule::MinLength { min, actual } => {
                write!(
                    f,
                    "must be at least {min} character{} (is {actual})",
                    plural(*min as usize)
                )
            }
            Rule::MaxLength { max, actual } => {
                write!(
                    f,
                    "must be at most {max} character{} (is {actual})",
                    plural(*max as usize)
                )
            }
            Rule::OutsideBmp {
                position,
                encrypted,
            } => {
                write!(
                    f,
                    "character {position} is outside the Basic Multilingual Plane (4 bytes in UTF-8, \
                     e.g. an emoji): WeChat Pay APIv3 accepts only characters of 1-3 UTF-8 bytes"
                )?;
                if *encrypted {
                    f.write_str(
                        ", in encrypted fields too (only base64 is sent, but WeChat Pay stores \
                         the decrypted plaintext)",
                    )?;
                }
                Ok(())
            }
            Rule::Pattern { pattern } => write!(f, "must match the pattern {pattern}"),
            Rule::Format {
                format: Format::DateTime,
            } => f.write_str(
                "must be an RFC 3339 date-time with an offset, e.g. 2020-05-20T13:29:35.120+08:00",
            ),
            Rule::Format {
                format: Format::Uri,
            } => f.write_str("must be an absolute http(s) URL without spaces"),
            Rule::Minimum { minimum, actual } => {
                write!(f, "must be at least {minimum} (is {actual})")
            }
            Rule::Maximum { maximum, actual } => {
                write!(f, "must be at most {maximum} (is {actual})")
            }
            Rule::MinItems { min, actual } => {
                write!(
                    f,
                    "must have at least {min} item{} (has {actual})",
                    plural(*min as usize)
                )
            }
            Rule::MaxItems { max, actual } => {
                write!(
                    f,
                    "must have at most {max} item{} (has {actual})",
                    plural(*max as usize)
                )
            }
            Rule::Enum { allowed, actual } => {
                write!(f, "must be one of {} (is {actual:?})", allowed.join(", "))
            }
            Rule::DotSegment => f.write_str(
                "must not be `.` or `..`: a URL parser would remove it as a dot segment and send \
                 the request to another path than the one signed",
            ),
            Rule::Missing => f.write_str("missing"),
            Rule::WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            Rule::UnknownField { of } => write!(f, "is not a field of {of}"),
            Rule::Json { message } => f.write_str(message),
        }
    }
}

/// Every violation found in a value. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    violations: Vec<Violation>,
}

impl ValidationError {
    /// The violations, in the order found (declaration order of the fields).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Consumes the error into its violations.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.violations.len();
        write!(f, "{n} invalid field{}:", if n == 1 { "" } else { "s" })?;
        for v in &self.violations {
            write!(f, "\n  - {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        let mut v = Validator::new();
        let rules = StringRules {
            max_length: Some(10),
            ..StringRules::default()
        };
        v.check_string("钻石会员", &rules); // 4 characters, 12 bytes
        v.check_string("一二三四五六七八九十", &rules); // 10 characters, 30 bytes
        assert!(v.finish().is_ok());

        let mut v = Validator::new();
        v.check_string("一二三四五六七八九十一", &rules);
        let report = v.finish().unwrap_err();
        assert_eq!(
            report.violations()[0].rule(),
            &Rule::MaxLength {
                max: 10,
                actual: 11
            }
        );
    }

    #[test]
    fn rejects_characters_outside_the_bmp_only() {
        let mut v = Validator::new();
        // U+FFFF is the last 3-byte character; 中 and é are 3 and 2 bytes.
        v.check_string("中é\u{FFFF}a", &StringRules::default());
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        v.check_string("ab🙂c", &StringRules::default());
        let report = v.finish().unwrap_err();
        assert_eq!(
            report.violations()[0].rule(),
            &Rule::OutsideBmp {
                position: 3,
                encrypted: false
            }
        );
    }

    #[test]
    fn web_urls() {
        for ok in [
            "https://wxpaylogo.qpic.cn/wxpaylogo/x/0",
            "http://a",
            "https://a.b?x=1",
        ] {
            assert!(is_web_url(ok), "{ok}");
        }
        for bad in [
            "",
            "wxpaylogo.qpic.cn/x",
            "ftp://a/b",
            "https://",
            "https:///x",
            "https://a/b c",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
