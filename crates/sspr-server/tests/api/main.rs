//! Black-box tests of the `sspr` server and CLI: the real router on a real port with a fresh
//! SQLite database per test, a frozen clock, and the real binary for CLI and signal tests.

mod admin_api;
mod admin_pages;
mod admin_portal;
mod admin_roles;
mod cli;
mod demo;
mod directory;
mod helpers;
mod http_basics;
mod outbox;
mod pages_language;
mod passkeys;
mod passwords;
mod reset;
mod reset_enumeration;
mod reset_instances;
mod reset_pages;
mod security_info;
mod shutdown;
mod signin;
