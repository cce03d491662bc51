//! The Genesys operations the crates call (their endpoint types) are exactly the operations the
//! contract check of recorded traffic requires (`REQUIRED` in scripts/contract_check.py): an
//! endpoint the check does not know, or a required operation no endpoint calls, fails here.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use genesys_auth::Operation;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `(METHOD, path)` pairs of the `REQUIRED = [...]` list of the contract check.
fn contract_required(script: &str) -> BTreeSet<(String, String)> {
    let start = script
        .find("REQUIRED = [")
        .expect("contract_check.py has a REQUIRED list");
    let body = &script[start..];
    let end = body.find("\n]").expect("the REQUIRED list ends");
    let mut out = BTreeSet::new();
    for line in body[..end].lines().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split('"').collect();
        assert!(
            parts.len() >= 5 && line.starts_with('(') && line.ends_with("),"),
            "unexpected REQUIRED line: {line}"
        );
        out.insert((parts[1].to_owned(), parts[3].to_owned()));
    }
    out
}

fn key(op: &Operation) -> (String, String) {
    (op.method.as_str().to_owned(), op.path.to_owned())
}

/// Every endpoint type's operation, as declared in its file (`Operation::new(name, Method::X,
/// path)`), so that a type missing from `operations()` is caught as well.
fn declared_in(dir: &Path) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let impls = text.matches("impl Endpoint for").count();
        assert_eq!(impls, 1, "{}: one endpoint type per file", path.display());
        let at = text.find("Operation::new(").unwrap();
        let args: Vec<&str> = text[at..].split('"').collect();
        // args[1] = name, args[2] = ", Method::X, ", args[3] = path
        let method = args[2]
            .split("Method::")
            .nth(1)
            .and_then(|m| m.split(',').next())
            .unwrap()
            .trim()
            .to_owned();
        out.insert((method, args[3].to_owned()));
    }
    out
}

#[test]
fn endpoint_types_and_the_contract_check_cover_the_same_operations() {
    let script = std::fs::read_to_string(workspace().join("scripts/contract_check.py")).unwrap();
    let required = contract_required(&script);
    assert!(required.len() >= 10, "parsed {required:?}");

    let listed: Vec<&Operation> = genesys_analytics::endpoints::operations()
        .iter()
        .chain(genesys_messaging::endpoints::operations())
        .collect();
    let listed_keys: BTreeSet<_> = listed.iter().map(|op| key(op)).collect();
    assert_eq!(
        listed_keys.len(),
        listed.len(),
        "an operation is listed twice"
    );
    let names: BTreeSet<&str> = listed.iter().map(|op| op.name).collect();
    assert_eq!(names.len(), listed.len(), "an operation name is used twice");
    assert!(
        listed
            .iter()
            .all(|op| !op.name.is_empty() && op.path.starts_with("/api/v2/"))
    );
    assert!(
        genesys_analytics::endpoints::operations()
            .iter()
            .all(|op| op.path.starts_with("/api/v2/analytics/"))
    );

    let mut declared = declared_in(&workspace().join("crates/genesys-analytics/src/endpoints"));
    declared.extend(declared_in(
        &workspace().join("crates/genesys-messaging/src/endpoints"),
    ));
    assert_eq!(
        declared, listed_keys,
        "endpoint files and endpoints::operations() differ"
    );

    let unknown: Vec<_> = listed_keys.difference(&required).collect();
    let uncalled: Vec<_> = required.difference(&listed_keys).collect();
    assert!(
        unknown.is_empty() && uncalled.is_empty(),
        "endpoint types the contract check does not require: {unknown:?}\n\
         operations the contract check requires that no endpoint type calls: {uncalled:?}"
    );
}

#[test]
fn the_required_list_parser_reads_the_script_format() {
    let script = "X = 1\nREQUIRED = [\n    (\"GET\", \"/a/{id}\"),\n    # note\n    (\"POST\", \"/b\"),\n]\n";
    let got = contract_required(script);
    let want: BTreeSet<_> = [("GET", "/a/{id}"), ("POST", "/b")]
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(got, want);
}
