//! EventBridge dead letters: the DLQ message attributes EventBridge sets (`ERROR_CODE`,
//! `ERROR_MESSAGE`, `RETRY_ATTEMPTS`, ...) as String or Number values, and the body, through
//! `DeadLetter::parse`, categorization, conversation-id extraction and a root-cause report
//! (JSON and Markdown).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sqs_dlq::dead_letter::{
    ATTR_ERROR_CODE, ATTR_ERROR_MESSAGE, ATTR_EXHAUSTED_RETRY_CONDITION, ATTR_RETRY_ATTEMPTS,
    ATTR_RULE_ARN, ATTR_TARGET_ARN, canonical_uuid, conversation_id_from_topic,
};
use sqs_dlq::dead_letter::{DeadLetter, ReportRecord, RootCauseReport};
use sqs_dlq::queue::{AttributeValue, Attributes};

const NAMES: [&str; 6] = [
    ATTR_ERROR_CODE,
    ATTR_ERROR_MESSAGE,
    ATTR_RETRY_ATTEMPTS,
    ATTR_EXHAUSTED_RETRY_CONDITION,
    ATTR_RULE_ARN,
    ATTR_TARGET_ARN,
];

fuzz_target!(|data: &[u8]| {
    let (head, body) = genesys_toolkit_fuzz::split_once(data, b"\n\n");
    let mut attributes = Attributes::new();
    for (i, (name, line)) in NAMES.iter().zip(head.split(|b| *b == b'\n')).enumerate() {
        let text = String::from_utf8_lossy(line).into_owned();
        // SQS carries numbers as strings; the sender picks the data type.
        let value = if i % 2 == 0 {
            AttributeValue::String(text)
        } else {
            AttributeValue::Number(text)
        };
        attributes.insert((*name).to_owned(), value);
    }
    let body = String::from_utf8_lossy(body).into_owned();
    let letter = DeadLetter::parse("fuzz-message", body.clone(), attributes);
    let _ = letter.classification();
    let _ = letter.category();
    let _ = letter.retry_attempts();
    let _ = letter.next_attempt();
    let _ = letter.error_code();
    if let Some(id) = letter.conversation_id() {
        assert!(
            canonical_uuid(&id).is_some(),
            "not a canonical uuid: {id:?}"
        );
    }
    if let Some(topic) = letter.topic() {
        let _ = conversation_id_from_topic(topic);
    }
    let _ = canonical_uuid(&body);
    let record = ReportRecord::new(&letter, None);
    let report = RootCauseReport::from_records("fuzz-dlq", false, 0, vec![record]);
    let _ = report.to_json();
    let _ = report.to_markdown();
});
