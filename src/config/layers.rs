//! The layers of configuration, merged and checked.
//!
//! Loading goes: TOML file → `toml::Table` (remembering the line of every key) → environment
//! variables written over it at known key paths → flags written over that → a walk over the
//! merged table against the schema tree ([`super::keys`]), which rejects unknown keys and values of the
//! wrong type while we still know where each value came from. Only then does serde turn the
//! table into [`Config`](super::Config), so a serde error is a bug here, not a user's problem.
//!
//! `SESAME_MAIL_SES_JSON` takes Logto's whole AWS SES connector JSON, written at `mail.ses`
//! before the individual `SESAME_MAIL_SES_*` variables.
//!
//! Owns the merge and the type walk, and [`Sources`] (where each value came from). Uses
//! [`super::keys`] and [`super::error`].

use super::keys::{
    camel_to_snake, env_keys, join, EnvKey, Kind, Schema, ENV_CONFIG, ENV_PREFIX, ENV_SES_JSON,
    ROOT, SES,
};
use super::{ConfigError, Source};
use std::collections::HashMap;
use std::path::Path;
use toml::{Table, Value};
use Kind::*;

/// Where each key path's value came from, for error messages.
#[derive(Default)]
pub(super) struct Sources {
    by_path: HashMap<String, Source>,
}

impl Sources {
    /// The source of `path`, or of the nearest enclosing table that has one.
    pub fn of(&self, path: &str) -> Source {
        let mut p = path;
        loop {
            if let Some(s) = self.by_path.get(p) {
                return s.clone();
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return Source::Default,
            }
        }
    }

    fn set(&mut self, path: String, source: Source) {
        // A value written over a table replaces everything under it, sources included.
        let nested =
            |k: &String| k.starts_with(&format!("{path}.")) || k.starts_with(&format!("{path}["));
        self.by_path.retain(|k, _| !nested(k));
        self.by_path.insert(path, source);
    }
}

/// Parses the file into a table whose keys are in canonical (snake_case) spelling, and
/// records the line of every key.
pub(super) fn parse_file(path: &Path, text: &str) -> Result<(Table, Sources), ConfigError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(s.start)).unwrap_or(1),
            message: e.message().trim().to_string(),
        })?;
    let mut sources = Sources::default();
    // The same text parsed a second time, with spans, only to learn lines.
    if let Ok(spanned) = toml::de::DeTable::parse(text) {
        record_lines(spanned.get_ref(), Some(&ROOT), "", &mut |p, offset| {
            let source = Source::File {
                path: path.to_path_buf(),
                line: line_of(offset),
            };
            sources.by_path.insert(p, source);
        });
    }
    canonicalize(&mut table, &ROOT, "", &sources)?;
    Ok((table, sources))
}

