//! The directory connectors against real servers: an OpenLDAP slapd with ppolicy and a Samba
//! AD domain controller, both started by `./scripts/test.sh` (scripts/ldap.sh,
//! scripts/samba.sh), which passes their addresses in `SSPR_TEST_LDAP_*` and `SSPR_TEST_AD_*`.
//! Without them these tests fail: they are not optional.
//!
//! Each test works on its own directory account, so the tests may run in parallel, and uses
//! passwords with a fresh suffix, so they can run again against the same servers.

mod harness;

mod active_directory;
mod injection;
mod openldap;
mod outage;
mod sync;
