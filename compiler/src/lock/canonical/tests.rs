use proptest::prelude::*;

use super::super::format::{RawLock, write};
use super::super::{ElementState, Lock, LockedEntity, LockedEnum, LockedField, LockedMessage, LockedValue};
use super::read;
use crate::model::EntityState;

/// What the TOML reader makes of `text`, printed with every span.
fn through_toml(text: &str) -> Result<String, String> {
    toml::from_str::<RawLock>(text).map(|raw| format!("{raw:#?}")).map_err(|e| e.to_string())
}

fn through_canonical(text: &str) -> Option<String> {
    read(text).map(|raw| format!("{raw:#?}"))
}

/// The contract: the canonical reader declines, or agrees with TOML.
fn assert_declines_or_agrees(text: &str) {
    match (through_canonical(text), through_toml(text)) {
        (None, _) => {}
        (Some(ours), Ok(toml)) => assert_eq!(ours, toml, "the readers disagree on:\n{text}"),
        (Some(ours), Err(e)) => panic!("read text TOML refuses ({e}) as\n{ours}\n\nthe text:\n{text}"),
    }
}

#[test]
fn the_example_lock_is_canonical_and_reads_as_toml_reads_it() {
    let text = include_str!("../../../../schemas/manifold.lock");
    let ours = through_canonical(text).expect("the committed lock is canonical");
    assert_eq!(ours, through_toml(text).unwrap());
    assert!(ours.contains("entity_type: Spanned"), "spans are compared too");
}

#[test]
fn the_synthetic_trees_lock_is_canonical() {
    let files =
        crate::synthetic::tree(crate::synthetic::Shape { products: 2, entities_per_product: 5, fields_per_entity: 12 });
    let first = crate::compile_loaded(crate::load::from_memory(&files, None), "manifold.lock".into());
    assert!(first.lock.entities.len() == 10 && !first.lock.enums.is_empty() && !first.lock.structs.is_empty());
    assert_eq!(through_canonical(&first.lock_text).unwrap(), through_toml(&first.lock_text).unwrap());
}

/// Hand edits, whether TOML accepts them or not, are all left to the TOML
/// reader (its value or its diagnostic).
#[test]
fn hand_edits_are_left_to_toml() {
    let text = write(&sample());
    assert!(read(&text).is_some());
    let toml_accepts = [
        text.replace("entity_type = 7", "entity_type = 0x7"),
        text.replace("entity_type = 7", "entity_type = 7 # mine"),
        text.replace("number = 1,", "number = 1 ,"),
        text.replace("product = ", "product= "),
        text.replace("\n[enums", "\n  [enums"),
        text.replace("name = \"a\"", "name = 'a'"),
        text.replace("version = 1\n", "version  = 1\n"),
        text.trim_end().to_string(),
    ];
    let toml_refuses = [
        format!("{text}{}", text.split_once("\n[entities").map(|(_, t)| format!("\n[entities{t}")).unwrap()),
        text.replace("name = \"a\"", "name = \"a\", name = \"b\""),
        text.replace("version = 1", "version = 1\nversion = 1"),
        text.replace("# It pins", "# It\u{1} pins"),
        text.replace("[entities.E]", "[entities.E"),
        text.replace("entity_type = 7", "entity_type = 07"),
        text.replace("number = 2,", "number = 4294967296,"),
        text.replace("fields = [\n", "fields = [\n  { number = 99 },\n"),
    ];
    let cases = toml_accepts.iter().map(|t| (t, true)).chain(toml_refuses.iter().map(|t| (t, false)));
    for (edited, accepted) in cases {
        assert_eq!(through_toml(edited).is_ok(), accepted, "{edited}");
        assert!(read(edited).is_none(), "{edited}");
    }
}

