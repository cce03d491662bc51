//! `GET /api/v2/webmessaging/messages`: one page of a guest session's history (the bearer is
//! the guest's JWT, which names the session).

use genesys_auth::{ApiRequest, Endpoint, Operation};
use http::Method;
use serde_json::Value;

use crate::models::EntityList;

/// One page of the guest history → an [`EntityList`] of raw messages (decoded one by one by
/// the caller, so one bad message does not fail the page). A page that comes cut short is
/// fetched again by the client, within its retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestMessages {
    page_number: u32,
    page_size: u32,
}

impl GuestMessages {
    /// 1-based page `page_number` of `page_size` messages.
    pub fn new(page_number: u32, page_size: u32) -> Self {
        Self {
            page_number,
            page_size,
        }
    }
}

impl Endpoint for GuestMessages {
    type Response = EntityList<Value>;
    const OPERATION: Operation = Operation::new(
        "getWebmessagingMessages",
        Method::GET,
        "/api/v2/webmessaging/messages",
    );

    fn path(&self) -> String {
        Self::OPERATION.path.to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("pageSize", self.page_size.to_string()),
            ("pageNumber", self.page_number.to_string()),
        ]
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        request.refetch_unparsable()
    }
}
