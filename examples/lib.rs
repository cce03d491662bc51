//! Shared plumbing for the recipes in this package (argument helpers, logging set-up,
//! simulator fallbacks). The recipes themselves are the `[[example]]` targets.
