//! The emitters over the example schemas: snapshots of every artifact kind, the
//! committed `generated/` tree is exactly what `manifold build` writes, and output
//! is deterministic.

use std::path::{Path, PathBuf};

use manifold_compiler::emit::{self, Artifact};
use manifold_compiler::{compile, diag, write};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn artifacts() -> Vec<Artifact> {
    let c = compile(&root().join("schemas"), "schemas").unwrap();
    let out = manifold_compiler::emit(&c);
    let mut all = c.diagnostics.clone();
    all.extend(out.diagnostics.clone());
    assert!(!all.has_errors(), "{}", diag::render_text(&c.db, &all, false));
    out.artifacts
}

/// Compiles and emits the schema file `path` (beside the base declarations) from memory.
fn compile_in_memory(path: &str, schema: String) -> (manifold_compiler::Compilation, emit::Emitted) {
    let files = vec![
        ("manifold.ts".to_string(), include_str!("../../schemas/manifold.ts").to_string()),
        (path.to_string(), schema),
    ];
    let c =
        manifold_compiler::compile_loaded(manifold_compiler::load::from_memory(&files, None), "manifold.lock".into());
    let out = manifold_compiler::emit(&c);
    (c, out)
}

fn text<'a>(artifacts: &'a [Artifact], path: &str) -> &'a str {
    let a = artifacts.iter().find(|a| a.path == path).unwrap_or_else(|| panic!("no artifact {path}"));
    std::str::from_utf8(&a.bytes).unwrap()
}

#[test]
fn the_committed_generated_tree_is_up_to_date() {
    let diffs = write::diff_tree(&root().join("generated"), &artifacts()).unwrap();
    assert!(diffs.is_empty(), "generated/ is stale; run `cargo run -- build`:\n{}", diffs.join("\n"));
}

#[test]
fn emitting_twice_gives_the_same_bytes() {
    assert_eq!(artifacts(), artifacts());
}

/// Every stage spreads its work over rayon's threads; the output must not depend
/// on how many there are (or on which finishes first).
#[test]
fn the_output_does_not_depend_on_the_number_of_threads() {
    use manifold_compiler::synthetic::{Shape, tree};
    // Enough entities per product that rayon splits every level of work.
    let files = tree(Shape { products: 3, entities_per_product: 60, fields_per_entity: 8 });
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let c = compile(&root().join("schemas"), "schemas").unwrap();
            let examples = (c.lock_text.clone(), manifold_compiler::emit(&c).artifacts);
            let loaded = manifold_compiler::load::from_memory(&files, None);
            let c = manifold_compiler::compile_loaded(loaded, "manifold.lock".into());
            assert!(!c.diagnostics.has_errors());
            (examples, c.lock_text.clone(), manifold_compiler::emit(&c).artifacts)
        })
    };
    let one = on(1);
    assert!(one.0.1.len() > 100 && one.2.len() > 500, "every artifact kind is emitted");
    assert!(one == on(4), "one thread and four threads emit different bytes");
}

#[test]
fn proto_snapshots() {
    let a = artifacts();
    insta::assert_snapshot!("envelope.proto", text(&a, "proto/manifold/v1/envelope.proto"));
    insta::assert_snapshot!("avocado.proto", text(&a, "proto/manifold/avocado/v1/avocado.proto"));
    insta::assert_snapshot!("jira.proto", text(&a, "proto/manifold/jira/v1/jira.proto"));
}

#[test]
fn the_descriptor_set_holds_every_message_with_lock_numbers() {
    use prost::Message as _;
    let a = artifacts();
    let bytes = &a.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
    let fds = prost_types::FileDescriptorSet::decode(bytes.as_slice()).unwrap();
    let jira = fds.file.iter().find(|f| f.package() == "manifold.jira.v1").unwrap();
    let issue = jira.message_type.iter().find(|m| m.name() == "JiraIssue").unwrap();
    let c = compile(&root().join("schemas"), "schemas").unwrap();
    let locked = c.lock.entity("JiraIssue").unwrap();
    for f in &issue.field {
        let lock_field =
            locked.fields.iter().find(|l| manifold_compiler::model::naming::snake_case(&l.name) == f.name());
        assert_eq!(Some(f.number() as u32), lock_field.map(|l| l.number), "{}", f.name());
    }
    assert!(fds.file.iter().any(|f| f.name() == "google/protobuf/any.proto"), "imports are included");
    let envelope = fds.file.iter().find(|f| f.package() == "manifold.v1").unwrap();
    let record = envelope.message_type.iter().find(|m| m.name() == "FacsimileRecord").unwrap();
    let fields: Vec<(&str, i32)> = record.field.iter().map(|f| (f.name(), f.number())).collect();
    assert_eq!(
        fields,
        [
            ("resource_ari", 1),
            ("entity_type", 2),
            ("workspace_id", 3),
            ("version", 4),
            ("generation_watermark", 5),
            ("is_tombstone", 6),
            ("entity", 7),
            ("offload_pointer", 8)
        ]
    );
}

