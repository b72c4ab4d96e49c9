//! The `Allow` header of 405 answers (RFC 9110 section 15.5.6: a 405 "MUST generate an Allow
//! header field"). poem's method router answers 405 without one, so a middleware adds it, from
//! the OpenAPI document for the API's paths and from [`PAGES`] for everything else.

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

/// The routes outside the OpenAPI document and the methods each answers (HEAD wherever GET is,
/// as poem's method router does).
const PAGES: [(&str, &str); 14] = [
    ("/", "GET, HEAD"),
    ("/login", "GET, HEAD, POST"),
    ("/logout", "POST"),
    ("/oauth/authorize", "GET, HEAD, POST"),
    ("/oauth/consent", "POST"),
    ("/oauth/logout", "GET, HEAD, POST"),
    ("/oauth/logout/confirm", "POST"),
    ("/setup", "GET, HEAD, POST"),
    ("/setup/", "GET, HEAD, POST"),
    ("/static/style.css", "GET, HEAD"),
    ("/openapi.json", "GET, HEAD"),
    ("/docs", "GET, HEAD"),
    ("/docs/", "GET, HEAD"),
    ("/docs/oauth-receiver.html", "GET, HEAD"),
];

/// One path pattern: literal segments, and `None` for a `{parameter}` segment.
#[derive(Debug, Clone)]
pub(super) struct Pattern(Vec<Option<String>>);

impl Pattern {
    pub(super) fn parse(template: &str) -> Pattern {
        Pattern(
            template
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') && seg.ends_with('}') {
                        None
                    } else {
                        Some(seg.to_owned())
                    }
                })
                .collect(),
        )
    }

    pub(super) fn matches(&self, path: &str) -> bool {
        let mut segs = path.split('/');
        for want in &self.0 {
            match (want, segs.next()) {
                (Some(lit), Some(seg)) if lit == seg => {}
                (None, Some(seg)) if !seg.is_empty() => {}
                _ => return false,
            }
        }
        segs.next().is_none()
    }
}

/// The methods of every known path, ready to answer "what does this path allow?".
#[derive(Debug, Clone)]
pub struct AllowTable(Arc<Vec<(Pattern, HeaderValue)>>);

impl AllowTable {
    /// The table for the OpenAPI document `spec` (JSON) and [`PAGES`].
    pub fn new(spec: &str) -> AllowTable {
        let mut rows = Vec::new();
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
            for (template, item) in paths {
                let mut methods: Vec<String> = item
                    .as_object()
                    .map(|ops| {
                        ops.keys()
                            .filter(|m| {
                                matches!(
                                    m.as_str(),
                                    "get"
                                        | "put"
                                        | "post"
                                        | "delete"
                                        | "options"
                                        | "head"
                                        | "patch"
                                        | "trace"
                                )
                            })
                            .map(|m| m.to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
                    methods.push("HEAD".to_owned());
                }
                methods.sort();
                if let Ok(value) = HeaderValue::from_str(&methods.join(", ")) {
                    rows.push((Pattern::parse(template), value));
                }
            }
        }
        for (path, methods) in PAGES {
            rows.push((Pattern::parse(path), HeaderValue::from_static(methods)));
        }
        AllowTable(Arc::new(rows))
    }

    /// The `Allow` value for `path`, if the path is known.
    fn lookup(&self, path: &str) -> Option<&HeaderValue> {
        self.0.iter().find(|(p, _)| p.matches(path)).map(|(_, v)| v)
    }
}

impl<E: Endpoint> Middleware<E> for AllowTable {
    type Output = AllowEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AllowEndpoint {
            inner: ep,
            table: self.clone(),
        }
    }
}

pub struct AllowEndpoint<E> {
    inner: E,
    table: AllowTable,
}

impl<E: Endpoint> Endpoint for AllowEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_owned();
        let mut resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && !resp.headers().contains_key(header::ALLOW)
            && let Some(value) = self.table.lookup(&path)
        {
            resp.headers_mut().insert(header::ALLOW, value.clone());
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        let spec = r#"{"paths": {
            "/api/v1/users/{user}": {"get": {}, "patch": {}, "delete": {}, "parameters": []},
            "/oauth/token": {"post": {}}
        }}"#;
        let table = AllowTable::new(spec);
        let allow = |p: &str| table.lookup(p).map(|v| v.to_str().unwrap_or_default().to_owned());
        assert_eq!(
            allow("/api/v1/users/bob").as_deref(),
            Some("DELETE, GET, HEAD, PATCH")
        );
        assert_eq!(allow("/api/v1/users/"), None);
        assert_eq!(allow("/api/v1/users/bob/x"), None);
        assert_eq!(allow("/oauth/token").as_deref(), Some("POST"));
        assert_eq!(allow("/login").as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(allow("/nowhere"), None);
    }
}
