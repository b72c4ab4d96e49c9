//! The translated pages' conventions, read from the sources: every catalog has the same messages
//! with the same variables, every message the code names exists, no template holds user-visible
//! English outside the catalogs, and `src/web/pages/copy.rs` names messages instead of holding
//! sentences.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_syntax::ast;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every message of one language's catalog: its id (and `id.attribute`) to its variables.
type Catalog = BTreeMap<String, BTreeSet<String>>;

fn variables_of_inline(e: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_owned());
        }
        ast::InlineExpression::FunctionReference { arguments, .. }
        | ast::InlineExpression::TermReference {
            arguments: Some(arguments),
            ..
        } => {
            for a in &arguments.positional {
                variables_of_inline(a, out);
            }
            for a in &arguments.named {
                variables_of_inline(&a.value, out);
            }
        }
        ast::InlineExpression::Placeable { expression } => variables_of(expression, out),
        _ => {}
    }
}

fn variables_of(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Inline(inline) => variables_of_inline(inline, out),
        ast::Expression::Select { selector, variants } => {
            variables_of_inline(selector, out);
            for v in variants {
                variables_in(&v.value, out);
            }
        }
    }
}

fn variables_in(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            variables_of(expression, out);
        }
    }
}

/// Parses every `.ftl` file of `locales/<language>/`; a syntax error fails the test.
fn catalog(language: &str) -> Catalog {
    let mut messages = Catalog::new();
    for path in files(&root().join("locales").join(language), "ftl") {
        let text = std::fs::read_to_string(&path).expect("a readable catalog");
        let resource = fluent_syntax::parser::parse(text.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{}: {errors:?}", path.display()));
        for entry in resource.body {
            match entry {
                ast::Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    if let Some(value) = &m.value {
                        variables_in(value, &mut vars);
                    }
                    let id = m.id.name.to_owned();
                    for attribute in &m.attributes {
                        let mut a = BTreeSet::new();
                        variables_in(&attribute.value, &mut a);
                        messages.insert(format!("{id}.{}", attribute.id.name), a);
                    }
                    let previous = messages.insert(id.clone(), vars);
                    assert!(previous.is_none(), "{}: `{id}` is defined twice", path.display());
                }
                ast::Entry::Junk { content } => panic!("{}: junk {content:?}", path.display()),
                _ => {}
            }
        }
    }
    assert!(!messages.is_empty(), "no messages for {language}");
    messages
}

