//! The configuration is described three times: the serde types (the parts' settings and
//! `schema.rs`), the key tree (`keys.rs`, which checks values and names environment variables)
//! and `examples/sesame.toml` (which documents every key next to its variable). These tests
//! fail when the three drift apart.

use super::keys::{camel_to_snake, join, Kind, Schema, ROOT};
use super::*;
use std::collections::HashSet;
use toml::{Table, Value};

const EXAMPLE: &str = include_str!("../../examples/sesame.toml");
const HOMELAB: &str = include_str!("../../examples/homelab.toml");

/// The name of the one table a sample of named tables (`[dev.users.NAME]`) has.
const SAMPLE_NAME: &str = "sample";

/// A value of `kind` that the key tree accepts; `pick` chooses among a `Choice`'s values.
fn sample(kind: Kind, pick: usize) -> Value {
    match kind {
        Kind::Str => Value::String("x".into()),
        Kind::Secs | Kind::SecsOrOff | Kind::Count | Kind::Port => Value::Integer(1),
        Kind::Bool => Value::Boolean(true),
        Kind::Choice(choices) => Value::String(choices[pick % choices.len()].into()),
        Kind::Strings | Kind::OneOrMore => Value::Array(vec![Value::String("x".into())]),
        Kind::Object => {
            let mut t = toml::Table::new();
            t.insert("custom".into(), Value::String("x".into()));
            Value::Table(t)
        }
        Kind::ScopesByApi => {
            let mut t = toml::Table::new();
            t.insert(
                "https://api.example/".into(),
                Value::Array(vec![Value::String("x".into())]),
            );
            Value::Table(t)
        }
        Kind::Section(schema) => Value::Table(sample_table(schema, pick)),
        Kind::Tables(schema) => Value::Array(vec![Value::Table(sample_table(schema, pick))]),
        Kind::Named(schema) => {
            let mut t = toml::Table::new();
            t.insert(SAMPLE_NAME.into(), Value::Table(sample_table(schema, pick)));
            Value::Table(t)
        }
    }
}

/// A table with every key of `schema` set, in the spelling the key tree uses (snake_case).
fn sample_table(schema: &Schema, pick: usize) -> Table {
    schema
        .keys
        .iter()
        .map(|key| (key.name.to_string(), sample(key.kind, pick)))
        .collect()
}

/// Every table path in the key tree (`""` for the root), with the schema of that table.
fn tables(schema: &'static Schema, path: &str, out: &mut Vec<(String, &'static Schema)>) {
    out.push((path.to_string(), schema));
    for key in schema.keys {
        match key.kind {
            Kind::Section(inner) | Kind::Tables(inner) => tables(inner, &join(path, key.name), out),
            Kind::Named(inner) => tables(inner, &join(&join(path, key.name), SAMPLE_NAME), out),
            _ => {}
        }
    }
}

/// The table at `path` in a sample, taking the first item of an array of tables.
fn table_at<'a>(table: &'a mut Table, path: &str) -> &'a mut Table {
    if path.is_empty() {
        return table;
    }
    let (first, rest) = path.split_once('.').unwrap_or((path, ""));
    let inner = match table.get_mut(first) {
        Some(Value::Table(t)) => t,
        Some(Value::Array(items)) => match items.first_mut() {
            Some(Value::Table(t)) => t,
            other => panic!("{first}: not an array of tables: {other:?}"),
        },
        other => panic!("{first}: not a table: {other:?}"),
    };
    table_at(inner, rest)
}

/// The longest `Choice` list, so that every choice of every key is tried.
fn most_choices(schema: &Schema) -> usize {
    schema
        .keys
        .iter()
        .map(|key| match key.kind {
            Kind::Choice(choices) => choices.len(),
            Kind::Section(inner) | Kind::Tables(inner) | Kind::Named(inner) => most_choices(inner),
            Kind::Str
            | Kind::Secs
            | Kind::SecsOrOff
            | Kind::Count
            | Kind::Port
            | Kind::Strings
            | Kind::OneOrMore
            | Kind::Bool
            | Kind::Object
            | Kind::ScopesByApi => 1,
        })
        .max()
        .unwrap_or(1)
}

