//! The generated mapping code, end to end: encode a prost message, append it to
//! the generated staging builder as the runtime would (payload bytes), and check
//! every column value; the builder's schema is exactly the emitted staging schema.

use manifold_e2e::{avocado, confluence, jira, opsgenie};
use manifold_runtime::arrow_array::cast::AsArray;
use manifold_runtime::arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use manifold_runtime::arrow_array::{Array, RecordBatch};
use manifold_runtime::prost::Message;
use manifold_runtime::{Explode, RowMeta, Writer};

type Ari = avocado::proto::manifold::v1::Ari;

fn ari(s: &str) -> Option<Ari> {
    Some(Ari { value: s.to_string() })
}

fn ts(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

const META: RowMeta<'static> = RowMeta {
    resource_ari: "ari:cloud:avocado:site-1:question/42",
    version: 7,
    is_tombstone: false,
    workspace_id: "ws-1",
    generation: 2,
    row_refreshed_at_micros: 1_764_115_200_000_000 + 1_234, // 2025-11-26T00:00:00.001234Z
    shard_id: "shard-3",
};

fn str_col<'a>(b: &'a RecordBatch, name: &str) -> Vec<Option<&'a str>> {
    b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_string::<i32>().iter().collect()
}

#[test]
fn avocado_question_round_trips_into_every_staging_column() {
    use avocado::proto::manifold::avocado::v1::{AvocadoQuestion, AvocadoQuestionClassification};
    let q = AvocadoQuestion {
        id: ari("ari:cloud:avocado:site-1:question/42"),
        created_at: ts(1_700_000_000, 500_000_000),
        question: Some("How do I rotate keys?".into()),
        title: Some("Key rotation".into()),
        updated_at: ts(1_700_000_100, 0),
        author: ari("ari:cloud:identity::user/1"),
        workspace: ari("ari:cloud:avocado::workspace/ws-1"),
        question_adf: Some(r#"{"type":"doc"}"#.into()),
        vote_count: Some(12),
        chosen_answer: Some(true),
        is_resolved: Some(false),
        classification: Some(AvocadoQuestionClassification::Troubleshooting as i32),
    };
    let info = avocado::REGISTRY.by_type_url("type.googleapis.com/manifold.avocado.v1.AvocadoQuestion").unwrap();
    assert_eq!(avocado::REGISTRY.by_entity_type(info.entity_type).unwrap().name, "AvocadoQuestion");
    let mut staging = (info.new_staging)(Explode::No);
    staging.append(&META, Some(&q.encode_to_vec())).unwrap();
    // A tombstone without payload: the entity's columns are null, the envelope is not.
    let tombstone = RowMeta { is_tombstone: true, version: 8, ..META };
    staging.append(&tombstone, None).unwrap();
    assert_eq!(staging.len(), 2);
    let b = staging.finish();
    assert_eq!(staging.len(), 0);
    assert_eq!(b.schema(), (info.staging_schema)());

    assert_eq!(str_col(&b, "envelope_fields_resource_ari_value"), [Some(META.resource_ari); 2]);
    let versions: Vec<i64> =
        b.column_by_name("envelope_fields_version").unwrap().as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(versions, [7, 8]);
    let tomb = b.column_by_name("envelope_fields_is_tombstone").unwrap().as_boolean();
    assert_eq!((tomb.value(0), tomb.value(1)), (false, true));
    assert_eq!(str_col(&b, "envelope_fields_workspace_id_value"), [Some("ws-1"); 2]);
    assert_eq!(b.column_by_name("envelope_fields_generation_counter").unwrap().as_primitive::<Int64Type>().value(0), 2);

    assert_eq!(str_col(&b, "id_value"), [Some("ari:cloud:avocado:site-1:question/42"), None]);
    let secs = b.column_by_name("created_at_seconds").unwrap().as_primitive::<Int64Type>();
    let nanos = b.column_by_name("created_at_nanos").unwrap().as_primitive::<Int32Type>();
    assert_eq!((secs.value(0), nanos.value(0)), (1_700_000_000, 500_000_000));
    assert!(secs.is_null(1) && nanos.is_null(1));
    assert_eq!(str_col(&b, "question"), [Some("How do I rotate keys?"), None]);
    assert_eq!(str_col(&b, "title"), [Some("Key rotation"), None]);
    assert_eq!(b.column_by_name("updated_at_seconds").unwrap().as_primitive::<Int64Type>().value(0), 1_700_000_100);
    assert_eq!(str_col(&b, "author_value"), [Some("ari:cloud:identity::user/1"), None]);
    assert_eq!(str_col(&b, "workspace_value"), [Some("ari:cloud:avocado::workspace/ws-1"), None]);
    assert_eq!(str_col(&b, "question_adf"), [Some(r#"{"type":"doc"}"#), None]);
    assert_eq!(b.column_by_name("vote_count").unwrap().as_primitive::<Int32Type>().value(0), 12);
    assert!(b.column_by_name("chosen_answer").unwrap().as_boolean().value(0));
    assert!(!b.column_by_name("is_resolved").unwrap().as_boolean().value(0));
    // Enums land as their schema names, not numbers or proto names.
    assert_eq!(str_col(&b, "classification"), [Some("TROUBLESHOOTING"), None]);

    let at = b.column_by_name("row_refreshed_at").unwrap().as_primitive::<TimestampMicrosecondType>();
    assert_eq!(at.value(0), META.row_refreshed_at_micros);
    let day = b.column_by_name("row_refreshed_at_day").unwrap().as_primitive::<Date32Type>();
    assert_eq!(day.value(0), 20_418); // 2025-11-26
    assert_eq!(str_col(&b, "shard_id"), [Some("shard-3"); 2]);
    assert_eq!(str_col(&b, "workspace_id"), [Some("ws-1"); 2]);
    assert_eq!(b.num_columns(), 5 + 14 + 4);
}

#[test]
fn jira_issue_lists_structs_relations_and_absent_optionals() {
    use jira::proto::manifold::jira::v1::{JiraFieldSchemaType, JiraIssue, JiraIssueField, JiraIssueStatus};
    let issue = JiraIssue {
        issue_id: Some("10042".into()),
        project: Some(7), // ComposedBy<JiraProject>: the parent's Long key
        fields: vec![
            JiraIssueField {
                field_id: Some("customfield_1".into()),
                name: Some("Team".into()),
                schema_type: Some(JiraFieldSchemaType::String as i32),
                value: Some("\"Platform\"".into()),
            },
            JiraIssueField { field_id: Some("customfield_2".into()), ..Default::default() },
        ],
        status: Some(JiraIssueStatus::InProgress as i32),
        labels: vec!["backend".into(), "urgent".into()],
        sprint_ids: vec![3, 4],
        story_points: Some(2.5),
        ..Default::default()
    };
    let info = jira::REGISTRY.by_type_url("type.googleapis.com/manifold.jira.v1.JiraIssue").unwrap();
    let mut staging = (info.new_staging)(Explode::No);
    staging.append(&META, Some(&issue.encode_to_vec())).unwrap();
    staging.append(&RowMeta { is_tombstone: true, ..META }, None).unwrap();
    // A value this build does not know (a newer schema's, sent before the
    // binary was rebuilt) stages as its number's text, not as a null.
    let newer = JiraIssue { status: Some(99), ..issue.clone() };
    staging.append(&META, Some(&newer.encode_to_vec())).unwrap();
    let b = staging.finish();
    assert_eq!(b.schema(), (info.staging_schema)());
    assert_eq!(str_col(&b, "status"), [Some("IN_PROGRESS"), None, Some("99")]);
    let b = b.slice(0, 2);

    assert_eq!(str_col(&b, "issue_id"), [Some("10042"), None]);
    assert_eq!(b.column_by_name("project").unwrap().as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(str_col(&b, "summary"), [None, None], "an absent optional is null");
    assert_eq!(b.column_by_name("story_points").unwrap().as_primitive::<Float64Type>().value(0), 2.5);

    let labels = b.column_by_name("labels").unwrap().as_list::<i32>();
    assert_eq!(labels.value(0).as_string::<i32>().iter().collect::<Vec<_>>(), [Some("backend"), Some("urgent")]);
    assert!(labels.is_null(1), "a tombstone's list is null, not empty");
    let sprints = b.column_by_name("sprint_ids").unwrap().as_list::<i32>();
    assert_eq!(sprints.value(0).as_primitive::<Int32Type>().values().to_vec(), [3, 4]);

    let fields = b.column_by_name("fields").unwrap().as_list::<i32>();
    let first = fields.value(0);
    let elems = first.as_struct();
    assert_eq!(elems.len(), 2);
    let col = |n: &str| elems.column_by_name(n).unwrap().as_string::<i32>().iter().collect::<Vec<_>>();
    assert_eq!(col("field_id"), [Some("customfield_1"), Some("customfield_2")]);
    assert_eq!(col("name"), [Some("Team"), None]);
    assert_eq!(col("schema_type"), [Some("STRING"), None]);
    assert_eq!(col("value"), [Some("\"Platform\""), None]);
}

#[test]
fn the_registry_carries_the_ingestion_models() {
    let info = jira::REGISTRY.by_type_url("type.googleapis.com/manifold.jira.v1.JiraIssue").unwrap();
    let names: Vec<&str> = info.models.iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "jira_issue",
            "jira_issue__fields",
            "jira_issue__labels",
            "jira_issue__sprint_ids",
            "jira_issue__fix_version_ids"
        ]
    );
    let main = &info.models[0];
    assert_eq!(
        (main.writer, main.key, main.partition_by),
        (Writer::Merge, &["envelope_fields_resource_ari_value"][..], &["workspace_id"][..])
    );
    assert!(main.compiled_sql.contains("FROM manifold_entities.JiraIssue"));
    assert_eq!(info.models[1].writer, Writer::MergeExploded);
    // The team's append model is an ingestion model of its entity; analytics models are not.
    let alert =
        manifold_e2e::opsgenie::REGISTRY.by_type_url("type.googleapis.com/manifold.opsgenie.v1.OpsgenieAlert").unwrap();
    let history = alert.models.iter().find(|m| m.name == "opsgenie_alert_history").unwrap();
    assert_eq!(history.writer, Writer::Append);
    assert!(!alert.models.iter().any(|m| m.name == "opsgenie_alerts_per_team_per_day"));
}

/// The generated Arrow schema of every entity equals the staging table schema the
/// table emitter wrote (names, order, nullability; Delta types mapped to Arrow).
#[test]
fn every_staging_schema_matches_the_emitted_table_schema() {
    use manifold_runtime::arrow_schema::DataType;
    fn delta(t: &DataType) -> serde_json::Value {
        match t {
            DataType::Utf8 => "string".into(),
            DataType::Boolean => "boolean".into(),
            DataType::Int32 => "integer".into(),
            DataType::Int64 => "long".into(),
            DataType::Float64 => "double".into(),
            DataType::Date32 => "date".into(),
            DataType::Timestamp(..) => "timestamp".into(),
            DataType::List(item) => {
                serde_json::json!({"type": "array", "elementType": delta(item.data_type()), "containsNull": true})
            }
            DataType::Struct(fields) => {
                serde_json::json!({"type": "struct", "fields": fields.iter().map(|f| serde_json::json!({
                "name": f.name(), "type": delta(f.data_type()), "nullable": f.is_nullable(), "metadata": {}})).collect::<Vec<_>>()})
            }
            other => panic!("unexpected Arrow type {other}"),
        }
    }
    let registries =
        [&avocado::REGISTRY, &manifold_e2e::confluence::REGISTRY, &jira::REGISTRY, &manifold_e2e::opsgenie::REGISTRY];
    let mut checked = 0;
    for r in registries {
        for e in r.entities {
            let path = format!("{}/generated/tables/manifold_entities/{}.json", env!("CARGO_MANIFEST_DIR"), e.name);
            let table: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let ours: Vec<serde_json::Value> = (e.staging_schema)()
                .fields()
                .iter()
                .map(|f| serde_json::json!({"name": f.name(), "type": delta(f.data_type()), "nullable": f.is_nullable(), "metadata": {}}))
                .collect();
            assert_eq!(serde_json::Value::Array(ours), table["schema"]["fields"], "{}", e.name);
            assert_eq!(table["entity_type"], e.entity_type);
            assert_eq!(table["type_url"], e.type_url);
            checked += 1;
        }
    }
    assert_eq!(checked, 23);
}

#[test]
fn array_fields_explode_into_child_rows() {
    use jira::proto::manifold::jira::v1::{JiraFieldSchemaType, JiraIssue, JiraIssueField};
    let issue = JiraIssue {
        issue_id: Some("10042".into()),
        fields: vec![
            JiraIssueField {
                field_id: Some("cf_1".into()),
                schema_type: Some(JiraFieldSchemaType::Number as i32),
                ..Default::default()
            },
            JiraIssueField { field_id: Some("cf_2".into()), ..Default::default() },
        ],
        labels: vec!["a".into(), "b".into(), "c".into()],
        ..Default::default()
    };
    let info = jira::REGISTRY.by_type_url("type.googleapis.com/manifold.jira.v1.JiraIssue").unwrap();
    assert_eq!(
        info.child_tables,
        ["jira_issue__fields", "jira_issue__labels", "jira_issue__sprint_ids", "jira_issue__fix_version_ids"]
    );
    // Step 1's staging tables do not build child rows.
    let mut staging = (info.new_staging)(Explode::No);
    staging.append(&META, Some(&issue.encode_to_vec())).unwrap();
    assert_eq!(staging.finish().num_rows(), 1);
    assert!(staging.finish_exploded().iter().all(|(_, b)| b.num_rows() == 0));
    let mut staging = (info.new_staging)(Explode::Yes);
    staging.append(&META, Some(&issue.encode_to_vec())).unwrap();
    staging.append(&RowMeta { is_tombstone: true, ..META }, None).unwrap();
    let exploded = staging.finish_exploded();
    let names: Vec<&str> = exploded.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, info.child_tables);
    let (_, fields) = &exploded[0];
    assert_eq!(fields.num_rows(), 2, "one row per element; a tombstone has none");
    assert_eq!(str_col(fields, "issue_id"), [Some("10042"); 2]);
    let pos: Vec<i32> = fields.column_by_name("position").unwrap().as_primitive::<Int32Type>().values().to_vec();
    assert_eq!(pos, [0, 1]);
    assert_eq!(str_col(fields, "field_id"), [Some("cf_1"), Some("cf_2")]);
    assert_eq!(str_col(fields, "schema_type"), [Some("NUMBER"), None]);
    assert_eq!(str_col(fields, "envelope_fields_resource_ari_value"), [Some(META.resource_ari); 2]);
    // The exploded rows have exactly the child table's columns (no casts needed here).
    let table: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}/generated/tables/jira/jira_issue__fields.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap(),
    )
    .unwrap();
    let table_cols: Vec<&str> =
        table["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    let ours: Vec<String> = fields.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(ours, table_cols);
    let (_, labels) = &exploded[1];
    assert_eq!(str_col(labels, "value"), [Some("a"), Some("b"), Some("c")]);
    assert_eq!(exploded[2].1.num_rows(), 0);
    // Finishing empties the builders.
    assert!(staging.finish_exploded().iter().all(|(_, b)| b.num_rows() == 0));
}

/// The staging builders read payloads straight from the wire (generated
/// views over `manifold_runtime::wire`). For every entity of every product,
/// the producer's random messages, and copies of them with a flipped bit, cut
/// short or with bytes appended, give the same rows and exploded rows — and
/// are rejected alike — as through prost's generated types.
#[test]
fn wire_views_and_prost_agree_on_every_entity() {
    use manifold_runtime::envelope::{self, Body};
    // xorshift64: deterministic mutations without another dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below.max(1) as u64) as usize
    };
    let registries = [&avocado::REGISTRY, &confluence::REGISTRY, &jira::REGISTRY, &opsgenie::REGISTRY];
    for registry in registries {
        for entity in registry.entities {
            let records = manifold_runtime::produce::synthesize_entity(registry, entity, 40, 3);
            let mut views = (entity.new_staging)(Explode::Yes);
            let mut prost = (entity.new_staging)(Explode::Yes);
            let (mut accepted, mut rejected) = (0, 0);
            for record in &records {
                let decoded = envelope::decode(record, registry, usize::MAX).unwrap();
                let Body::Inline(payload) = &decoded.body else { panic!("inline payloads only") };
                let meta = decoded.row_meta(0, "shard");
                let mut flipped = payload.to_vec();
                if !flipped.is_empty() {
                    let at = next(flipped.len());
                    flipped[at] ^= 1 << next(8);
                }
                let mut extended = payload.to_vec();
                extended.extend((0..1 + next(6)).map(|_| next(256) as u8));
                let cut = payload[..next(payload.len() + 1)].to_vec();
                for bytes in [payload.to_vec(), flipped, cut, extended] {
                    let ours = views.append(&meta, Some(&bytes)).map_err(|e| e.to_string());
                    let theirs = prost.append_with_prost(&meta, Some(&bytes)).map_err(|e| e.to_string());
                    assert_eq!(
                        ours.is_ok(),
                        theirs.is_ok(),
                        "{}: {bytes:?}: views {ours:?}, prost {theirs:?}",
                        entity.name
                    );
                    if ours.is_ok() { accepted += 1 } else { rejected += 1 }
                }
            }
            assert_eq!(views.finish(), prost.finish(), "{}", entity.name);
            assert_eq!(views.finish_exploded(), prost.finish_exploded(), "{}", entity.name);
            assert!(accepted >= 40 && rejected > 0, "{}: {accepted} accepted, {rejected} rejected", entity.name);
        }
    }
}
