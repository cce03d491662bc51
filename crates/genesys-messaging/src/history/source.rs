//! Where history pages come from: a guest session or a conversation.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use genesys_auth::{GenesysClient, PathSegment, StaticToken, TokenProvider};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::order::TimeOrder;
use super::record::HistoryRecord;
use crate::endpoints::{ConversationMessages, GuestMessages, MessageDetailsBulk, MessageRef};
use crate::error::MessagingError;
use crate::models::{MessageData, WebMessagingMessage};

/// Path of the guest history.
pub const WEB_MESSAGING_MESSAGES_PATH: &str = "/api/v2/webmessaging/messages";
/// Most ids the bulk endpoint takes in one request.
pub const MAX_BULK_IDS: u32 = 1_000;

/// One page as fetched: the raw entities (decoded one by one later, so one bad message does not
/// fail the page) and the paging figures the server announced.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RawPage {
    /// The page's messages as JSON values.
    pub entities: Vec<Value>,
    /// `pageCount`, when the answer has it.
    pub page_count: Option<u32>,
    /// `total`, when the answer has it.
    pub total: Option<u64>,
}

impl RawPage {
    /// A page with these figures.
    pub fn new(entities: Vec<Value>, page_count: Option<u32>, total: Option<u64>) -> Self {
        Self {
            entities,
            page_count,
            total,
        }
    }
}

/// A paged history of one conversation.
#[async_trait]
pub trait HistorySource: Send + Sync + 'static {
    /// The message type the pages hold.
    type Record: HistoryRecord;
    /// The conversation this history belongs to (names archive batches).
    fn conversation_id(&self) -> &str;
    /// Largest page size the source accepts.
    fn max_page_size(&self) -> u32;
    /// The order the source lists messages in.
    fn natural_order(&self) -> TimeOrder;
    /// Fetches 1-based page `page` of `page_size` messages.
    async fn fetch_page(&self, page: u32, page_size: u32) -> Result<RawPage, MessagingError>;
}

/// The guest side: `GET /api/v2/webmessaging/messages` with the guest session's JWT.
///
/// The JWT goes through the shared client as a [`StaticToken`], so the guest requests share the
/// client's connection pool, org pacer, retry policy and metrics.
#[derive(Clone)]
pub struct GuestSession {
    client: GenesysClient,
    conversation_id: String,
    max_page_size: u32,
    order: TimeOrder,
}

impl fmt::Debug for GuestSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestSession")
            .field("conversation_id", &self.conversation_id)
            .field("max_page_size", &self.max_page_size)
            .finish_non_exhaustive()
    }
}

impl GuestSession {
    /// A guest session over `client` with the session's JWT. `conversation_id` names the
    /// archive batches (the guest API itself takes no id: the JWT identifies the session).
    pub fn new(
        client: &GenesysClient,
        jwt: SecretString,
        conversation_id: impl Into<String>,
    ) -> Self {
        Self {
            client: client.with_token_provider(Arc::new(StaticToken::new(jwt))),
            conversation_id: conversation_id.into(),
            max_page_size: 100,
            order: TimeOrder::NewestFirst,
        }
    }

    /// A guest session over `client` whose bearer comes from `tokens`, e.g. a live
    /// [`crate::guest::GuestSession`]'s [`token_provider`](crate::guest::GuestSession::token_provider),
    /// which hands out a fresh JWT for each page of a long export.
    pub fn with_token_provider(
        client: &GenesysClient,
        tokens: Arc<dyn TokenProvider>,
        conversation_id: impl Into<String>,
    ) -> Self {
        Self {
            client: client.with_token_provider(tokens),
            conversation_id: conversation_id.into(),
            max_page_size: 100,
            order: TimeOrder::NewestFirst,
        }
    }

    /// The largest page size accepted (the platform's maximum is not documented; default 100).
    pub fn max_page_size(mut self, max: u32) -> Self {
        self.max_page_size = max;
        self
    }

    /// The order the history is listed in (default newest first, as the messenger shows it).
    pub fn order(mut self, order: TimeOrder) -> Self {
        self.order = order;
        self
    }
}

#[async_trait]
impl HistorySource for GuestSession {
    type Record = WebMessagingMessage;

    fn conversation_id(&self) -> &str {
        &self.conversation_id
    }
    fn max_page_size(&self) -> u32 {
        self.max_page_size
    }
    fn natural_order(&self) -> TimeOrder {
        self.order
    }

