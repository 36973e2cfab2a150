//! JSON paths of fields, as validation errors and the sensitive-field walk name them.

use std::fmt;

/// The path of a field inside a request or response, e.g. `user_information.custom_field_list[0].name`.
///
/// Paths are built while walking a value: [`FieldPath::push_field`] and [`FieldPath::push_index`]
/// return a [`Mark`] that [`FieldPath::truncate`] goes back to, so one buffer serves a whole walk.
///
/// ```
/// use wechatpay_card_models::runtime::FieldPath;
///
/// let mut path = FieldPath::root();
/// let mark = path.push_field("user_information");
/// path.push_field("custom_field_list");
/// path.push_index(0);
/// path.push_field("name");
/// assert_eq!(path.as_str(), "user_information.custom_field_list[0].name");
/// path.truncate(mark);
/// assert_eq!(path.as_str(), "");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    buf: String,
}

/// A position in a [`FieldPath`] to go back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

impl FieldPath {
    /// The empty path: the value itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// Appends `.name` (or `name` at the root) and returns where the path was before.
    pub fn push_field(&mut self, name: &str) -> Mark {
        let mark = Mark(self.buf.len());
        if !self.buf.is_empty() {
            self.buf.push('.');
        }
        self.buf.push_str(name);
        mark
    }

    /// Appends `[index]` and returns where the path was before.
    pub fn push_index(&mut self, index: usize) -> Mark {
        use fmt::Write as _;
        let mark = Mark(self.buf.len());
        // Writing to a String cannot fail.
        let _ = write!(self.buf, "[{index}]");
        mark
    }

    /// Goes back to `mark`.
    pub fn truncate(&mut self, mark: Mark) {
        self.buf.truncate(mark.0);
    }

    /// The path as text; empty for the root.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.buf.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.buf.is_empty() {
            "(root)"
        } else {
            &self.buf
        })
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.buf, f)
    }
}