fn record_lines(
    table: &toml::de::DeTable<'_>,
    schema: Option<&Schema>,
    prefix: &str,
    note: &mut dyn FnMut(String, usize),
) {
    for (k, v) in table.iter() {
        let name = match schema {
            Some(s) if s.camel => camel_to_snake(k.get_ref()),
            _ => k.get_ref().to_string(),
        };
        let path = join(prefix, &name);
        note(path.clone(), k.span().start);
        let kind = schema
            .and_then(|s| s.keys.iter().find(|key| key.name == name))
            .map(|key| key.kind);
        match v.get_ref() {
            toml::de::DeValue::Table(t) => match kind {
                Some(Named(inner)) => {
                    for (name, item) in t.iter() {
                        let item_path = join(&path, name.get_ref());
                        note(item_path.clone(), name.span().start);
                        if let toml::de::DeValue::Table(t) = item.get_ref() {
                            record_lines(t, Some(inner), &item_path, note);
                        }
                    }
                }
                Some(Section(inner)) => record_lines(t, Some(inner), &path, note),
                _ => record_lines(t, None, &path, note),
            },
            toml::de::DeValue::Array(items) => {
                let inner = match kind {
                    Some(Tables(s)) => Some(s),
                    _ => None,
                };
                for (i, item) in items.iter().enumerate() {
                    if let toml::de::DeValue::Table(t) = item.get_ref() {
                        let item_path = format!("{path}[{i}]");
                        note(item_path.clone(), item.span().start);
                        record_lines(t, inner, &item_path, note);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Writes the `SESAME_*` variables over the table. Returns warnings for variables that name no
/// key; a variable one or two letters away from a real one is an error instead (a typo that
/// would otherwise silently leave the default in place).
pub(super) fn apply_env(
    table: &mut Table,
    sources: &mut Sources,
    env: &[(String, String)],
) -> Result<Vec<String>, ConfigError> {
    let keys = env_keys();
    let mut warnings = Vec::new();
    let value_of = |var: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.as_str())
    };

    if let Some(json) = value_of(ENV_SES_JSON).filter(|v| !v.trim().is_empty()) {
        let source = Source::Env(ENV_SES_JSON.into());
        let mut ses = json_to_toml(json, "mail.ses", &source, true)?;
        if let Value::Table(t) = &mut ses {
            canonicalize(t, &SES, "mail.ses", sources)?;
        }
        set_path(table, "mail.ses", Some(ses));
        sources.set("mail.ses".into(), source);
    }
    for key in &keys {
        let Some(raw) = value_of(&key.var) else {
            continue;
        };
        let source = Source::Env(key.var.clone());
        // An empty variable unsets the key: the file's value or the default no longer applies.
        let value = if raw.trim().is_empty() {
            None
        } else {
            Some(env_value(raw, key, &source, sources)?)
        };
        set_path(table, &key.path, value);
        sources.set(key.path.clone(), source);
    }

    let mut names: Vec<&String> = env.iter().map(|(k, _)| k).collect();
    names.sort();
    names.dedup();
    for name in names {
        if !name.starts_with(ENV_PREFIX) || name == ENV_CONFIG || name == ENV_SES_JSON {
            continue;
        }
        if keys.iter().any(|k| &k.var == name) {
            continue;
        }
        let nearest = keys
            .iter()
            .map(|k| k.var.as_str())
            .chain([ENV_CONFIG, ENV_SES_JSON])
            .map(|k| (edit_distance(k, name), k))
            .min();
        match nearest {
            Some((d, known)) if d <= 2 => {
                return Err(ConfigError::UnknownKey {
                    key: name.clone(),
                    source: Source::Env(name.clone()),
                    suggestion: Some(known.to_string()),
                })
            }
            _ => warnings.push(format!(
                "environment variable {name} is not a sesame setting and is ignored"
            )),
        }
    }
    Ok(warnings)
}

/// Writes a flag's value at `path`.
pub(super) fn apply_flag(
    table: &mut Table,
    sources: &mut Sources,
    path: &str,
    flag: &'static str,
    value: &str,
) {
    set_path(table, path, Some(Value::String(value.to_string())));
    sources.set(path.to_string(), Source::Flag(flag));
}

/// Checks the merged table against the schema: every key known, every value of the right
/// type, required keys present. Choices are rewritten in their canonical spelling.
pub(super) fn check(table: &mut Table, sources: &Sources) -> Result<(), ConfigError> {
    check_table(table, &ROOT, "", sources)
}

fn check_table(
    table: &mut Table,
    schema: &Schema,
    prefix: &str,
    sources: &Sources,
) -> Result<(), ConfigError> {
    for name in table.keys() {
        if !schema.keys.iter().any(|k| k.name == name) {
            let path = join(prefix, name);
            let nearest = schema
                .keys
                .iter()
                .map(|k| (edit_distance(k.name, name), k.name))
                .min();
            return Err(ConfigError::UnknownKey {
                source: sources.of(&path),
                key: path,
                suggestion: nearest
                    .filter(|(d, _)| *d <= 3)
                    .map(|(_, k)| join(prefix, k)),
            });
        }
    }
    for key in schema.keys {
        let path = join(prefix, key.name);
        match table.get_mut(key.name) {
            Some(value) => check_value(value, key.kind, &path, sources)?,
            None if key.required => {
                let within = if prefix.is_empty() {
                    "the configuration".to_string()
                } else {
                    prefix.to_string()
                };
                return Err(ConfigError::Invalid {
                    source: sources.of(prefix),
                    key: path,
                    message: format!("is required in {within}"),
                });
            }
            None => {}
        }
    }
    Ok(())
}

fn check_value(
    value: &mut Value,
    kind: Kind,
    path: &str,
    sources: &Sources,
) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: path.to_string(),
        source: sources.of(path),
        message,
    };
    // A secret put in the wrong shape (`password = 12345678`) is still a secret: error messages
    // end up in terminals, logs and bug reports, so they say only what type it was.
    let hidden = is_secret(path) || sources.of(path) == Source::Env(ENV_SES_JSON.into());
    let describe = |v: &Value| {
        if hidden {
            type_name(v).to_string()
        } else {
            describe(v)
        }
    };
    match kind {
        Str => value
            .as_str()
            .map(|_| ())
            .ok_or_else(|| invalid(format!("expected a string, got {}", describe(value)))),
        Secs => match value.as_integer() {
            Some(n) if n > 0 => Ok(()),
            _ => Err(invalid(format!(
                "expected a positive whole number of seconds, got {}",
                describe(value)
            ))),
        },
        SecsOrOff => match value.as_integer() {
            Some(n) if n >= 0 => Ok(()),
            _ => Err(invalid(format!(
                "expected a whole number of seconds (0 turns it off), got {}",
                describe(value)
            ))),
        },
        Count => match value.as_integer() {
            Some(n) if n > 0 => Ok(()),
            _ => Err(invalid(format!(
                "expected a positive whole number, got {}",
                describe(value)
            ))),
        },
        Port => match value.as_integer() {
            Some(n) if (1..=65535).contains(&n) => Ok(()),
            _ => Err(invalid(format!(
                "expected a port number from 1 to 65535, got {}",
                describe(value)
            ))),
        },
        Bool => match value {
            Value::Boolean(_) => Ok(()),
            _ => Err(invalid(format!(
                "expected true or false, got {}",
                describe(value)
            ))),
        },
        Choice(choices) => {
            let found = value
                .as_str()
                .and_then(|s| choices.iter().find(|c| c.eq_ignore_ascii_case(s.trim())));
            match found {
                Some(c) => {
                    *value = Value::String(c.to_string());
                    Ok(())
                }
                None => Err(invalid(format!(
                    "expected one of {}, got {}",
                    choices.join(", "),
                    describe(value)
                ))),
            }
        }
        Strings => match value.as_array() {
            Some(items) if items.iter().all(Value::is_str) => Ok(()),
            _ => Err(invalid(format!(
                "expected an array of strings, got {}",
                describe(value)
            ))),
        },
        OneOrMore => match value {
            Value::String(_) => Ok(()),
            Value::Array(items) if items.iter().all(Value::is_str) => Ok(()),
            _ => Err(invalid(format!(
                "expected a string or an array of strings, got {}",
                describe(value)
            ))),
        },
        Object => value.as_table().map(|_| ()).ok_or_else(|| {
            invalid(format!(
                "expected a table such as {{ is_admin = true }}, got {}",
                describe(value)
            ))
        }),
        ScopesByApi => match value.as_table() {
            Some(t)
                if t.values().all(|v| {
                    v.as_array()
                        .is_some_and(|items| items.iter().all(Value::is_str))
                }) =>
            {
                Ok(())
            }
            _ => Err(invalid(format!(
                "expected scopes by API, such as {{ \"https://api.home/\" = [\"read\"] }}, got {}",
                describe(value)
            ))),
        },
        Section(schema) => match value.as_table_mut() {
            Some(t) => check_table(t, schema, path, sources),
            None => Err(invalid(format!(
                "expected a table ([{path}]), got {}",
                describe(value)
            ))),
        },
        Named(schema) => {
            let Some(items) = value.as_table_mut() else {
                return Err(invalid(format!(
                    "expected tables by name ([{path}.NAME]), got {}",
                    describe(value)
                )));
            };
            for (name, item) in items.iter_mut() {
                let item_path = join(path, name);
                match item.as_table_mut() {
                    Some(t) => check_table(t, schema, &item_path, sources)?,
                    None => {
                        return Err(ConfigError::Invalid {
                            source: sources.of(&item_path),
                            message: format!(
                                "expected a table ([{item_path}]), got {}",
                                describe(item)
                            ),
                            key: item_path,
                        })
                    }
                }
            }
            Ok(())
        }
        Tables(schema) => {
            let Some(items) = value.as_array_mut() else {
                return Err(invalid(format!(
                    "expected an array of tables ([[{path}]]), got {}",
                    describe(value)
                )));
            };
            for (i, item) in items.iter_mut().enumerate() {
                let item_path = format!("{path}[{i}]");
                match item.as_table_mut() {
                    Some(t) => check_table(t, schema, &item_path, sources)?,
                    None => {
                        return Err(ConfigError::Invalid {
                            source: sources.of(&item_path),
                            message: format!("expected a table, got {}", describe(item)),
                            key: item_path,
                        })
                    }
                }
            }
            Ok(())
        }
    }
}

/// Renames camelCase keys to snake_case where the schema allows both; both spellings of one
/// key at once is an error.
fn canonicalize(
    table: &mut Table,
    schema: &Schema,
    prefix: &str,
    sources: &Sources,
) -> Result<(), ConfigError> {
    if schema.camel {
        let renames: Vec<(String, String)> = table
            .keys()
            .map(|k| (k.clone(), camel_to_snake(k)))
            .filter(|(k, snake)| k != snake)
            .collect();
        for (camel, snake) in renames {
            if table.contains_key(&snake) {
                let path = join(prefix, &snake);
                return Err(ConfigError::Invalid {
                    source: sources.of(&path),
                    key: path,
                    message: format!("given twice, as {camel} and as {snake}; keep one"),
                });
            }
            if let Some(v) = table.remove(&camel) {
                table.insert(snake, v);
            }
        }
    }
    for key in schema.keys {
        let path = join(prefix, key.name);
        match (key.kind, table.get_mut(key.name)) {
            (Section(inner), Some(Value::Table(t))) => canonicalize(t, inner, &path, sources)?,
            (Tables(inner), Some(Value::Array(items))) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Table(t) = item {
                        canonicalize(t, inner, &format!("{path}[{i}]"), sources)?;
                    }
                }
            }
            (Named(inner), Some(Value::Table(items))) => {
                for (name, item) in items.iter_mut() {
                    if let Value::Table(t) = item {
                        canonicalize(t, inner, &join(&path, name), sources)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns an environment variable's text into a TOML value of the key's kind.
fn env_value(
    raw: &str,
    key: &EnvKey,
    source: &Source,
    sources: &Sources,
) -> Result<Value, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: key.path.clone(),
        source: source.clone(),
        message,
    };
    match key.kind {
        Secs | SecsOrOff | Count | Port => raw
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| invalid(format!("expected a whole number, got {raw:?}"))),
        Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(invalid(format!("expected true or false, got {raw:?}"))),
        },
        Strings => json_to_toml(raw, &key.path, source, false),
        Object | ScopesByApi => json_to_toml(raw, &key.path, source, true),
        Named(schema) => {
            let mut value = json_to_toml(raw, &key.path, source, true)?;
            if let Value::Table(items) = &mut value {
                for (name, item) in items.iter_mut() {
                    if let Value::Table(t) = item {
                        canonicalize(t, schema, &join(&key.path, name), sources)?;
                    }
                }
            }
            Ok(value)
        }
        Tables(schema) => {
            let mut value = json_to_toml(raw, &key.path, source, false)?;
            if let Value::Array(items) = &mut value {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Table(t) = item {
                        canonicalize(t, schema, &format!("{}[{i}]", key.path), sources)?;
                    }
                }
            }
            Ok(value)
        }
        // A JSON array, or else the text itself as the one name.
        OneOrMore if raw.trim_start().starts_with('[') => {
            json_to_toml(raw, &key.path, source, false)
        }
        Str | OneOrMore | Choice(_) | Section(_) => Ok(Value::String(raw.to_string())),
    }
}

/// Parses JSON from an environment variable into a TOML value (JSON `null`s are dropped: TOML
/// has none, and an absent key means the same).
fn json_to_toml(
    raw: &str,
    path: &str,
    source: &Source,
    object: bool,
) -> Result<Value, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: path.to_string(),
        source: source.clone(),
        message,
    };
    let json: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| invalid(format!("expected JSON: {e}")))?;
    if object && !json.is_object() {
        return Err(invalid("expected a JSON object".into()));
    }
    if !object && !json.is_array() {
        return Err(invalid("expected a JSON array".into()));
    }
    convert(json).ok_or_else(|| invalid("JSON null inside an array".into()))
}

