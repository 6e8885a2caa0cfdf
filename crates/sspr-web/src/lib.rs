//! sspr-web
