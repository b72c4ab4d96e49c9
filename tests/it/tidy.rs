//! The tidy test (rust-analyzer's `tidy.rs` idea): an ordinary test that reads the sources and
//! fails, naming file and line, when a convention ARCHITECTURE.md states is broken. A rule no test
//! checks will be broken.
//!
//! The layering rules match words in code, not in comments or string literals: a doc comment
//! that names redb is not a use of it, but a `use`, a path or an attribute is.

use std::fs;
use std::path::Path;

/// ARCHITECTURE.md's layering invariants, as the sources must obey them.
const LAYERS: [Layer; 5] = [
    Layer {
        says: "`protocol` and `domain` know nothing of HTTP, redb, tokio, askama, the file system, \
               the clock or the RNG",
        within: &["src/protocol/", "src/domain/"],
        outside: &[],
        never: &[
            "poem",
            "poem_openapi",
            "askama",
            "redb",
            "tokio",
            "reqwest",
            "std::fs",
            "File::",
            "SystemTime",
            "Instant::now",
            "Utc::now",
            "Local::now",
            "chrono::*::now",
            "rand",
            "getrandom",
            "OsRng",
            "thread_rng",
        ],
    },
    Layer {
        says: "only `web` mentions poem, poem-openapi or askama",
        within: &["src/"],
        outside: &["src/web/"],
        never: &["poem", "poem_openapi", "askama"],
    },
    Layer {
        says: "only `store` mentions redb",
        within: &["src/"],
        outside: &["src/store/"],
        never: &["redb"],
    },
    Layer {
        says: "only the PostgreSQL engine mentions its driver and pool",
        within: &["src/"],
        outside: &["src/store/postgres/"],
        never: &["tokio_postgres", "tokio_postgres_rustls", "r2d2"],
    },
    Layer {
        says: "the key-value layer names no engine",
        within: &["src/store/kv/"],
        outside: &[],
        never: &["redb", "postgres", "tokio_postgres"],
    },
];

/// The attribute that skips a test, written in two pieces so that this file does not itself
/// contain it (a plain search for ignored tests then finds only real ones).
const IGNORE_ATTRIBUTE: &str = concat!("#[", "ignore");

/// The longest a source file may be, in lines; past it, a file holds more than one concept.
const MAX_LINES: usize = 800;

/// TEMPORARY exceptions, while the other parts of issue #13 land: files still over
/// [`MAX_LINES`] and layering violations that another change removes. Each entry is
/// (path, what is excused, who removes it). The lead engineer empties this list at merge; an
/// entry that no longer excuses anything fails the test, so the list can only shrink.
#[rustfmt::skip]
const TEMPORARY: [(&str, Excuse, &str); 0] = [];

/// One layering rule: files under `within` but not under `outside` never mention `never`.
struct Layer {
    says: &'static str,
    within: &'static [&'static str],
    outside: &'static [&'static str],
    never: &'static [&'static str],
}

/// What a [`TEMPORARY`] entry excuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Excuse {
    /// The file is over [`MAX_LINES`].
    Length,
    /// The file mentions this word against a layering rule.
    Layer(&'static str),
}

/// One broken rule, at a file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    path: String,
    line: usize,
    excuse: Option<Excuse>,
    what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.what)
    }
}

