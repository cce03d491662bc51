//! Attachment downloads: `GET`/`HEAD /__media/{attachmentId}/{filename}?X-Amz-...`.
//!
//! Answers like the object store behind the platform's signed URLs: 200 with the bytes (whose
//! SHA-256 is the message's `sha256`); for an expired attachment 403 `AccessDenied` ("Request
//! has expired") or, for about half of them, 404 `NoSuchKey`; a wrong signature 403
//! `SignatureDoesNotMatch`; an unknown id 404. Error bodies are S3-style XML, not Genesys JSON.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, Uri, header};

use super::shared::{AppState, query};

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

pub(crate) async fn download(
    State(state): State<AppState>,
    Path((attachment_id, _filename)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let Some(a) = state.data.attachment_by_id(&attachment_id) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let q = query(&uri);
    let signature_ok = q
        .get("X-Amz-Signature")
        .is_some_and(|s| *s == state.data.attachment_signature(&a));
    if !signature_ok {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    if a.expired {
        return if a.gone {
            s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            )
        } else {
            s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
        };
    }
    let body = state.data.attachment_body(&a);
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    r
}
