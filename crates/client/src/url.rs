//! The request-target: the path and query exactly as sent, and signed.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use wechatpay_card_models::{Endpoint, EndpointRequest};

/// Everything but RFC 3986's unreserved characters is percent-encoded, in path segments and
/// query values alike: a `/` or `?` in a card code can never change the path, and the encoded
/// text is the same whoever re-parses it, so what is signed is what the server receives.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path with its parameters filled in, then `?` and the query: the exact string signed in
/// the Authorization header and sent on the request line.
pub(crate) fn request_target<R: EndpointRequest>(request: &R) -> String {
    let template = R::Endpoint::PATH_TEMPLATE;
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        // The generated request has every parameter of its template (the generator checks
        // the template against the parameters), so the lookup cannot miss.
        out.extend(utf8_percent_encode(
            request.path_param(name).unwrap_or_default(),
            ENCODE,
        ));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let mut separator = '?';
    for name in R::Endpoint::QUERY_PARAMS {
        if let Some(value) = request.query_param(name) {
            out.push(separator);
            out.push_str(name);
            out.push('=');
            out.extend(utf8_percent_encode(&value, ENCODE));
            separator = '&';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use wechatpay_card_models::{UpdateUserCardBody, UpdateUserCardRequest};

    use super::*;

    fn target(code: &str, card_id: &str) -> String {
        request_target(&UpdateUserCardRequest::new(
            code,
            card_id,
            UpdateUserCardBody::new("b", "o"),
        ))
    }

    #[test]
    fn fills_the_template_and_the_query() {
        assert_eq!(
            target("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0"),
            "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0"
        );
    }

    #[test]
    fn encodes_everything_but_unreserved_characters() {
        assert_eq!(
            target("a/b?c#d e%f", "x&y=z+~._-"),
            "/v3/brand/partner/card-member/user-cards/a%2Fb%3Fc%23d%20e%25f?card_id=x%26y%3Dz%2B~._-"
        );
        assert_eq!(
            target("会员", "a"),
            "/v3/brand/partner/card-member/user-cards/%E4%BC%9A%E5%91%98?card_id=a"
        );
    }

    /// The client joins each target to the parsed base URL: what is sent on the request line
    /// must be exactly the target signed, whatever characters the parameters hold.
    #[test]
    fn the_url_sent_holds_the_target_signed_unchanged() {
        let printable: String = (b'!'..=b'~').map(char::from).collect();
        let base = reqwest::Url::parse("https://api.mch.weixin.qq.com").unwrap();
        for (code, card_id) in [
            ("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0"),
            (printable.as_str(), printable.as_str()),
            ("...", "%2e%2E"),
            ("会员 卡", "a b\tc"),
        ] {
            let signed = target(code, card_id);
            let url = base.join(&signed).unwrap();
            assert_eq!(url.host_str(), Some("api.mch.weixin.qq.com"));
            let sent = format!("{}?{}", url.path(), url.query().unwrap());
            assert_eq!(sent, signed, "{code:?} {card_id:?}");
        }
    }
}
