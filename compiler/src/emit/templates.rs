//! The minijinja environment over `templates/`. Templates are compiled into the
//! binary (`include_str!`), so emitting needs no file system and a `manifold`
//! binary works anywhere. Block tags swallow their own line (`trim_blocks`,
//! `lstrip_blocks`), so templates read like their output.

use std::sync::OnceLock;

use minijinja::Environment;

/// Every template, by its path under `templates/`.
const TEMPLATES: &[(&str, &str)] = &[
    ("generated_README.md", include_str!("../../../templates/generated_README.md")),
    ("dbt/dbt_project.yml", include_str!("../../../templates/dbt/dbt_project.yml")),
    ("dbt/manifold.sql", include_str!("../../../templates/dbt/manifold.sql")),
    ("dbt/model.sql.j2", include_str!("../../../templates/dbt/model.sql.j2")),
    ("dbt/sources.yml.j2", include_str!("../../../templates/dbt/sources.yml.j2")),
    ("dbt/schema.yml.j2", include_str!("../../../templates/dbt/schema.yml.j2")),
    ("proto/envelope.proto", include_str!("../../../templates/proto/envelope.proto")),
    ("proto/product.proto.j2", include_str!("../../../templates/proto/product.proto.j2")),
    ("proto/buf.yaml", include_str!("../../../templates/proto/buf.yaml")),
    ("crate/Cargo.toml.j2", include_str!("../../../templates/crate/Cargo.toml.j2")),
    ("crate/build.rs.j2", include_str!("../../../templates/crate/build.rs.j2")),
    ("crate/main.rs.j2", include_str!("../../../templates/crate/main.rs.j2")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // No HTML/JSON auto-escaping by file extension: free text is quoted explicitly
        // with `tojson` where a format needs it.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_filter("yaml_name", yaml_name);
        env.add_filter("dbt_text", dbt_text);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env
    })
}

/// A name as a YAML scalar: plain, or quoted when YAML 1.1 (PyYAML, which dbt
/// reads its files with) would take the plain word for a null or a boolean —
/// a column `on` or `null`, an entity `Yes`. Names are ASCII identifiers, so
/// nothing else is ambiguous.
fn yaml_name(name: &str) -> String {
    const NOT_STRINGS: [&str; 11] = ["~", "false", "n", "no", "null", "off", "on", "true", "y", "yes", ""];
    if NOT_STRINGS.contains(&name.to_ascii_lowercase().as_str()) {
        serde_json::to_string(name).expect("a string serializes")
    } else {
        name.to_string()
    }
}

/// Free text (a JSDoc description) as dbt reads it back unchanged: dbt renders
/// every description with Jinja, so text holding `{{`, `{%` or `{#` (a doc
/// showing a template) would lose its placeholders or fail the whole
/// project's parse. Such text goes in a `{% raw %}` block; a `{%` inside, which
/// could end the block, is written as the expression `{{ '{%' }}` between two
/// blocks.
fn dbt_text(text: &str) -> String {
    if !["{{", "{%", "{#"].iter().any(|open| text.contains(open)) {
        return text.to_string();
    }
    format!("{{% raw %}}{}{{% endraw %}}", text.replace("{%", "{% endraw %}{{ '{%' }}{% raw %}"))
}

/// Renders `name` with `ctx`. Templates and contexts are both ours, so a failure is
/// a bug in Manifold, not in the user's schemas.
pub fn render(name: &str, ctx: impl serde::Serialize) -> String {
    let template = env().get_template(name).unwrap_or_else(|e| panic!("no template {name}: {e}"));
    template
        .render(minijinja::Value::from(minijinja::value::Serde(ctx)))
        .unwrap_or_else(|e| panic!("template {name} failed: {e:#}"))
}

/// A template's text, unrendered.
pub fn raw(name: &str) -> &'static str {
    TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or_else(|| panic!("no template {name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_with_jinja_delimiters_is_kept_from_dbt_s_jinja() {
        assert_eq!(super::dbt_text("plain {text}"), "plain {text}");
        assert_eq!(super::dbt_text("as {{ x }}"), "{% raw %}as {{ x }}{% endraw %}");
        assert_eq!(
            super::dbt_text("a {% endraw %}"),
            "{% raw %}a {% endraw %}{{ '{%' }}{% raw %} endraw %}{% endraw %}"
        );
    }

    #[test]
    fn yaml_names_that_would_read_as_other_values_are_quoted() {
        let rendered: Vec<String> =
            ["id_value", "on", "Null", "TRUE", "no", "y", "yes_or_no"].map(super::yaml_name).into();
        assert_eq!(rendered, ["id_value", "\"on\"", "\"Null\"", "\"TRUE\"", "\"no\"", "\"y\"", "yes_or_no"]);
    }
}
