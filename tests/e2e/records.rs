//! Hand-built jira records shared by the end-to-end tests.

use manifold_e2e::jira;

use jira::proto::manifold::v1::{Ari, FacsimileRecord, facsimile_record::Payload};

pub const ISSUE_TYPE_URL: &str = "type.googleapis.com/manifold.jira.v1.JiraIssue";

/// A live `JiraIssue` record of `key` in workspace `ws-1`, version 1.
pub fn issue(key: &str, payload: Option<Payload>) -> FacsimileRecord {
    FacsimileRecord {
        resource_ari: Some(Ari { value: key.into() }),
        entity_type: jira::REGISTRY.by_type_url(ISSUE_TYPE_URL).unwrap().entity_type,
        workspace_id: Some(Ari { value: "ws-1".into() }),
        version: 1,
        generation_watermark: 1,
        is_tombstone: false,
        payload,
    }
}

/// The SHA-256 of `bytes` in lowercase hex, as an `OffloadPointer` states it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
