//! A simulated Genesys Cloud org (library and binary) for tests, recipes and benchmarks, faithful to the platform's wire format.
