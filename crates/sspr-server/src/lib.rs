//! The `sspr` binary's library: configuration, key material, wiring and the CLI. `main.rs`
//! only parses arguments and calls in here, so tests and benchmarks can start the real server.

pub mod app;
pub mod cli;
pub mod config;
pub mod keys;
pub mod logging;
