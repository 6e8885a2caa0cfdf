//! sspr-store
