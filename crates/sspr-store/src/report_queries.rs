//! Whole-population reads for reports: one query each instead of one per user.

use std::collections::{BTreeSet, HashMap};

use sspr_core::ports::StoreError;
use sspr_core::{GroupId, MethodType, UserId};

use crate::db;
use crate::error;
use crate::{SqlStore, rows};

impl SqlStore {
    pub(crate) async fn verified_method_kinds_impl(
        &self,
    ) -> Result<HashMap<UserId, BTreeSet<MethodType>>, StoreError> {
        let mut out: HashMap<UserId, BTreeSet<MethodType>> = HashMap::new();
        for row in
            db::query("SELECT DISTINCT user_id, kind FROM methods WHERE verified_at_ms IS NOT NULL")
                .fetch_all(&self.db)
                .await
                .map_err(error::db)?
        {
            out.entry(UserId(rows::uuid(&row, "user_id")?))
                .or_default()
                .insert(rows::parsed(&row, "kind", MethodType::parse)?);
        }
        Ok(out)
    }

    pub(crate) async fn user_groups_impl(
        &self,
    ) -> Result<HashMap<UserId, Vec<GroupId>>, StoreError> {
        let mut out: HashMap<UserId, Vec<GroupId>> = HashMap::new();
        for row in db::query(
            "SELECT member_user_id, group_id FROM group_members WHERE member_user_id IS NOT NULL",
        )
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        {
            out.entry(UserId(rows::uuid(&row, "member_user_id")?))
                .or_default()
                .push(GroupId(rows::uuid(&row, "group_id")?));
        }
        Ok(out)
    }
}