/// The descriptor set is joined from one protox pool per file (`emit::proto`):
/// it must be exactly what one pool fed every emitted file, in path order, encodes.
#[test]
fn the_descriptor_set_is_what_one_protox_pool_encodes() {
    let a = artifacts();
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for artifact in a.iter().filter(|a| a.path.ends_with(".proto")) {
        let name = artifact.path.strip_prefix("proto/").unwrap();
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &artifact.bytes).unwrap();
        names.push(name.to_string());
    }
    assert!(names.len() >= 3, "the envelope and at least two products: {names:?}");
    names.sort();
    let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    compiler.include_imports(true).include_source_info(true);
    for name in &names {
        compiler.open_file(name).unwrap();
    }
    let joined = &a.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
    assert!(compiler.encode_file_descriptor_set() == *joined, "the joined descriptor set differs from one pool's");
}

#[test]
fn dbt_snapshots_one_model_of_each_writer_and_the_yaml() {
    let a = artifacts();
    insta::assert_snapshot!("merge model", text(&a, "dbt/models/avocado/avocado_question.sql"));
    insta::assert_snapshot!("merge_exploded model", text(&a, "dbt/models/jira/jira_issue__fields.sql"));
    insta::assert_snapshot!("append model (a team's)", text(&a, "dbt/models/opsgenie/opsgenie_alert_history.sql"));
    insta::assert_snapshot!("compiled merge_exploded", text(&a, "dbt/compiled/models/jira/jira_issue__fields.sql"));
    insta::assert_snapshot!("avocado sources.yml", text(&a, "dbt/models/avocado/sources.yml"));
    insta::assert_snapshot!("avocado schema.yml", text(&a, "dbt/models/avocado/schema.yml"));
    insta::assert_snapshot!("macros", text(&a, "dbt/macros/manifold.sql"));
}

#[test]
fn table_schema_snapshots() {
    let a = artifacts();
    insta::assert_snapshot!("staging AvocadoQuestion", text(&a, "tables/manifold_entities/AvocadoQuestion.json"));
    insta::assert_snapshot!("jira_issue__fields", text(&a, "tables/jira/jira_issue__fields.json"));
    insta::assert_snapshot!("analytics model", text(&a, "tables/opsgenie/opsgenie_alerts_per_team_per_day.json"));
}