    async fn fetch_page(&self, page: u32, page_size: u32) -> Result<RawPage, MessagingError> {
        // A cut-short page is fetched again by the client itself (the endpoint asks for
        // `refetch_unparsable`), under the same policy and attempt count as its 429s and 5xx:
        // no second layer of retries here.
        let list = self
            .client
            .call(&GuestMessages::new(page, page_size))
            .await
            .map_err(|source| MessagingError::Page {
                page,
                source: Box::new(source),
            })?;
        Ok(RawPage::new(list.entities, list.page_count, list.total))
    }
}

/// The agent side: the conversation's message ids (`GET /api/v2/conversations/messages/{id}`),
/// then the messages in chunks (`POST …/{id}/messages/bulk`, at most 1,000 ids a request).
/// Page `n` of size `s` is the bulk request for ids `(n-1)·s .. n·s`, ids ordered by
/// `messageTime` (oldest first).
pub struct ConversationHistory {
    client: GenesysClient,
    conversation_id: String,
    encoded_id: PathSegment,
    ids: OnceCell<Arc<Vec<String>>>,
}

impl fmt::Debug for ConversationHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationHistory")
            .field("conversation_id", &self.conversation_id)
            .finish_non_exhaustive()
    }
}

impl ConversationHistory {
    /// The history of `conversation_id`, read with the client's own (OAuth) identity.
    pub fn new(
        client: &GenesysClient,
        conversation_id: impl Into<String>,
    ) -> Result<Self, MessagingError> {
        let conversation_id = conversation_id.into();
        let encoded_id = PathSegment::new(&conversation_id)
            .map_err(|e| MessagingError::InvalidId(Box::new(e)))?;
        Ok(Self {
            client: client.clone(),
            conversation_id,
            encoded_id,
            ids: OnceCell::new(),
        })
    }

    /// The conversation's message ids, oldest first (fetched once).
    pub async fn message_ids(&self) -> Result<Arc<Vec<String>>, MessagingError> {
        self.ids
            .get_or_try_init(|| async {
                let endpoint = ConversationMessages::for_segment(self.encoded_id.clone());
                let answer = self.client.call(&endpoint).await.map_err(|source| {
                    MessagingError::Conversation {
                        conversation_id: self.conversation_id.clone(),
                        source: Box::new(source),
                    }
                })?;
                let mut refs: Vec<MessageRef> = answer
                    .participants
                    .into_iter()
                    .flat_map(|p| p.messages)
                    .filter(|m| m.message_id.is_some())
                    .collect();
                // Stable: ids without a time keep their listed order, after the timed ones.
                refs.sort_by_key(|m| (m.message_time.is_none(), m.message_time));
                let mut seen = std::collections::HashSet::new();
                let ids: Vec<String> = refs
                    .into_iter()
                    .filter_map(|m| m.message_id)
                    .filter(|id| seen.insert(id.clone()))
                    .collect();
                Ok(Arc::new(ids))
            })
            .await
            .cloned()
    }
}

#[async_trait]
impl HistorySource for ConversationHistory {
    type Record = MessageData;

    fn conversation_id(&self) -> &str {
        &self.conversation_id
    }
    fn max_page_size(&self) -> u32 {
        MAX_BULK_IDS
    }
    fn natural_order(&self) -> TimeOrder {
        TimeOrder::OldestFirst
    }

    async fn fetch_page(&self, page: u32, page_size: u32) -> Result<RawPage, MessagingError> {
        let ids = self.message_ids().await?;
        let size = page_size.clamp(1, MAX_BULK_IDS) as usize;
        let total = ids.len();
        let page_count = u32::try_from(total.div_ceil(size)).unwrap_or(u32::MAX);
        let start = (page.saturating_sub(1) as usize).saturating_mul(size);
        let chunk: &[String] = ids.get(start..(start + size).min(total)).unwrap_or(&[]);
        if chunk.is_empty() {
            return Ok(RawPage::new(
                Vec::new(),
                Some(page_count),
                Some(total as u64),
            ));
        }
        let endpoint = MessageDetailsBulk::for_segment(self.encoded_id.clone(), chunk);
        let list = self
            .client
            .call(&endpoint)
            .await
            .map_err(|source| MessagingError::Page {
                page,
                source: Box::new(source),
            })?;
        Ok(RawPage::new(
            list.entities,
            Some(page_count),
            Some(total as u64),
        ))
    }
}
