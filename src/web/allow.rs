//! The `Allow` header of 405 answers (RFC 9110 section 15.5.6: a 405 "MUST generate an Allow
//! header field"). poem's method router answers 405 without one, so a middleware adds it, from
//! the route table ([`super::route_table::ROUTES`]), and from the OpenAPI document for the paths of
//! the admin API's tree.

use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::route_table::{ROUTES, allow_value};

/// One segment of a path pattern.
#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    /// `{parameter}`: any one non-empty segment.
    Parameter,
    /// `{*rest}`, last: whatever remains, even nothing.
    Tail,
}

/// One path pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern(Vec<Segment>);

impl Pattern {
    pub(super) fn parse(template: &str) -> Pattern {
        Pattern(
            template
                .split('/')
                .map(
                    |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) if name.starts_with('*') => Segment::Tail,
                        Some(_) => Segment::Parameter,
                        None => Segment::Literal(seg.to_owned()),
                    },
                )
                .collect(),
        )
    }

    pub(super) fn matches(&self, path: &str) -> bool {
        let mut segs = path.split('/');
        for want in &self.0 {
            match (want, segs.next()) {
                (Segment::Tail, Some(_)) => return true,
                (Segment::Literal(lit), Some(seg)) if lit == seg => {}
                (Segment::Parameter, Some(seg)) if !seg.is_empty() => {}
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
    /// The table for the route table and the OpenAPI document `spec` (JSON), which lists the
    /// methods of the paths in the admin API's tree.
    pub fn new(spec: &str) -> AllowTable {
        let mut rows = Vec::new();
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let documented = doc.get("paths").and_then(|p| p.as_object());
        for route in &ROUTES {
            let Some(methods) = route.methods() else {
                let Some(paths) = documented else { continue };
                for (template, item) in paths.iter().filter(|(t, _)| route.matches(t)) {
                    let methods: Vec<Method> = item
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
                                .filter_map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Ok(value) = HeaderValue::from_str(&allow_value(&methods)) {
                        rows.push((Pattern::parse(template), value));
                    }
                }
                continue;
            };
            if let Ok(value) = HeaderValue::from_str(&allow_value(&methods)) {
                rows.push((Pattern::parse(route.path), value));
            }
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
