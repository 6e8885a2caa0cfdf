//! The SSPR policy: defaults until stored, then exactly what was stored.

use sspr_core::audit::events;
use sspr_core::ports::Store;
use sspr_core::{Enablement, GroupId, HelpdeskLink, MethodType, SsprPolicy};
use sspr_store::SqlStore;

use crate::harness::{Db, audit_log, event, verify_chain};

conformance!(story_policy_defaults_then_stored);

async fn story_policy_defaults_then_stored(store: SqlStore, _db: Db) {
    assert_eq!(store.policy().await.unwrap(), SsprPolicy::default());

    let first = SsprPolicy {
        enablement: Enablement::Selected,
        target_group: Some(GroupId::new()),
        methods_required: 2,
        methods_enabled: [
            MethodType::Email,
            MethodType::Passkey,
            MethodType::SecurityQuestions,
        ]
        .into(),
        custom_questions: vec!["Name of your first pet?".into(), "Ünïcödé street?".into()],
        helpdesk: HelpdeskLink::Url("https://help.example.org/sspr".into()),
        allow_unlock: true,
        ..SsprPolicy::default()
    };
    let changed = event(events::POLICY_CHANGED, "sspr_policy")
        .details(serde_json::json!({"methods_required": {"old": 1, "new": 2}}));
    store.put_policy(&first, &changed).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), first);

    let second = SsprPolicy {
        enablement: Enablement::All,
        target_group: None,
        helpdesk: HelpdeskLink::Email("help@example.org".into()),
        ..first.clone()
    };
    store.put_policy(&second, &changed).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), second);

    let log = audit_log(&store).await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.event == changed));
    assert_eq!(verify_chain(&store).await, Ok(2));
}