/// Compares what serde wrote back (`actual`, camelCase where the table is) with what was read
/// (`expected`, snake_case), naming every key only one side has and every value that changed.
fn compare(
    schema: &Schema,
    path: &str,
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    problems: &mut Vec<String>,
) {
    let (Some(expected), Some(actual)) = (expected.as_object(), actual.as_object()) else {
        problems.push(format!("{path}: not a table on both sides"));
        return;
    };
    let actual: serde_json::Map<String, serde_json::Value> = actual
        .iter()
        .map(|(k, v)| {
            let name = if schema.camel {
                camel_to_snake(k)
            } else {
                k.clone()
            };
            (name, v.clone())
        })
        .collect();
    for name in actual.keys() {
        if !expected.contains_key(name) {
            problems.push(format!(
                "the serde types have {} but the key tree (config/keys.rs) does not",
                join(path, name)
            ));
        }
    }
    for key in schema.keys {
        let key_path = join(path, key.name);
        let (Some(want), Some(got)) = (expected.get(key.name), actual.get(key.name)) else {
            problems.push(format!(
                "the key tree has {key_path} but serde does not write it back"
            ));
            continue;
        };
        match (key.kind, want, got) {
            (Kind::Section(inner), _, _) => compare(inner, &key_path, want, got, problems),
            (Kind::Named(inner), serde_json::Value::Object(w), serde_json::Value::Object(g))
                if w.len() == g.len() =>
            {
                for (name, w) in w {
                    let g = g.get(name).unwrap_or(&serde_json::Value::Null);
                    compare(inner, &join(&key_path, name), w, g, problems);
                }
            }
            (Kind::Tables(inner), serde_json::Value::Array(w), serde_json::Value::Array(g))
                if w.len() == g.len() =>
            {
                for (i, (w, g)) in w.iter().zip(g).enumerate() {
                    compare(inner, &format!("{key_path}[{i}]"), w, g, problems);
                }
            }
            _ if want != got => {
                problems.push(format!("{key_path}: set to {want}, read back as {got}"))
            }
            _ => {}
        }
    }
}

