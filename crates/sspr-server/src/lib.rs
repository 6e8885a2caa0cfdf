//! sspr-server