/// The seed's compiled SQL of `AvocadoQuestion` (shared/seed), which the
/// generated model must reproduce exactly, whitespace aside.
const SEED_COMPILED_SQL: &str = "WITH cte_0 AS (
  SELECT
    CAST(envelope_fields_resource_ari_value AS STRING) AS envelope_fields_resource_ari_value,
    CAST(envelope_fields_version AS LONG) AS envelope_fields_version,
    CAST(envelope_fields_is_tombstone AS BOOLEAN) AS envelope_fields_is_tombstone,
    CAST(envelope_fields_workspace_id_value AS STRING) AS envelope_fields_workspace_id_value,
    CAST(envelope_fields_generation_counter AS LONG) AS envelope_fields_generation_counter,
    CAST(id_value AS STRING) AS id_value,
    CAST(created_at_seconds + CAST(created_at_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS created_at,
    CAST(question AS STRING) AS question,
    CAST(title AS STRING) AS title,
    CAST(updated_at_seconds + CAST(updated_at_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS updated_at,
    CAST(author_value AS STRING) AS author_value,
    CAST(workspace_value AS STRING) AS workspace_value,
    CAST(question_adf AS STRING) AS question_adf,
    CAST(vote_count AS INTEGER) AS vote_count,
    CAST(chosen_answer AS BOOLEAN) AS chosen_answer,
    CAST(is_resolved AS BOOLEAN) AS is_resolved,
    CAST(classification AS STRING) AS classification,
    CAST(row_refreshed_at AS TIMESTAMP) AS row_refreshed_at,
    CAST(row_refreshed_at_day AS DATE) AS row_refreshed_at_day,
    CAST(shard_id AS STRING) AS shard_id,
    CAST(workspace_id AS STRING) AS workspace_id
  FROM manifold_entities.AvocadoQuestion
)
SELECT
  CAST(envelope_fields_resource_ari_value AS STRING) AS envelope_fields_resource_ari_value,
  CAST(envelope_fields_version AS LONG) AS envelope_fields_version,
  CAST(envelope_fields_is_tombstone AS BOOLEAN) AS envelope_fields_is_tombstone,
  CAST(envelope_fields_workspace_id_value AS STRING) AS envelope_fields_workspace_id_value,
  CAST(envelope_fields_generation_counter AS LONG) AS envelope_fields_generation_counter,
  id_value,
  created_at,
  question,
  title,
  updated_at,
  author_value,
  workspace_value,
  question_adf,
  vote_count,
  chosen_answer,
  is_resolved,
  classification,
  CAST(row_refreshed_at AS TIMESTAMP) AS row_refreshed_at,
  CAST(row_refreshed_at_day AS DATE) AS row_refreshed_at_day,
  CAST(shard_id AS STRING) AS shard_id,
  CAST(workspace_id AS STRING) AS workspace_id
FROM cte_0";

#[test]
fn the_avocado_question_model_compiles_to_the_seeds_sql() {
    let a = artifacts();
    let ours: String = text(&a, "dbt/compiled/models/avocado/avocado_question.sql")
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let normalise = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(normalise(&ours), normalise(SEED_COMPILED_SQL));
}

#[test]
fn rust_snapshot_of_one_entity() {
    let c = compile(&root().join("schemas"), "schemas").unwrap();
    let a = artifacts();
    let fds = &a.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
    let dbt = emit::dbt::emit(&c.model, &c.lock);
    let rust = emit::rust::product_rust(&c.model, &c.lock, "avocado", fds, &dbt.models).unwrap();
    let start = rust.find("/// Rows of the staging table `manifold_entities.AvocadoQuestion`").unwrap();
    let end = start + rust[start..].find("/// Rows of the staging table `manifold_entities.AvocadoTopic`").unwrap();
    insta::assert_snapshot!("AvocadoQuestion mapping", &rust[start..end]);
    // Its wire view: prost's field names, one arm per locked field number.
    let start = rust.find("pub struct AvocadoQuestion<'a>").unwrap();
    let end = start + rust[start..].find("#[derive(Default)]").unwrap();
    insta::assert_snapshot!("AvocadoQuestion view", &rust[start..end]);
    // Deterministic to the byte.
    assert_eq!(rust, emit::rust::product_rust(&c.model, &c.lock, "avocado", fds, &dbt.models).unwrap());
}

/// A field may be named after any SQL keyword: its column is that column in
/// every model, however SQL would read the word written plainly (`from`,
/// `null`, `current_date`: quoted; `type`, `order`: as is). An entity and an
/// exploded struct with a field per keyword sqlparser knows build without a
/// finding, and the derived tables hold exactly those columns. A keyword a
/// newer sqlparser reads differently fails here by name.
#[test]
fn fields_named_after_any_sql_keyword_are_columns() {
    let words: Vec<String> = sqlparser::keywords::ALL_KEYWORDS
        .iter()
        .map(|k| k.to_ascii_lowercase())
        .filter(|k| k.split('_').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase())))
        // `id` is the key; a child table has its own `position`.
        .filter(|k| k != "id" && k != "position")
        .collect();
    // One of each pair protobuf cannot tell apart (`auto_increment`, `autoincrement`).
    let mut folded = std::collections::HashSet::new();
    let words: Vec<String> = words.into_iter().filter(|w| folded.insert(w.replace('_', ""))).collect();
    let camel = |word: &str| {
        let mut parts = word.split('_');
        let first = parts.next().unwrap_or_default().to_string();
        first + &parts.map(|p| p[..1].to_ascii_uppercase() + &p[1..]).collect::<String>()
    };
    let fields: String = words.iter().map(|w| format!("  {}?: String;\n", camel(w))).collect();
    let schema = format!(
        "import {{ Entity, Manifest, EntityState, Team }} from \"../manifold\";\n\
         /** Every keyword. */\nexport interface KwPart {{\n{fields}}}\n\
         export interface KwThingManifest extends Manifest {{\n  owner: Team.JIRA_AGILE;\n  status: EntityState.ACTIVE;\n}}\n\
         /** Every keyword, and every keyword in an array. */\nexport interface KwThing extends Entity {{\n  id: String;\n{fields}  parts: KwPart[];\n}}\n"
    );
    let (c, out) = compile_in_memory("kw/thing.ts", schema);
    let mut all = c.diagnostics.clone();
    all.extend(out.diagnostics.clone());
    assert!(all.is_empty(), "{}", diag::render_text(&c.db, &all, false));
    let columns = |path: &str| -> Vec<String> {
        let table: serde_json::Value = serde_json::from_str(text(&out.artifacts, path)).unwrap();
        table["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect()
    };
    for path in ["tables/kw/kw_thing.json", "tables/kw/kw_thing__parts.json"] {
        let got = columns(path);
        let missing: Vec<&String> = words.iter().filter(|w| !got.contains(w)).collect();
        assert!(missing.is_empty(), "{path} lacks {missing:?}");
    }
    let sql = text(&out.artifacts, "dbt/models/kw/kw_thing.sql");
    assert!(
        sql.contains("CAST(`from` AS STRING) AS `from`,") && sql.contains("CAST(type AS STRING) AS type,"),
        "{sql}"
    );
}

/// Every item the generated Rust of a product defines has a name of its own,
/// also where names built from an entity and a field could meet: `FooBar`'s
/// array `baz` and `Foo`'s array `barBaz` explode into two structs.
#[test]
fn generated_rust_items_never_share_a_name() {
    let entity = |name: &str, array: &str| {
        format!(
            "export interface {name}Manifest extends Manifest {{\n  owner: Team.JIRA_AGILE;\n  status: EntityState.ACTIVE;\n}}\n\
             /** An entity. */\nexport interface {name} extends Entity {{\n  id: String;\n  {array}: String[];\n}}\n"
        )
    };
    let schema = format!(
        "import {{ Entity, Manifest, EntityState, Team }} from \"../manifold\";\n{}{}",
        entity("FooBar", "baz"),
        entity("Foo", "barBaz")
    );
    let (c, out) = compile_in_memory("p/foo.ts", schema);
    assert!(!c.diagnostics.has_errors() && !out.diagnostics.has_errors());
    let fds = &out.artifacts.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
    let dbt = emit::dbt::emit(&c.model, &c.lock);
    let rust = emit::rust::product_rust(&c.model, &c.lock, "p", fds, &dbt.models).unwrap();
    let file: syn::File = syn::parse_str(&rust).unwrap();
    // Every struct, enum, fn and static, with the modules it sits in.
    fn names(items: &[syn::Item], path: &str, out: &mut Vec<String>) {
        for item in items {
            let name = match item {
                syn::Item::Struct(s) => s.ident.to_string(),
                syn::Item::Enum(e) => e.ident.to_string(),
                syn::Item::Fn(f) => f.sig.ident.to_string(),
                syn::Item::Static(s) => s.ident.to_string(),
                syn::Item::Mod(m) => {
                    names(m.content.as_ref().map_or(&[][..], |(_, items)| items), &format!("{path}::{}", m.ident), out);
                    continue;
                }
                _ => continue,
            };
            out.push(format!("{path}::{name}"));
        }
    }
    let mut all = Vec::new();
    names(&file.items, "", &mut all);
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "two items share a name: {all:?}");
    assert!(all.iter().filter(|n| n.ends_with("Exploded")).count() == 2, "{all:?}");
}

/// A checkout with Windows line endings (`core.autocrlf`), files saved with a
/// UTF-8 byte-order mark: the same schemas give the same lock and artifacts
/// to the byte, and a CRLF lock is not stale.
#[test]
fn crlf_and_bom_schemas_build_the_same_bytes() {
    let mut lf = Vec::new();
    let mut stack = vec![root().join("schemas")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let rel = manifold_compiler::source::display_path(&root().join("schemas"), &path);
            match path.extension().and_then(|x| x.to_str()) {
                _ if path.is_dir() => stack.push(path),
                Some("ts" | "sql") => lf.push((rel, std::fs::read_to_string(&path).unwrap())),
                _ => {}
            }
        }
    }
    assert!(lf.len() > 20 && lf.iter().any(|(p, _)| p.ends_with(".sql")), "{lf:?}");
    let lock = std::fs::read_to_string(root().join("schemas/manifold.lock")).unwrap();
    // With a byte-order mark, as some editors save UTF-8, too.
    let crlf: Vec<(String, String)> =
        lf.iter().map(|(p, t)| (p.clone(), format!("\u{feff}{}", t.replace('\n', "\r\n")))).collect();
    let build = |files: &[(String, String)], lock: &str| {
        let c = manifold_compiler::compile_loaded(
            manifold_compiler::load::from_memory(files, Some(lock)),
            "manifold.lock".into(),
        );
        assert!(!c.diagnostics.has_errors(), "{}", diag::render_text(&c.db, &c.diagnostics, false));
        (c.lock_is_stale(), manifold_compiler::emit(&c).artifacts)
    };
    let (lf_stale, lf_artifacts) = build(&lf, &lock);
    let (crlf_stale, crlf_artifacts) = build(&crlf, &lock.replace('\n', "\r\n"));
    assert!(!lf_stale && !crlf_stale);
    assert!(lf_artifacts == crlf_artifacts, "CRLF schemas emit other bytes");
}

