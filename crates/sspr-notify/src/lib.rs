//! sspr-notify
