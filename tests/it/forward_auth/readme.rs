//! The README's "Protecting apps behind a proxy" shows the very files the proxy tests run: each
//! of `docs/forward-auth/` appears there whole, in a fenced block, and every placeholder the
//! files use is explained in the README's table.

use std::collections::BTreeSet;
use std::path::Path;

use super::docs_dir;

const FILES: [(&str, &str); 3] = [
    ("nginx.conf", "nginx"),
    ("Caddyfile", "caddyfile"),
    ("traefik.yml", "yaml"),
];

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `<<NAME>>` placeholders in `text`.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("<<") {
        let tail = &rest[at + 2..];
        let Some(end) = tail.find(">>") else { break };
        found.insert(tail[..end].to_owned());
        rest = &tail[end + 2..];
    }
    found
}

#[test]
fn the_readme_shows_each_documented_proxy_configuration_whole() {
    let readme = readme();
    assert!(
        readme.contains("\n## Protecting apps behind a proxy\n"),
        "the README has the section"
    );
    for (file, lang) in FILES {
        let text = std::fs::read_to_string(docs_dir().join(file)).expect("a documented configuration");
        let block = format!("```{lang}\n{text}```\n");
        assert!(
            readme.contains(&block),
            "the README shows docs/forward-auth/{file} whole in a ```{lang} block; update one from the other"
        );
    }
}

#[test]
fn every_placeholder_of_the_proxy_configurations_is_explained() {
    let readme = readme();
    let section = &readme[readme
        .find("## Protecting apps behind a proxy")
        .expect("the section")..];
    for (file, _) in FILES {
        let text = std::fs::read_to_string(docs_dir().join(file)).expect("a documented configuration");
        let names = placeholders(&text);
        assert!(!names.is_empty(), "{file} marks what to replace");
        for name in names {
            assert!(
                section.contains(&format!("| `<<{name}>>` |")),
                "the README's placeholder table explains <<{name}>> (used in {file})"
            );
        }
    }
}
