//! What correlating many conversation ids found: [`Correlation`], per id an [`IdOutcome`], and
//! the [`CorrelationFailure`]s. Plain results, below both the [`Analytics`](crate::Analytics)
//! trait that returns them and the correlation that builds them.

use std::collections::HashMap;

use crate::error::AnalyticsError;
use crate::model::AnalyticsConversation;

/// Ids whose lookup failed (after the client's own retries), with the reason.
#[derive(Debug)]
#[non_exhaustive]
pub struct CorrelationFailure {
    /// The ids the failed request was about (a whole chunk, or one id).
    pub ids: Vec<String>,
    /// What went wrong.
    pub error: AnalyticsError,
}

impl CorrelationFailure {
    /// A failure of the request about `ids` (for [`Analytics`](crate::Analytics) implementations of your own).
    pub fn new(ids: Vec<String>, error: AnalyticsError) -> Self {
        Self { ids, error }
    }
}

/// What became of one conversation id; from [`Correlation::outcome`] and
/// [`Correlation::outcomes`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum IdOutcome<'a> {
    /// Found: the conversation.
    Found(&'a AnalyticsConversation),
    /// Not found: a query or lookup answered, and the conversation was not in the answer
    /// (unknown id, outside the window with the details lookup off, or blank).
    NotFound,
    /// Unknown: the request covering this id failed (after the client's retries). Asking
    /// again later may find it.
    Failed(&'a AnalyticsError),
}

impl<'a> IdOutcome<'a> {
    /// Whether the id was found.
    pub fn is_found(&self) -> bool {
        matches!(self, Self::Found(_))
    }

    /// Whether the id is known to be missing (not merely unresolved).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }

    /// The error, when the request covering the id failed.
    pub fn error(&self) -> Option<&'a AnalyticsError> {
        match *self {
            Self::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// What `correlate` found. Every distinct input id ends up in exactly one of `found`,
/// `not_found` or `failed`.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Correlation {
    /// Conversations by id.
    pub found: HashMap<String, AnalyticsConversation>,
    /// Ids no query and no lookup found (in input order).
    pub not_found: Vec<String>,
    /// Ids whose requests failed: neither found nor known to be missing.
    pub failed: Vec<CorrelationFailure>,
    /// Details query requests made (one per chunk page).
    pub queries: u32,
    /// One-by-one detail lookups made.
    pub detail_lookups: u32,
}

impl Correlation {
    /// Requests made in all (not counting the client's retries; see its metrics for those).
    pub fn requests(&self) -> u32 {
        self.queries + self.detail_lookups
    }

    /// The conversation for `id`, when found.
    pub fn get(&self, id: &str) -> Option<&AnalyticsConversation> {
        self.found.get(id)
    }

    /// What became of `id`: found, not found, or failed with the error of the request that
    /// covered it. `None` when `id` was not among the ids asked for. (Found ids are a map
    /// lookup; the others a scan of `not_found` and `failed`.)
    pub fn outcome(&self, id: &str) -> Option<IdOutcome<'_>> {
        if let Some(conversation) = self.found.get(id) {
            return Some(IdOutcome::Found(conversation));
        }
        if let Some((_, error)) = self.failed_ids().find(|(failed, _)| *failed == id) {
            return Some(IdOutcome::Failed(error));
        }
        self.not_found
            .iter()
            .any(|i| i == id)
            .then_some(IdOutcome::NotFound)
    }

    /// Every id asked for (each once) with its outcome: the found ones, then the ones not
    /// found, then the failed ones.
    pub fn outcomes(&self) -> impl Iterator<Item = (&str, IdOutcome<'_>)> + '_ {
        let found = self
            .found
            .iter()
            .map(|(id, c)| (id.as_str(), IdOutcome::Found(c)));
        let not_found = self
            .not_found
            .iter()
            .map(|id| (id.as_str(), IdOutcome::NotFound));
        found
            .chain(not_found)
            .chain(self.failed_ids().map(|(id, e)| (id, IdOutcome::Failed(e))))
    }

    /// The ids whose requests failed, each with the error of its request.
    pub fn failed_ids(&self) -> impl Iterator<Item = (&str, &AnalyticsError)> + '_ {
        self.failed
            .iter()
            .flat_map(|f| f.ids.iter().map(move |id| (id.as_str(), &f.error)))
    }

    /// True when no request failed: every id is either found or known to be missing.
    pub fn is_complete(&self) -> bool {
        self.failed.iter().all(|f| f.ids.is_empty())
    }
}
