//! `sqlx::migrate!` embeds the migration files at compile time, but the compiler only watches
//! Rust sources: without this, adding a migration would not rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
