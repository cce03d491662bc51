//! Black-box tests of every endpoint of the simulator, over real HTTP with reqwest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod analytics;
mod common;
mod oauth;
mod webmessaging;