#[test]
fn every_key_in_the_tree_is_a_serde_field_and_back() {
    for pick in 0..most_choices(&ROOT) {
        let table = sample_table(&ROOT, pick);
        let config: Config = table.clone().try_into().unwrap_or_else(|e| {
            panic!(
                "the key tree (config/keys.rs) has a key the serde types refuse: {}",
                e.message().trim()
            )
        });
        let expected = serde_json::to_value(&table).unwrap();
        let actual = serde_json::to_value(&config).unwrap();
        let mut problems = Vec::new();
        compare(&ROOT, "", &expected, &actual, &mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn serde_refuses_keys_outside_the_tree_in_every_table() {
    let mut all = Vec::new();
    tables(&ROOT, "", &mut all);
    for (path, _) in all {
        let mut table = sample_table(&ROOT, 0);
        table_at(&mut table, &path).insert("not_a_key".into(), Value::Integer(1));
        let refused = table.try_into::<Config>().is_err();
        assert!(
            refused,
            "[{path}] accepts unknown keys: its serde type needs deny_unknown_fields"
        );
    }
}

#[test]
fn choice_lists_match_the_types_that_take_them() {
    let mut all = Vec::new();
    tables(&ROOT, "", &mut all);
    let choices = |table: &str, name: &str| {
        let (_, schema) = all.iter().find(|(p, _)| p == table).unwrap();
        match schema.keys.iter().find(|k| k.name == name).map(|k| k.kind) {
            Some(Kind::Choice(choices)) => choices.to_vec(),
            _ => panic!("{table}.{name} is not a choice"),
        }
    };
    let usage_types: Vec<&str> = crate::mail::Purpose::ALL.map(|p| p.as_str()).to_vec();
    assert_eq!(choices("mail.templates", "usage_type"), usage_types);
    assert_eq!(choices("mail.ses.templates", "usage_type"), usage_types);
    for app_type in choices("app", "app_type") {
        let parsed: crate::store::AppType = app_type.parse().unwrap();
        assert_eq!(parsed.as_str(), app_type);
    }
}

/// What the example shows: every `[table]` header and every `table.key` set on a line of its
/// own (`key = value`, `#key = value` or `# key = value`), commented out or not.
fn shown_in_example() -> (HashSet<String>, HashSet<String>) {
    let mut headers = HashSet::new();
    let mut keys = HashSet::new();
    let mut table = String::new();
    for line in EXAMPLE.lines() {
        let line = line.trim_start_matches('#');
        if let Some(header) = line.strip_prefix('[') {
            table = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            headers.insert(table.clone());
            continue;
        }
        let line = line.trim_start();
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && line[name.len()..].trim_start().starts_with('=') {
            keys.insert(join(&table, &name));
        }
    }
    (headers, keys)
}

/// `name` in camelCase, as Logto's connector JSON spells it.
fn snake_to_camel(name: &str) -> String {
    name.split('_')
        .enumerate()
        .map(|(i, w)| match i {
            0 => w.to_string(),
            _ => w[..1].to_uppercase() + &w[1..],
        })
        .collect()
}

fn missing_from_example(
    schema: &Schema,
    table: &str,
    headers: &HashSet<String>,
    keys: &HashSet<String>,
    out: &mut Vec<String>,
) {
    for key in schema.keys {
        let path = join(table, key.name);
        match key.kind {
            Kind::Section(inner) | Kind::Tables(inner) => {
                if !headers.contains(&path) {
                    out.push(format!("no [{path}] table"));
                }
                missing_from_example(inner, &path, headers, keys, out);
            }
            Kind::Named(inner) => {
                let prefix = format!("{path}.");
                match headers.iter().find(|h| h.starts_with(&prefix)) {
                    Some(named) => missing_from_example(inner, named, headers, keys, out),
                    None => out.push(format!("no [{path}.NAME] table")),
                }
            }
            _ => {
                let camel = join(table, &snake_to_camel(key.name));
                let shown = keys.contains(&path) || (schema.camel && keys.contains(&camel));
                if !shown {
                    out.push(format!("{path} is not shown as a setting"));
                }
            }
        }
    }
}

/// True when `word` stands alone in `text` (`SESAME_MAIL_SMTP_PASSWORD` does not count inside
/// `SESAME_MAIL_SMTP_PASSWORD_FILE`).
fn mentions(text: &str, word: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

#[test]
fn the_example_file_documents_every_key_and_variable() {
    let (headers, keys) = shown_in_example();
    let mut missing = Vec::new();
    missing_from_example(&ROOT, "", &headers, &keys, &mut missing);
    for key in env_keys() {
        if !mentions(EXAMPLE, &key.var) {
            missing.push(format!("{} ({}) is not mentioned", key.var, key.path));
        }
    }
    for var in [ENV_CONFIG, ENV_SES_JSON] {
        if !mentions(EXAMPLE, var) {
            missing.push(format!("{var} is not mentioned"));
        }
    }
    assert!(
        missing.is_empty(),
        "examples/sesame.toml:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_example_file_loads_with_its_optional_settings_too() {
    let load = |text: &str| {
        resolve(
            Some((Path::new("examples/sesame.toml"), text)),
            &[],
            &Overrides::default(),
        )
    };
    load(EXAMPLE).unwrap_or_else(|e| panic!("examples/sesame.toml: {e}"));
    // The optional settings (a "#" right before the key) load too, once uncommented.
    let uncommented: String = EXAMPLE
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| !c.is_whitespace()) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (c, _) = load(&uncommented).unwrap_or_else(|e| panic!("uncommented example: {e}"));
    assert_eq!(c.apps.len(), 1);
    assert_eq!(
        c.mail.ses.as_ref().map(|s| s.region.as_str()),
        Some("eu-west-1")
    );
    assert_eq!(c.mail.templates.len(), 1);
    assert_eq!(c.forward_auth.cookie_domain.as_deref(), Some("example.com"));
    assert_eq!(c.access.len(), 2);
}

/// `examples/homelab.toml` is a whole setup people copy: it loads, and its apps pass the
/// registry's rules with their secrets read from the environment, as at a real start.
#[test]
fn the_homelab_example_loads_and_its_apps_reconcile() {
    let (config, _) = resolve(
        Some((Path::new("examples/homelab.toml"), HOMELAB)),
        &[],
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("examples/homelab.toml: {e}"));
    for app in &config.apps {
        let var = app.client_secret_env.as_deref().unwrap_or_else(|| {
            panic!(
                "{}: the homelab keeps secrets in /etc/sesame/env",
                app.client_id
            )
        });
        assert!(
            HOMELAB.contains(&format!("#   {var}=")),
            "{var} is not listed in the header"
        );
        // Names only the homelab example uses: tests share the process environment.
        std::env::set_var(var, format!("dummy-secret-for-{}", app.client_id));
    }
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(&dir.path().join("sesame.redb")).unwrap();
    // As at start: the built-in and declared groups and users first (apps name groups).
    crate::users::ensure_builtin_groups(&store, 1).unwrap();
    crate::users::reconcile(&store, 1, &config.groups, &config.users)
        .unwrap_or_else(|e| panic!("examples/homelab.toml: {e}"));
    let report = crate::apps::reconcile(&store, &config.apps)
        .unwrap_or_else(|e| panic!("examples/homelab.toml: {e}"));
    assert_eq!(
        report.created,
        [
            "grafana",
            "gitea",
            "oauth2-proxy",
            "immich",
            "jellyfin",
            "nextcloud",
            "proxmox",
            "portainer"
        ]
    );
    let app = |id: &str| crate::apps::get(&store, id).unwrap();
    assert!(app("jellyfin").allow_insecure_redirect);
    assert!(app("immich")
        .redirect_uris
        .contains(&"app.immich:///oauth-callback".to_string()));
    assert!(config
        .apps
        .iter()
        .filter(|a| a.client_id != "jellyfin")
        .all(|a| !a.allow_insecure_redirect));
}