fn sample() -> Lock {
    let field = |number, name: &str| LockedField {
        number,
        name: name.into(),
        ty: "String".into(),
        optional: number % 2 == 0,
        key: number == 1,
        state: if number == 3 { ElementState::Removed } else { ElementState::Active },
    };
    let mut lock = Lock::default();
    lock.entities.insert(
        "E".into(),
        LockedEntity {
            product: "p".into(),
            entity_type: 7,
            state: EntityState::Active,
            removed: false,
            fields: vec![field(1, "a"), field(2, "b"), field(3, "c")],
        },
    );
    lock.structs.insert("p.S".into(), LockedMessage { removed: true, fields: vec![field(1, "x")] });
    lock.enums.insert(
        "p.En".into(),
        LockedEnum {
            removed: false,
            values: vec![LockedValue { number: 1, name: "ONE".into(), state: ElementState::Deprecated }],
        },
    );
    lock
}

/// Names with what needs quoting or escaping in TOML.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_. \"\\\\é\t\u{1}#=,{}\\[\\]-]{0,6}"
}

fn element_state() -> impl Strategy<Value = ElementState> {
    prop_oneof![Just(ElementState::Active), Just(ElementState::Deprecated), Just(ElementState::Removed)]
}

fn fields() -> impl Strategy<Value = Vec<LockedField>> {
    prop::collection::vec(
        (any::<u32>(), name(), name(), any::<bool>(), any::<bool>(), element_state()).prop_map(
            |(number, name, ty, optional, key, state)| LockedField { number, name, ty, optional, key, state },
        ),
        0..4,
    )
}

fn lock() -> impl Strategy<Value = Lock> {
    let entity = (name(), any::<u32>(), 0..3usize, any::<bool>(), fields()).prop_map(
        |(product, entity_type, state, removed, fields)| LockedEntity {
            product,
            entity_type,
            state: EntityState::ALL[state],
            removed,
            fields,
        },
    );
    let message = (any::<bool>(), fields()).prop_map(|(removed, fields)| LockedMessage { removed, fields });
    let value =
        (any::<u32>(), name(), element_state()).prop_map(|(number, name, state)| LockedValue { number, name, state });
    let enumeration = (any::<bool>(), prop::collection::vec(value, 0..3))
        .prop_map(|(removed, values)| LockedEnum { removed, values });
    (
        prop::collection::btree_map(name(), entity, 0..3),
        prop::collection::btree_map(name(), message, 0..3),
        prop::collection::btree_map(name(), enumeration, 0..3),
    )
        .prop_map(|(entities, structs, enums)| Lock { entities, structs, enums })
}

proptest! {
    /// Whatever `write` gives, both readers read alike; the canonical one
    /// declines only names it would have to unescape.
    #[test]
    fn written_locks_read_as_toml_reads_them(lock in lock()) {
        let text = write(&lock);
        assert_declines_or_agrees(&text);
        let plain = |s: &String| !s.contains(['"', '\\']) && !s.chars().any(char::is_control);
        let all_plain = lock.entities.iter().all(|(n, e)| plain(n) && plain(&e.product) && e.fields.iter().all(|f| plain(&f.name) && plain(&f.ty)))
            && lock.structs.iter().all(|(n, s)| plain(n) && s.fields.iter().all(|f| plain(&f.name) && plain(&f.ty)))
            && lock.enums.iter().all(|(n, e)| plain(n) && e.values.iter().all(|v| plain(&v.name)));
        prop_assert_eq!(read(&text).is_some(), all_plain, "{}", text);
    }

    /// A lock with one edit anywhere (a character in or out, a line
    /// repeated or dropped): declined, or read as TOML reads it.
    #[test]
    fn edited_locks_are_declined_or_read_as_toml_reads_them(
        at in any::<prop::sample::Index>(),
        edit in 0..4usize,
        c in prop::sample::select(vec!['\n', ' ', '#', '[', ']', '{', '}', '=', '"', ',', '\\', '0', '9', 'a', '.', '\t', '\r']),
    ) {
        let text = write(&sample());
        let i = at.index(text.len());
        let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n + 1);
        let edited = match edit {
            0 => format!("{}{c}{}", &text[..i], &text[i..]),
            1 => format!("{}{}", &text[..i], &text[i + 1..]),
            2 => format!("{}{}", &text[..line_end], &text[line_start..]),
            _ => format!("{}{}", &text[..line_start], &text[line_end..]),
        };
        assert_declines_or_agrees(&edited);
    }
}
