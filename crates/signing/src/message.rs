//! The exact byte strings that are signed, on both sides of the protocol.

/// `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`: what the merchant signs for a request.
pub(crate) fn request_message(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = Vec::with_capacity(
        method.len() + url.len() + timestamp.len() + nonce.len() + body.len() + 5,
    );
    for line in [
        method.as_bytes(),
        url.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        message.extend_from_slice(line);
        message.push(b'\n');
    }
    message
}

/// `TIMESTAMP\nNONCE\nBODY\n`: what WeChat Pay signs for a response or a callback.
pub(crate) fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for line in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        message.extend_from_slice(line);
        message.push(b'\n');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_end_every_line_with_newline() {
        assert_eq!(
            request_message("GET", "/v3/x?a=1", "1", "n", b""),
            b"GET\n/v3/x?a=1\n1\nn\n\n"
        );
        assert_eq!(response_message("1", "n", b"{}"), b"1\nn\n{}\n");
    }
}
