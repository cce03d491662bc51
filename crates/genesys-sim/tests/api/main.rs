//! Black-box tests of every endpoint of the simulator, over real HTTP with reqwest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod analytics;
mod bad_input;
mod binary;
mod common;
mod conversations;
mod faults;
mod jobs;
mod media;
mod oauth;
mod rate_limit;
mod startup;
mod stats;
mod webmessaging;
