//! Genesys Cloud regions, OAuth client credentials with a single-flight token cache, and the one request pipeline (pacing, bearer, retries, typed errors).
