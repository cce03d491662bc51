//! Analytics answers: a conversation details page (`parse_conversation_page`), a job status and
//! a job results page; every rejection must be a typed `AnalyticsError` / serde error.
#![no_main]

use genesys_analytics::{JobResultsPage, JobStatus, parse_conversation_page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_conversation_page(data) {
        Ok(page) => {
            for c in &page.conversations {
                let _ = &c.conversation_id;
                for p in &c.participants {
                    for s in &p.sessions {
                        let _ = s.segments.len();
                    }
                }
            }
            serde_json::to_vec(&page).expect("a decoded page serializes");
        }
        Err(error) => {
            let _ = error.to_string();
            let _ = error.is_truncated();
        }
    }
    if let Ok(status) = serde_json::from_slice::<JobStatus>(data) {
        let _ = status.state.is_terminal();
        let _ = status.state.to_string();
    }
    if let Ok(page) = serde_json::from_slice::<JobResultsPage>(data) {
        serde_json::to_vec(&page).expect("a decoded results page serializes");
    }
});