fn convert(json: serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match json {
        J::Null => return None,
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64()?),
        },
        J::String(s) => Value::String(s),
        J::Array(items) => {
            Value::Array(items.into_iter().map(convert).collect::<Option<Vec<_>>>()?)
        }
        J::Object(map) => {
            let mut t = Table::new();
            for (k, v) in map {
                if !v.is_null() {
                    t.insert(k, convert(v)?);
                }
            }
            Value::Table(t)
        }
    })
}

/// Sets (or with `None` removes) the value at a dotted path, creating tables on the way.
fn set_path(table: &mut Table, path: &str, value: Option<Value>) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut t = table;
    for part in parts {
        let entry = t
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        t = match entry {
            Value::Table(inner) => inner,
            // Made a table just above.
            _ => return,
        };
    }
    match value {
        Some(v) => {
            t.insert(last.to_string(), v);
        }
        None => {
            t.remove(last);
        }
    }
}

/// True for the keys whose values are secrets (in either spelling), wherever they are.
fn is_secret(path: &str) -> bool {
    const SECRETS: &[&str] = &[
        "password",
        "access_key_secret",
        "accessKeySecret",
        "smtp_password",
        "smtpPassword",
        "client_secret",
        "clientSecret",
    ];
    let name = path.rsplit(['.', ']']).next().unwrap_or(path);
    SECRETS.contains(&name)
}

/// What kind of value `v` is, without the value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a decimal number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