/// A team model's fingerprint (the version of the `txn` by which the merge
/// step tells which model computed a table's rows) follows what the model
/// computes: not its SQL's whitespace or comments, but any change to an
/// expression, its filter or how its rows are written. Generated models have
/// none.
#[test]
fn a_team_models_fingerprint_follows_what_it_computes() {
    let schema = "import { Entity, Manifest, EntityState, Team, Int } from \"../manifold\";\n\
                  export interface FooManifest extends Manifest {\n  owner: Team.JIRA_AGILE;\n  status: EntityState.ACTIVE;\n}\n\
                  /** An entity. */\nexport interface Foo extends Entity {\n  id: String;\n  n: Int;\n}\n";
    let fingerprint = |sql: &str| -> String {
        let files = vec![
            ("manifold.ts".to_string(), include_str!("../../schemas/manifold.ts").to_string()),
            ("p/foo.ts".to_string(), schema.to_string()),
            ("p/models/foo_log.sql".to_string(), sql.to_string()),
        ];
        let c = manifold_compiler::compile_loaded(
            manifold_compiler::load::from_memory(&files, None),
            "manifold.lock".into(),
        );
        assert!(!c.diagnostics.has_errors(), "{}", diag::render_text(&c.db, &c.diagnostics, false));
        let out = manifold_compiler::emit(&c);
        assert!(!out.diagnostics.has_errors(), "{}", diag::render_text(&c.db, &out.diagnostics, false));
        let fds = &out.artifacts.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
        let rust = emit::rust::product_rust(&c.model, &c.lock, "p", fds, &out.models).unwrap();
        // The registry: the team's model names its fingerprint, the generated one none.
        let info = |name: &str| {
            let at = rust.find(&format!("name: \"{name}\"")).unwrap();
            let field = at + rust[at..].find("sql_fingerprint: ").unwrap();
            let text = &rust[field..field + rust[field..].find('}').unwrap()];
            text.split_whitespace().collect::<String>()
        };
        assert_eq!(info("foo"), "sql_fingerprint:None,");
        assert_eq!(info("foo_log"), "sql_fingerprint:Some(super::transforms::foo_log::FINGERPRINT),");
        let module = rust.find("pub mod foo_log {").unwrap();
        let at = module + rust[module..].find("pub const FINGERPRINT: i64 = ").unwrap();
        rust[at..at + rust[at..].find(';').unwrap()].to_string()
    };
    let model = |config: &str, n: &str, filter: &str| {
        format!(
            "{{{{ config({config}) }}}}\nSELECT\n  {{{{ select_envelope_fields() }}}}\n  {n} AS n,\n  \
             {{{{ select_required_fields() }}}}\nFROM {{{{ source('manifold_entities', 'Foo') }}}}\n{filter}"
        )
    };
    let base = fingerprint(&model("writer='append'", "CAST(n AS BIGINT)", ""));
    let spaced = model("writer='append'", "CAST( n  AS BIGINT )", "-- the same rows\n");
    assert_eq!(fingerprint(&spaced), base, "whitespace and comments are not what a model computes");
    let other = [
        model("writer='append'", "CAST(n + 1 AS BIGINT)", ""),
        model("writer='append'", "CAST(n AS BIGINT)", "WHERE n > 0"),
        model("writer='append', partition_by=['workspace_id']", "CAST(n AS BIGINT)", ""),
        model(
            "writer='merge_exploded', unique_key='envelope_fields_resource_ari_value'",
            "CAST(n AS BIGINT)",
            "WHERE n > 0",
        ),
    ];
    let mut seen = vec![base];
    for sql in other {
        let f = fingerprint(&sql);
        assert!(!seen.contains(&f), "{sql}\n{f} seen before");
        seen.push(f);
    }
}

