//! Helpers shared by the fuzz targets: cutting one fuzz input into the pieces an HTTP answer
//! or request is made of (header values, a body), the same way in every target.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Splits `data` at the first `sep` byte sequence: `(before, after)`; no separator → `(data, [])`.
pub fn split_once<'a>(data: &'a [u8], sep: &[u8]) -> (&'a [u8], &'a [u8]) {
    match data.windows(sep.len()).position(|w| w == sep) {
        Some(i) => (&data[..i], &data[i + sep.len()..]),
        None => (data, &[]),
    }
}

/// The input cut into a header block and a body at the first `\n\n`; header lines are
/// `\n`-separated raw values (any bytes) that go, in order, under `names`. Values that HTTP
/// cannot carry (control bytes) are left out, as a real HTTP stack would refuse them.
pub fn headers_and_body<'a>(data: &'a [u8], names: &[&'static str]) -> (HeaderMap, &'a [u8]) {
    let (head, body) = split_once(data, b"\n\n");
    let mut headers = HeaderMap::new();
    for (name, line) in names.iter().zip(head.split(|b| *b == b'\n')) {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    (headers, body)
}
