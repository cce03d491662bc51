//! Expiry of signed URLs, read from the URL itself (no request).
//!
//! Recognised forms:
//! - AWS SigV4: `X-Amz-Date=YYYYMMDDTHHMMSSZ` + `X-Amz-Expires=<seconds>`
//! - Google V4: `X-Goog-Date` + `X-Goog-Expires` (same formats)
//! - `Expires=<unix seconds>` (CloudFront, S3 SigV2, Google V2)
//! - Azure SAS: `se=<ISO-8601>` next to `sig=`
//!
//! Parameter names match case-insensitively. A malformed value is treated as "no expiry
//! known" (the HEAD request then decides), never as valid or expired.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use url::Url;

/// Longest `*-Expires` lifetime believed (SigV4 allows 7 days; anything past a year is junk).
const MAX_LIFETIME_SECS: i64 = 366 * 24 * 3600;

/// When the signed URL stops working, if the URL says so.
pub fn signed_url_expiry(url: &Url) -> Option<DateTime<Utc>> {
    let mut amz_date = None;
    let mut amz_expires = None;
    let mut goog_date = None;
    let mut goog_expires = None;
    let mut expires = None;
    let mut azure_end = None;
    let mut azure_sig = false;
    for (key, value) in url.query_pairs() {
        match key.to_ascii_lowercase().as_str() {
            "x-amz-date" => amz_date = Some(value.into_owned()),
            "x-amz-expires" => amz_expires = Some(value.into_owned()),
            "x-goog-date" => goog_date = Some(value.into_owned()),
            "x-goog-expires" => goog_expires = Some(value.into_owned()),
            "expires" => expires = Some(value.into_owned()),
            "se" => azure_end = Some(value.into_owned()),
            "sig" => azure_sig = true,
            _ => {}
        }
    }
    if let (Some(date), Some(lifetime)) = (amz_date, amz_expires) {
        return dated_expiry(&date, &lifetime);
    }
    if let (Some(date), Some(lifetime)) = (goog_date, goog_expires) {
        return dated_expiry(&date, &lifetime);
    }
    if let Some(epoch) = expires {
        let secs: i64 = epoch.trim().parse().ok()?;
        return DateTime::from_timestamp(secs, 0);
    }
    if let (Some(end), true) = (azure_end, azure_sig) {
        return DateTime::parse_from_rfc3339(&end)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    None
}

fn dated_expiry(date: &str, lifetime: &str) -> Option<DateTime<Utc>> {
    let signed = NaiveDateTime::parse_from_str(date.trim(), "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    let secs: i64 = lifetime.trim().parse().ok()?;
    if !(0..=MAX_LIFETIME_SECS).contains(&secs) {
        return None;
    }
    signed.checked_add_signed(TimeDelta::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiry(s: &str) -> Option<String> {
        signed_url_expiry(&Url::parse(s).unwrap()).map(|t| t.to_rfc3339())
    }

    #[test]
    fn aws_sigv4() {
        assert_eq!(
            expiry(
                "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Date=20261101T091600Z&X-Amz-Expires=600&X-Amz-Signature=ab"
            ),
            Some("2026-11-01T09:26:00+00:00".into())
        );
        assert_eq!(
            expiry("https://h/k?x-amz-date=20261101T000000Z&x-amz-expires=60"),
            Some("2026-11-01T00:01:00+00:00".into())
        );
    }

    #[test]
    fn google_v4_expires_epoch_and_azure() {
        assert_eq!(
            expiry("https://h/k?X-Goog-Date=20261101T000000Z&X-Goog-Expires=3600"),
            Some("2026-11-01T01:00:00+00:00".into())
        );
        assert_eq!(
            expiry("https://d.cloudfront.net/k?Expires=1793520000&Signature=x"),
            Some("2026-11-01T08:00:00+00:00".into())
        );
        assert_eq!(
            expiry("https://a.blob.core.windows.net/c/b?se=2026-11-01T10:00:00Z&sig=abc"),
            Some("2026-11-01T10:00:00+00:00".into())
        );
    }

    #[test]
    fn unsigned_or_malformed_urls_have_no_known_expiry() {
        assert_eq!(expiry("https://h/k"), None);
        assert_eq!(
            expiry("https://h/k?se=2026-11-01T10:00:00Z"),
            None,
            "se without sig is not a SAS"
        );
        assert_eq!(
            expiry("https://h/k?X-Amz-Date=yesterday&X-Amz-Expires=60"),
            None
        );
        assert_eq!(
            expiry("https://h/k?X-Amz-Date=20261101T000000Z&X-Amz-Expires=-5"),
            None
        );
        assert_eq!(
            expiry("https://h/k?X-Amz-Date=20261101T000000Z&X-Amz-Expires=999999999999"),
            None
        );
        assert_eq!(expiry("https://h/k?Expires=soon"), None);
    }
}
