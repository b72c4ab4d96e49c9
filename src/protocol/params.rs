//! Request parameters from a query string or a form body: bounded, and a repeated parameter is
//! detected (RFC 6749 section 3.1: parameters must not be included more than once).

use std::collections::HashMap;

/// The most parameters a request may carry.
pub const MAX_PARAMS: usize = 64;
/// The longest value any single parameter may have.
pub const MAX_VALUE_LEN: usize = 8192;

/// Parameters by name, with the names that appeared more than once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

/// Why a parameter list could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsError {
    TooMany,
    TooLong(String),
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(encoded: &str) -> Result<Params, ParamsError> {
        let mut params = Params::default();
        for (i, (name, value)) in url::form_urlencoded::parse(encoded.as_bytes()).enumerate() {
            if i >= MAX_PARAMS {
                return Err(ParamsError::TooMany);
            }
            if value.len() > MAX_VALUE_LEN {
                return Err(ParamsError::TooLong(name.into_owned()));
            }
            if params.values.contains_key(name.as_ref()) {
                if !params.repeated.iter().any(|r| r == name.as_ref()) {
                    params.repeated.push(name.into_owned());
                }
            } else {
                params.values.insert(name.into_owned(), value.into_owned());
            }
        }
        Ok(params)
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 section 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` appeared more than once.
    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }

    /// The first repeated parameter among `names`, if any.
    pub fn first_repeated<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names.iter().copied().find(|n| self.is_repeated(n))
    }

    /// Re-encodes the parameters (in a stable order), for carrying a request through a page.
    pub fn encode(&self) -> String {
        let mut pairs: Vec<_> = self.values.iter().collect();
        pairs.sort();
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            out.append_pair(k, v);
        }
        out.finish()
    }

    /// A copy with `name` set to `value`, or removed when `value` is `None`.
    pub fn with(&self, name: &str, value: Option<&str>) -> Params {
        let mut copy = self.clone();
        match value {
            Some(v) => copy.values.insert(name.to_owned(), v.to_owned()),
            None => copy.values.remove(name),
        };
        copy
    }
}

/// Appends `pairs` to a redirect URI's query without touching the URI itself.
pub fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let query = ser.finish();
    let sep = match uri.find('?') {
        None => "?",
        Some(i) if i + 1 == uri.len() || uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{uri}{sep}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_detected_and_empty_ones_are_absent() {
        let p = Params::parse("a=1&b=&a=2&c=x%20y").unwrap();
        assert!(p.is_repeated("a"));
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.first_repeated(&["c", "a"]), Some("a"));
    }

    #[test]
    fn parameter_lists_are_bounded() {
        let many: Vec<String> = (0..65).map(|i| format!("p{i}=1")).collect();
        assert_eq!(Params::parse(&many.join("&")), Err(ParamsError::TooMany));
        let long = format!("state={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert!(matches!(Params::parse(&long), Err(ParamsError::TooLong(_))));
    }

    #[test]
    fn query_is_appended_without_changing_the_redirect_uri() {
        assert_eq!(
            append_query("https://a.example/cb", &[("code", "x y")]),
            "https://a.example/cb?code=x+y"
        );
        assert_eq!(
            append_query("https://a.example/cb?t=1", &[("code", "c")]),
            "https://a.example/cb?t=1&code=c"
        );
        assert_eq!(
            append_query("https://a.example/cb?", &[("code", "c")]),
            "https://a.example/cb?code=c"
        );
    }
}
