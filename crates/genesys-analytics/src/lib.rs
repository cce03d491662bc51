//! Genesys Cloud analytics conversation details: typed queries, paging streams, batched correlation of many conversation ids, and the async jobs API.