/// An enum value's number maps to its name in the staging builders as long as
/// the lock holds it: a value removed from the schema (its number reserved)
/// still stages its name for a producer that has not stopped sending it.
#[test]
fn a_removed_enum_value_still_stages_its_name() {
    let schema = |values: &str| {
        format!(
            "import {{ Entity, Manifest, EntityState, Team }} from \"../manifold\";\n\
             export enum FooColor {{\n{values}}}\n\
             export interface FooManifest extends Manifest {{\n  owner: Team.JIRA_AGILE;\n  status: EntityState.ACTIVE;\n}}\n\
             /** An entity. */\nexport interface Foo extends Entity {{\n  id: String;\n  color?: FooColor;\n}}\n"
        )
    };
    let compile = |values: &str, lock: Option<&str>| {
        let files = vec![
            ("manifold.ts".to_string(), include_str!("../../schemas/manifold.ts").to_string()),
            ("p/foo.ts".to_string(), schema(values)),
        ];
        let c = manifold_compiler::compile_loaded(
            manifold_compiler::load::from_memory(&files, lock),
            "manifold.lock".into(),
        );
        assert!(!c.diagnostics.has_errors(), "{}", diag::render_text(&c.db, &c.diagnostics, false));
        c
    };
    let before = compile("  RED = \"RED\",\n  GREEN = \"GREEN\",\n  BLUE = \"BLUE\",\n", None);
    let after = compile("  RED = \"RED\",\n  BLUE = \"BLUE\",\n", Some(&before.lock_text));
    assert!(after.lock_text.contains("name = \"GREEN\", state = \"removed\""), "{}", after.lock_text);
    let out = manifold_compiler::emit(&after);
    let fds = &out.artifacts.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
    let rust = emit::rust::product_rust(&after.model, &after.lock, "p", fds, &out.models).unwrap();
    let at = rust.find("pub fn foo_color_name(").unwrap();
    let body: String = rust[at..].split_whitespace().collect();
    let body = &body[..body.find("}}").unwrap()];
    for arm in ["1=>Some(::std::borrow::Cow::Borrowed(\"RED\"))", "2=>Some(::std::borrow::Cow::Borrowed(\"GREEN\"))"] {
        assert!(body.contains(arm), "{arm} not in {body}");
    }
    assert!(body.contains("0=>None") && body.contains("unknown=>Some(::std::borrow::Cow::Owned(unknown.to_string()))"));
}

