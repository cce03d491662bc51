//! `POST /api/v2/analytics/conversations/details/query`: one page of a conversation details
//! query.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, JsonBody, Operation};
use http::Method;

use crate::decode::{decode, strict_json};
use crate::error::AnalyticsError;
use crate::model::ConversationPage;
use crate::query::ConversationQuery;

/// One page of a details query (the page its paging names) → [`ConversationPage`].
#[derive(Debug, Clone, Copy)]
pub struct ConversationDetailsQuery<'a> {
    query: &'a ConversationQuery,
}

impl<'a> ConversationDetailsQuery<'a> {
    /// The page `query` names.
    pub fn new(query: &'a ConversationQuery) -> Self {
        Self { query }
    }
}

impl Endpoint for ConversationDetailsQuery<'_> {
    type Response = ConversationPage;
    const OPERATION: Operation = Operation::new(
        "postAnalyticsConversationsDetailsQuery",
        Method::POST,
        "/api/v2/analytics/conversations/details/query",
    );

    fn path(&self) -> String {
        Self::OPERATION.path.to_owned()
    }

    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        JsonBody::new(self.query).map(Some)
    }

    fn decode(&self, answer: &ApiResponse) -> Result<ConversationPage, GenesysError> {
        strict_json(answer)
    }
}

/// Parses one page of a conversation details query. Public so callers holding a body from
/// elsewhere (a log, a proxy) get the same tolerant parsing; never panics.
pub fn parse_conversation_page(body: &[u8]) -> Result<ConversationPage, AnalyticsError> {
    decode(ConversationDetailsQuery::OPERATION.path, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    #[test]
    fn non_json_wrong_types_and_truncation_are_typed() {
        let e = parse_conversation_page(b"<html>502 Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(e, AnalyticsError::InvalidResponse { ref body_snippet, .. } if body_snippet.starts_with("<html>"))
        );
        assert!(!e.is_truncated());
        let e =
            parse_conversation_page(br#"{"conversations": [{"conversationId": "a"#).unwrap_err();
        assert!(e.is_truncated(), "{e}");
        let e = parse_conversation_page(br#"{"totalHits": "7"}"#).unwrap_err();
        assert!(matches!(e, AnalyticsError::InvalidResponse { .. }));
        assert!(parse_conversation_page(b"").unwrap_err().is_truncated());
        assert!(parse_conversation_page(br#"{"totalHits": 1} trailing"#).is_err());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-zA-Z0-9:.\\-TZ]{0,30}".prop_map(Value::String),
            Just(json!("2026-11-01T10:00:00.000Z")),
            Just(json!("inbound")),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            let keys = prop_oneof![
                Just("conversations".to_owned()),
                Just("totalHits".to_owned()),
                Just("conversationId".to_owned()),
                Just("conversationStart".to_owned()),
                Just("conversationEnd".to_owned()),
                Just("originatingDirection".to_owned()),
                Just("divisionIds".to_owned()),
                Just("participants".to_owned()),
                Just("purpose".to_owned()),
                Just("sessions".to_owned()),
                Just("mediaType".to_owned()),
                Just("segments".to_owned()),
                Just("segmentType".to_owned()),
                Just("disconnectType".to_owned()),
                "[a-z]{1,8}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(keys, inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_page_parser_never_panics_on_any_json(value in arb_json()) {
            let body = serde_json::to_vec(&value).unwrap();
            match parse_conversation_page(&body) {
                Ok(page) => {
                    // what parsed is consistent with the input
                    let obj = value.as_object().unwrap();
                    prop_assert_eq!(page.total_hits, obj.get("totalHits").and_then(Value::as_u64));
                    let n = obj.get("conversations").and_then(Value::as_array).map_or(0, Vec::len);
                    prop_assert_eq!(page.conversations.len(), n);
                }
                Err(e) => {
                    let typed = matches!(e, AnalyticsError::InvalidResponse { .. });
                    prop_assert!(typed, "unexpected error {:?}", e);
                }
            }
        }

        #[test]
        fn the_page_parser_never_panics_on_any_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_conversation_page(&body);
        }

        #[test]
        fn the_page_parser_never_panics_on_cut_answers(cut in 0usize..400) {
            let full = serde_json::to_vec(&json!({"conversations": [{"conversationId": "a",
                "conversationStart": "2026-11-01T10:00:00.000Z", "participants": [{"purpose": "customer",
                "sessions": [{"mediaType": "message", "segments": [{"segmentType": "interact"}]}]}]}],
                "totalHits": 1})).unwrap();
            let cut = cut.min(full.len());
            let parsed: Result<ConversationPage, _> = parse_conversation_page(&full[..cut]);
            if cut < full.len() {
                prop_assert!(parsed.is_err());
            } else {
                prop_assert!(parsed.is_ok());
            }
        }
    }
}