/// The languages: the folders of `locales/`.
fn languages() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("locales"))
        .expect("a locales folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn every_catalog_has_the_same_messages_with_the_same_variables() {
    let languages = languages();
    assert_eq!(languages, ["en", "ko"], "the languages Latchkey ships");
    let english = catalog("en");
    let mut problems = Vec::new();
    for language in &languages[1..] {
        let other = catalog(language);
        for (id, vars) in &english {
            match other.get(id) {
                None => problems.push(format!("`{id}` is in en and not in {language}")),
                Some(v) if v != vars => problems.push(format!(
                    "`{id}` has variables {vars:?} in en and {v:?} in {language}"
                )),
                Some(_) => {}
            }
        }
        for id in other.keys().filter(|id| !english.contains_key(*id)) {
            problems.push(format!("`{id}` is in {language} and not in en"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(english.len() > 200, "{} messages", english.len());
}

/// Every message id the code and the templates name: `"id"|t` in templates, `Msg("id")` and
/// `t("id")`/`html("id"`/`text("id"` in `src/web`.
fn ids_used() -> BTreeSet<(String, String)> {
    let mut used = BTreeSet::new();
    let mut scan = |path: &Path, open: &str, close: &str| {
        let text = std::fs::read_to_string(path).expect("a readable source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(open) {
            let after = &rest[at + open.len()..];
            if let Some(end) = after.find(close) {
                let id = &after[..end];
                if !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
                {
                    used.insert((path.display().to_string(), id.to_owned()));
                }
            }
            rest = after;
        }
    };
    for path in files(&root().join("templates"), "html") {
        scan(&path, "{{ \"", "\"|t }}");
    }
    for path in files(&root().join("src/web"), "rs") {
        for open in [
            "Msg(\"",
            "i18n::t(\"",
            "super::t(\"",
            "i18n::text(\"",
            "i18n::html(\"",
        ] {
            scan(&path, open, "\"");
        }
    }
    used
}

#[test]
fn every_message_the_pages_name_is_in_the_catalog() {
    let english = catalog("en");
    let used = ids_used();
    assert!(used.len() > 150, "{} uses found", used.len());
    let missing: Vec<String> = used
        .iter()
        .filter(|(_, id)| !english.contains_key(id))
        .map(|(file, id)| format!("{file}: `{id}` is not in locales/en"))
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_catalog_message_is_used_by_a_page() {
    let mut sources = String::new();
    for path in files(&root().join("templates"), "html")
        .into_iter()
        .chain(files(&root().join("src/web"), "rs"))
    {
        sources.push_str(&std::fs::read_to_string(&path).expect("a readable source"));
    }
    let unused: Vec<String> = catalog("en")
        .into_keys()
        .filter(|id| !sources.contains(&format!("\"{id}\"")))
        .collect();
    assert!(unused.is_empty(), "messages no page uses: {unused:?}");
}

/// Words a template may show without the catalog: the product's name and technical tokens.
const ALLOWED_WORDS: [&str; 3] = ["Latchkey", "TOTP", "OAuth"];

/// What is left of a template once its expressions, tags and comments are gone, plus the
/// user-visible attributes' values (without their expressions).
fn visible_text(template: &str) -> Vec<String> {
    let mut text = template.to_owned();
    for (open, close) in [("{#", "#}"), ("{%", "%}"), ("{{", "}}")] {
        while let Some(start) = text.find(open) {
            let Some(len) = text[start..].find(close) else {
                break;
            };
            text.replace_range(start..start + len + close.len(), " ");
        }
    }
    let mut out = Vec::new();
    let mut rest = text.as_str();
    let mut plain = String::new();
    while let Some(lt) = rest.find('<') {
        plain.push_str(&rest[..lt]);
        plain.push(' ');
        let Some(gt) = rest[lt..].find('>') else { break };
        let tag = &rest[lt + 1..lt + gt];
        let name = tag.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        let shown_value = name == "input"
            && ["type=\"submit\"", "type=\"button\"", "type=\"reset\""]
                .iter()
                .any(|t| tag.contains(t));
        for attribute in ["placeholder", "title", "aria-label", "alt", "value"] {
            if attribute == "value" && !shown_value {
                continue;
            }
            let key = format!(" {attribute}=\"");
            if let Some(at) = tag.find(&key) {
                let value = &tag[at + key.len()..];
                out.push(value[..value.find('"').unwrap_or(value.len())].to_owned());
            }
        }
        rest = &rest[lt + gt + 1..];
    }
    plain.push_str(rest);
    out.push(plain);
    out
}

/// The English words in `text`: runs of ASCII letters, entities and allowed words left out.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphabetic() && c != '&' && c != ';')
        .filter(|w| !w.is_empty())
        .filter(|w| !(w.starts_with('&') && w.ends_with(';')))
        .map(|w| w.trim_matches(|c| c == '&' || c == ';').to_owned())
        .filter(|w| !w.is_empty() && !ALLOWED_WORDS.contains(&w.as_str()))
        .collect()
}

#[test]
fn templates_hold_no_user_visible_english() {
    let mut problems = Vec::new();
    let templates = files(&root().join("templates"), "html");
    assert!(templates.len() >= 15, "{} templates", templates.len());
    for path in &templates {
        let text = std::fs::read_to_string(path).expect("a readable template");
        for piece in visible_text(&text) {
            let found = words(&piece);
            if !found.is_empty() {
                problems.push(format!("{}: {found:?}", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "words outside the catalogs:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_template_check_finds_english_where_there_is_some() {
    let page = r#"<h1>{{ "sign-in"|t }}</h1><p>Hello {{ name }}</p>
        <input type="submit" value="Go"><img alt="Logo" src="x"><a title="{{ t }}">&rarr; 12 · Latchkey</a>
        <button value="allow">{{ "allow"|t }}</button>{% if x %}{# Note #}{% endif %}"#;
    let found: Vec<String> = visible_text(page).iter().flat_map(|p| words(p)).collect();
    assert_eq!(found, ["Go", "Logo", "Hello"]);
}

/// The string literals of a Rust source outside its `#[cfg(test)]` module and comments.
fn literals(source: &str) -> Vec<(usize, String)> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut parts = line.split('"');
        parts.next();
        while let Some(inside) = parts.next() {
            out.push((n + 1, inside.to_owned()));
            parts.next();
        }
    }
    out
}

#[test]
fn copy_rs_names_messages_and_holds_no_sentences() {
    let path = root().join("src/web/pages/copy.rs");
    let source = std::fs::read_to_string(&path).expect("copy.rs");
    let bad: Vec<String> = literals(&source)
        .into_iter()
        .filter(|(_, s)| {
            !s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:".contains(c))
        })
        .map(|(n, s)| format!("copy.rs:{n}: {s:?}"))
        .collect();
    assert!(
        bad.is_empty(),
        "copy.rs should name catalog messages:\n{}",
        bad.join("\n")
    );
}

#[test]
fn page_handlers_hold_no_english_sentences() {
    let mut bad = Vec::new();
    for path in files(&root().join("src/web/pages"), "rs") {
        let source = std::fs::read_to_string(&path).expect("a page source");
        for (n, s) in literals(&source) {
            let mut w = s.split(' ');
            let first = w.next().unwrap_or("");
            let sentence = first.len() > 1
                && first.starts_with(|c: char| c.is_ascii_uppercase())
                && first[1..].chars().all(|c| c.is_ascii_lowercase())
                && w.next()
                    .is_some_and(|second| second.chars().all(|c| c.is_ascii_lowercase()));
            if sentence {
                bad.push(format!("{}:{n}: {s:?}", path.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "sentences outside the catalogs:\n{}",
        bad.join("\n")
    );
}