/// A team model's `deprecation_date` reaches dbt as the model's property in
/// its product's `schema.yml` (dbt warns of references to it, and of it once
/// the day has passed); a model without one gets no entry there.
#[test]
fn a_team_models_deprecation_date_is_a_dbt_property() {
    let schema = "import { Entity, Manifest, EntityState, Team } from \"../manifold\";\n\
                  export interface FooManifest extends Manifest {\n  owner: Team.JIRA_AGILE;\n  status: EntityState.ACTIVE;\n}\n\
                  /** An entity. */\nexport interface Foo extends Entity {\n  id: String;\n}\n";
    let model = |config: &str| {
        format!(
            "{{{{ config({config}) }}}}\nSELECT\n  {{{{ select_envelope_fields() }}}}\n  CAST(id AS STRING) AS id,\n  \
             {{{{ select_required_fields() }}}}\nFROM {{{{ source('manifold_entities', 'Foo') }}}}\n"
        )
    };
    let files = vec![
        ("manifold.ts".to_string(), include_str!("../../schemas/manifold.ts").to_string()),
        ("p/foo.ts".to_string(), schema.to_string()),
        ("p/models/foo_log.sql".to_string(), model("writer='append', deprecation_date='2027-03-31'")),
        ("p/models/foo_copy.sql".to_string(), model("writer='append'")),
    ];
    let c =
        manifold_compiler::compile_loaded(manifold_compiler::load::from_memory(&files, None), "manifold.lock".into());
    let out = manifold_compiler::emit(&c);
    assert!(!out.diagnostics.has_errors(), "{}", diag::render_text(&c.db, &out.diagnostics, false));
    let yml = text(&out.artifacts, "dbt/models/p/schema.yml");
    assert!(yml.ends_with("  - name: foo_log\n    deprecation_date: 2027-03-31\n"), "{yml}");
    assert!(!yml.contains("foo_copy"), "{yml}");
    assert_eq!(yml.matches("\n  - name: ").count(), 2, "the generated `foo`, and `foo_log`: {yml}");
}
