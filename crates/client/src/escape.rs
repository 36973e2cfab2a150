//! Text from the network, made safe to print.
//!
//! An error answer's `message`, a `Request-ID`, a non-JSON body: a hostile or broken server
//! chooses these bytes. Printed raw, `ESC ] 0;title BEL` retitles the terminal, `ESC [2J`
//! clears it, a bare CR overwrites the line before it, and a U+202E reverses what follows.
//! Every such string reaches `Display`, `Debug` and the logs through [`Untrusted`].

use std::fmt;

/// Displays a string with every control character (C0, DEL, C1) and every Unicode
/// bidirectional-formatting character escaped as `\u{…}` (`\n`, `\r`, `\t` as themselves,
/// escaped); everything else as it is, Chinese text included.
///
/// ```
/// use wechatpay_card_client::Untrusted;
///
/// let message = "参数错误\u{1b}]0;pwned\u{7}\r";
/// assert_eq!(Untrusted(message).to_string(), r"参数错误\u{1b}]0;pwned\u{7}\r");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let Some(c) = rest[at..].chars().next() else {
                break;
            };
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Control characters, and the bidirectional formatting characters that reorder what a
/// terminal shows (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with [`Untrusted`]'s escapes, as an owned string (for a log field).
pub(crate) fn escaped(text: &str) -> String {
    Untrusted(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        for (raw, shown) in [
            ("\u{1b}]0;title\u{7}", r"\u{1b}]0;title\u{7}"),
            ("\u{1b}[2J\u{1b}[31mred", r"\u{1b}[2J\u{1b}[31mred"),
            ("ok\rfake", r"ok\rfake"),
            ("a\nb\tc", r"a\nb\tc"),
            ("\u{9b}31m", r"\u{9b}31m"),
            ("\u{7f}", r"\u{7f}"),
            ("abc\u{202e}fed", r"abc\u{202e}fed"),
            ("参数错误: 会员卡不存在", "参数错误: 会员卡不存在"),
            ("", ""),
        ] {
            assert_eq!(Untrusted(raw).to_string(), shown, "{raw:?}");
        }
    }

    #[test]
    fn nothing_printable_is_left_unescaped() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let shown = Untrusted(&c.to_string()).to_string();
            assert!(!shown.chars().any(needs_escape), "{c:?} shown as {shown:?}");
        }
    }
}
