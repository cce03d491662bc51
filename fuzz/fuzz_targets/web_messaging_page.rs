//! Web messaging history pages as the export reads them: the answer as an `EntityList` of JSON
//! values, then each entity decoded on its own as a guest `WebMessagingMessage` and as an agent
//! `MessageData`, and every attachment URL (untrusted) parsed and checked for a signed expiry.
#![no_main]

use genesys_messaging::history::HistoryRecord;
use genesys_messaging::media::signed_url_expiry;
use genesys_messaging::{EntityList, MessageData, WebMessagingMessage};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn exercise<R: HistoryRecord>(record: &R) {
    let _ = record.id();
    let _ = record.time();
    let _ = record.message_type();
    let _ = record.direction();
    for raw in record.attachment_urls() {
        if let Ok(url) = url::Url::parse(&raw) {
            let _ = signed_url_expiry(&url);
        }
    }
    // The export writes what it read: it must serialize back.
    serde_json::to_vec(record).expect("a decoded record serializes");
}

fuzz_target!(|data: &[u8]| {
    let Ok(page) = serde_json::from_slice::<EntityList<Value>>(data) else {
        return;
    };
    for entity in page.entities {
        if let Ok(message) = serde_json::from_value::<WebMessagingMessage>(entity.clone()) {
            exercise(&message);
        }
        if let Ok(message) = serde_json::from_value::<MessageData>(entity) {
            exercise(&message);
        }
    }
});
