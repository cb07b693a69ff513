//! Object keys as events carry them: S3 notifications form-encode keys (`+` for a space,
//! `%XX` for other bytes); decoding is the first thing done with any key.

/// Decodes a key as S3 writes it into notifications: form encoding, so `+` is a space and
/// `%XX` a byte (a literal `+` arrives as `%2B`, a literal `%` as `%25`). The order matters:
/// `+` first, then `%`. A `%` not followed by two hex digits is no key S3 wrote: refused, not
/// passed through (it would name an object, and a job, that was never uploaded).
pub fn decode_key(raw: &str) -> Result<String, String> {
    let b = raw.as_bytes();
    if let Some(at) = (0..b.len())
        .find(|&i| b[i] == b'%' && !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()))
    {
        return Err(format!(
            "key {raw:?} is not form-encoded as S3 writes keys: '%' at byte {at} is not followed by two hex digits"
        ));
    }
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    let key = String::from_utf8(bytes).map_err(|_| format!("key {raw:?} does not decode to UTF-8"))?;
    if key.is_empty() {
        return Err("empty key".into());
    }
    Ok(key)
}

/// Encodes a key the way S3 does in notifications (the inverse of [`decode_key`]), for
/// building test and sample events.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