/// `src` with every comment and the contents of every string and character literal blanked
/// out, line breaks kept, so that line numbers still hold.
fn code_only(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (!ident_before(&chars, i) || raw_byte_string(&chars, i))
        {
            // A raw string: r"..." or r#"..."#, with as many hashes on both ends.
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.extend(&chars[i..=j]);
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
                    out.push('"');
                    out.extend(std::iter::repeat_n('#', hashes));
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\''), not a lifetime.
            out.push('\'');
            i += 1;
            if chars.get(i) == Some(&'\\') {
                // The backslash and the character it escapes (which may be a quote).
                out.push_str("  ");
                i += 2;
            }
            while i < chars.len() && chars[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident(chars[i - 1])
}

/// Whether the `r` at `i` follows the `b` of a raw byte string (`br"..."`).
fn raw_byte_string(chars: &[char], i: usize) -> bool {
    i > 0 && chars[i - 1] == 'b' && !ident_before(chars, i - 1)
}

/// Whether `line` (code only) mentions `word`: as a whole identifier or path (`rand` is not
/// `random`), and `a::*::b` for `a::` followed by `::b` later on the line.
fn mentions(line: &str, word: &str) -> bool {
    if let Some((head, tail)) = word.split_once("::*::") {
        return line
            .find(&format!("{head}::"))
            .is_some_and(|at| line[at..].contains(&format!("::{tail}")));
    }
    let mut from = 0;
    while let Some(found) = line[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let before_ok = !line[..start].chars().next_back().is_some_and(is_ident);
        let after_ok = !word.ends_with(is_ident) || !line[end..].chars().next().is_some_and(is_ident);
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

/// Every rule `text`, the file at `path` (relative to the crate, with `/`), breaks.
fn check(path: &str, text: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let problem = |line: usize, excuse: Option<Excuse>, what: String| Problem {
        path: path.to_owned(),
        line,
        excuse,
        what,
    };
    let in_src = path.starts_with("src/");
    if in_src {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        let sentence = first.strip_prefix("//!").map(str::trim).unwrap_or_default();
        if sentence.is_empty() {
            out.push(problem(
                1,
                None,
                "the module does not start with a `//!` sentence".to_owned(),
            ));
        }
    }
    let lines = text.lines().count();
    if lines > MAX_LINES {
        out.push(problem(
            MAX_LINES + 1,
            Some(Excuse::Length),
            format!("{lines} lines, more than {MAX_LINES}: split it along its concepts"),
        ));
    }
    let code = code_only(text);
    for (n, line) in code.lines().enumerate() {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains(IGNORE_ATTRIBUTE) {
            out.push(problem(
                n + 1,
                None,
                format!("an {IGNORE_ATTRIBUTE}]d test: make it pass or delete it"),
            ));
        }
        for layer in &LAYERS {
            let applies = layer.within.iter().any(|p| path.starts_with(p))
                && !layer.outside.iter().any(|p| path.starts_with(p));
            if !applies {
                continue;
            }
            for word in layer.never.iter().filter(|w| mentions(line, w)) {
                out.push(problem(
                    n + 1,
                    Some(Excuse::Layer(word)),
                    format!("mentions `{word}`, but {}", layer.says),
                ));
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`, as paths relative to `root` with `/`.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under the root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn the_sources_keep_the_conventions_architecture_md_states() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &root.join("src"), &mut files);
    rust_files(root, &root.join("tests"), &mut files);
    assert!(files.iter().any(|f| f == "src/protocol/mod.rs"), "{files:?}");

    let mut problems = Vec::new();
    let mut used = vec![false; TEMPORARY.len()];
    for file in &files {
        let text = fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for p in check(file, &text) {
            let excused = TEMPORARY
                .iter()
                .position(|(path, excuse, _)| *path == p.path && Some(*excuse) == p.excuse);
            match excused {
                Some(i) => used[i] = true,
                None => problems.push(p.to_string()),
            }
        }
    }
    for ((path, excuse, who), used) in TEMPORARY.iter().zip(used) {
        if !used {
            problems.push(format!(
                "{path}: the TEMPORARY exception {excuse:?} ({who}) excuses nothing now: delete it"
            ));
        }
    }
    assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
}

#[test]
fn a_use_of_poem_in_protocol_is_reported_and_a_comment_or_string_is_not() {
    let text = "//! Rules.\n\n/// Not poem, not redb.\nuse poem::Request;\nfn f() { let _ = \"tokio\"; }\n";
    let problems = check("src/protocol/x.rs", text);
    let found: Vec<(usize, Option<Excuse>)> = problems.iter().map(|p| (p.line, p.excuse)).collect();
    assert_eq!(
        found,
        // Both rules speak: protocol knows no HTTP, and only web mentions poem.
        vec![(4, Some(Excuse::Layer("poem"))), (4, Some(Excuse::Layer("poem")))],
        "{problems:?}"
    );
    assert_eq!(
        problems[0].to_string().split(':').take(2).collect::<Vec<_>>(),
        ["src/protocol/x.rs", "4"]
    );
    assert!(check("src/web/x.rs", text).is_empty());
}

#[test]
fn the_clock_the_rng_and_the_file_system_are_reported_in_domain_but_not_similar_names() {
    for (code, word) in [
        ("let t = std::time::SystemTime::now();", "SystemTime"),
        ("let t = Instant::now();", "Instant::now"),
        ("let t = chrono::offset::Utc::now();", "chrono::*::now"),
        ("let r = rand::random::<u8>();", "rand"),
        ("let d = std::fs::read(p);", "std::fs"),
        ("let f = File::open(p);", "File::"),
        ("#[tokio::main]", "tokio"),
        ("use redb::Database;", "redb"),
    ] {
        let problems = check("src/domain/x.rs", &format!("//! Data.\n{code}\n"));
        assert!(
            problems
                .iter()
                .any(|p| p.line == 2 && p.excuse == Some(Excuse::Layer(word))),
            "{code}: {problems:?}"
        );
    }
    for code in [
        "let random = grant.random;",
        "let poems = 1;",
        "struct Randomness;",
        "let c = '\"'; // poem",
    ] {
        assert!(
            check("src/domain/x.rs", &format!("//! Data.\n{code}\n")).is_empty(),
            "{code}"
        );
    }
}

#[test]
fn poem_outside_web_and_redb_outside_store_are_reported() {
    let poem = check("src/service/x.rs", "//! Use cases.\nuse poem_openapi::Object;\n");
    assert_eq!(poem.len(), 1, "{poem:?}");
    assert_eq!(poem[0].excuse, Some(Excuse::Layer("poem_openapi")));
    let redb = check(
        "src/service/x.rs",
        "//! Use cases.\nfn f(t: redb::ReadTransaction) {}\n",
    );
    assert_eq!(redb.len(), 1, "{redb:?}");
    assert!(check("src/store/x.rs", "//! Store.\nuse redb::Database;\n").is_empty());
    assert!(check("tests/it/x.rs", "use poem::Request;\nuse redb::Database;\n").is_empty());
}

#[test]
fn a_missing_module_sentence_an_ignored_test_and_a_long_file_are_reported() {
    let bare = check("src/x.rs", "use std::fmt;\n");
    assert_eq!(bare.len(), 1, "{bare:?}");
    assert!(bare[0].what.contains("//!"));
    assert!(
        check("src/x.rs", "//!\nuse std::fmt;\n")
            .iter()
            .any(|p| p.what.contains("//!"))
    );
    assert!(
        check("tests/it/x.rs", "use std::fmt;\n").is_empty(),
        "tests need no `//!` sentence"
    );

    let ignored = check("tests/it/x.rs", "#[test]\n#[ ignore = \"flaky\" ]\nfn t() {}\n");
    assert_eq!(
        ignored.iter().map(|p| p.line).collect::<Vec<_>>(),
        [2],
        "{ignored:?}"
    );
    let mentioned = format!("// {IGNORE_ATTRIBUTE}]\nconst S: &str = \"{IGNORE_ATTRIBUTE}]\";\n");
    assert!(check("tests/it/x.rs", &mentioned).is_empty());

    let long = "//! Long.\n".to_owned() + &"fn f() {}\n".repeat(MAX_LINES);
    let problems = check("src/x.rs", &long);
    assert_eq!(
        problems.iter().map(|p| p.excuse).collect::<Vec<_>>(),
        [Some(Excuse::Length)]
    );
    assert!(check("src/x.rs", &long[..long.len() - "fn f() {}\n".len()]).is_empty());
}

#[test]
fn comments_and_literals_are_blanked_and_lines_kept() {
    let src = "a /* b /* c */ d */ e\n\"x\\\"y\" r#\"z\"# 'q' '\\n' '\\'' <'a>\nf // g\n";
    let code = code_only(src);
    assert_eq!(code.lines().count(), 3);
    let words: Vec<&str> = code
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(words, ["a", "e", "r", "a", "f"], "{code:?}");
}
