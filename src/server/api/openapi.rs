//! The API's OpenAPI 3.1 description: `openapi.json` beside this file, embedded in the binary,
//! served at `GET /api/v1/openapi.json` with the server's own URL in `servers`.
//!
//! It is data the API also reads: a request body may have only the members its schema lists
//! ([`check_members`]), so the document is the contract in fact, not just in words. The tests
//! below keep it and [`ROUTES`](super::ROUTES) equal both ways (every route described, every description
//! routed), and every `$ref` resolving.

use super::problem::Problem;
use super::{Call, Reply, Route, PREFIX};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The document: `openapi.json` as written, its indentation taken out by `build.rs`.
const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The parsed document. It is embedded, so it parses or no test passes (see the tests); were
/// it ever not to, the API would answer with an empty document and check no members.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(SOURCE).unwrap_or(Value::Null))
}

/// `GET /api/v1/openapi.json`: the document, its server URL this issuer's.
pub fn serve(c: &Call<'_>) -> Result<Reply, Problem> {
    let mut doc = document().clone();
    let url = c.server.provider.issuer.endpoint(PREFIX);
    doc["servers"] = serde_json::json!([{ "url": url }]);
    Ok(Reply::ok(doc))
}

/// Refuses a body member that the route's request schema does not list (a misspelt member
/// would otherwise be ignored, and a `PATCH` would quietly change nothing). A route without a
/// request body takes no members at all; a schema with `additionalProperties` not `false`
/// (the connector's own JSON) takes any.
pub fn check_members(route: &Route, body: &Map<String, Value>) -> Result<(), Problem> {
    let Some(first) = body.keys().next() else {
        return Ok(());
    };
    let Some(schema) = request_schema(route) else {
        return Err(Problem::invalid(
            first.as_str(),
            format!(
                "{} {PREFIX}{} takes no body",
                route.verb.as_str(),
                route.path
            ),
        ));
    };
    if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        return Ok(());
    }
    let known = schema.get("properties").and_then(Value::as_object);
    let is_known = |k: &str| known.is_some_and(|p| p.contains_key(k));
    match body.keys().find(|k| !is_known(k)) {
        None => Ok(()),
        Some(unknown) => {
            let names: Vec<&str> = known
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            Err(Problem::invalid(
                unknown.as_str(),
                format!(
                    "unknown member {unknown:?}; this body takes {}",
                    names.join(", ")
                ),
            ))
        }
    }
}

/// The operation object of a route.
fn operation(route: &Route) -> Option<&'static Value> {
    let verb = route.verb.as_str().to_ascii_lowercase();
    document().get("paths")?.get(route.path)?.get(verb)
}

/// The JSON schema of a route's request body, `$ref` resolved.
fn request_schema(route: &Route) -> Option<&'static Value> {
    let schema = operation(route)?
        .get("requestBody")?
        .get("content")?
        .get("application/json")?
        .get("schema")?;
    resolve(schema)
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve(v: &'static Value) -> Option<&'static Value> {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => document().pointer(r.strip_prefix('#')?),
        None => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Access, Verb, ROUTES};
    use super::*;
    use std::collections::BTreeSet;

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    #[test]
    fn the_document_is_openapi_3_1() {
        let doc: Value = serde_json::from_str(SOURCE).expect("openapi.json parses");
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string());
    }

    #[test]
    fn every_route_is_described_and_every_description_is_routed() {
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.verb.as_str().to_string(), r.path.to_string()))
            .collect();
        assert_eq!(routed.len(), ROUTES.len(), "a route is listed twice");
        let mut described = BTreeSet::new();
        for (path, item) in document()["paths"].as_object().unwrap() {
            for (key, _) in item.as_object().unwrap() {
                if METHODS.contains(&key.as_str()) {
                    described.insert((key.to_ascii_uppercase(), path.clone()));
                } else {
                    assert_eq!(key, "parameters", "{path}: unexpected {key}");
                }
            }
        }
        let missing: Vec<_> = routed.difference(&described).collect();
        let unrouted: Vec<_> = described.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes openapi.json does not describe: {missing:?}"
        );
        assert!(
            unrouted.is_empty(),
            "described but not routed: {unrouted:?}"
        );
    }

    #[test]
    fn every_operation_names_its_parameters_and_its_errors() {
        for route in ROUTES {
            let what = format!("{} {}", route.verb.as_str(), route.path);
            let op = operation(route).unwrap();
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{what}: no success response"
            );
            match route.access {
                Access::Public => assert_eq!(op["security"], serde_json::json!([]), "{what}"),
                Access::Admin => {
                    for code in ["401", "403", "503"] {
                        assert!(responses.contains_key(code), "{what}: no {code}");
                    }
                }
            }
            if request_schema(route).is_some() {
                assert!(
                    responses.contains_key("400") && responses.contains_key("415"),
                    "{what}: takes a body but documents no 400 and 415"
                );
            }
            // Each {param} of the template is declared on the path item.
            let declared: BTreeSet<String> = document()["paths"][route.path]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    resolve(p)
                        .and_then(|p| p["name"].as_str())
                        .map(String::from)
                })
                .collect();
            let in_template: BTreeSet<String> = route
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(String::from)
                .collect();
            assert_eq!(declared, in_template, "{what}: path parameters");
            if route.verb == Verb::Get {
                assert!(op.get("requestBody").is_none(), "{what}: a GET with a body");
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(v: &'static Value, at: &str) {
            match v {
                Value::Object(map) => {
                    if let Some(r) = map.get("$ref") {
                        assert!(resolve(v).is_some(), "{at}: {r} does not resolve");
                    }
                    for (k, child) in map {
                        walk(child, &format!("{at}/{k}"));
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(child, &format!("{at}/{i}"));
                    }
                }
                _ => {}
            }
        }
        walk(document(), "#");
    }

    #[test]
    fn the_problem_types_are_the_ones_the_api_sends() {
        use super::super::problem::Kind;
        let documented: Vec<&str> = document()["components"]["schemas"]["Problem"]["properties"]
            ["type"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let sent: Vec<String> = Kind::ALL.iter().map(|k| k.type_uri()).collect();
        assert_eq!(documented, sent);
    }
}
