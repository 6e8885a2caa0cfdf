//! The password rules in force, loaded once for a CLI command.

use std::sync::Arc;

use sspr_core::policy::banned::BannedList;
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::ports::{BreachedPasswords, Store};
use sspr_core::service::passwords::PasswordRules;

use super::Failure;
use crate::config::Loaded;

pub struct Rules {
    policy: PasswordPolicy,
    custom: BannedList,
    breached: Arc<dyn BreachedPasswords>,
    organisation: String,
}

impl Rules {
    pub async fn load(loaded: &Loaded, store: &dyn Store) -> Result<Self, Failure> {
        let policy = store.password_policy().await?;
        let custom = BannedList::new(&policy.custom_banned_terms);
        Ok(Self {
            policy,
            custom,
            breached: crate::app::breached_corpus(loaded)?,
            organisation: loaded.config.organisation.name.clone(),
        })
    }

    pub fn rules(&self) -> PasswordRules<'_> {
        PasswordRules {
            policy: &self.policy,
            global: BannedList::global(),
            custom: &self.custom,
            breached: self.breached.as_ref(),
            organisation: &self.organisation,
        }
    }
}
