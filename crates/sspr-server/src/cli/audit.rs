//! `sspr audit verify`: walks the whole hash chain and names the first broken link.

use clap::Subcommand;
use sspr_core::audit::ChainVerifier;
use sspr_core::ports::Store;

use super::{Failure, fail};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no audit record was altered, removed or reordered.
    Verify,
}

pub async fn run(loaded: &Loaded, command: AuditCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    match command {
        AuditCommand::Verify => {
            let mut verifier = ChainVerifier::new();
            let mut after = 0;
            loop {
                let page = store.audit_page(after, 1000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for record in &page {
                    if let Err(broken) = verifier.check(record) {
                        return Err(fail(format!(
                            "audit log is BROKEN at record {}: {} ({} records before it verified)",
                            broken.seq,
                            broken.reason,
                            verifier.checked()
                        )));
                    }
                }
            }
            let (head_seq, head_hash) = store.audit_head().await?;
            verifier.finish(head_seq, &head_hash).map_err(|broken| {
                fail(format!(
                    "audit log is BROKEN at record {}: {}",
                    broken.seq, broken.reason
                ))
            })?;
            println!("audit log intact: {} records verified", verifier.checked());
            Ok(())
        }
    }
}
