//! The rules of the admin API beyond what its operations check: every error under `/api` is an
//! RFC 9457 problem (poem answers an unknown path, a wrong method and a bad path parameter with
//! plain text), and a JSON body is refused with 400 when any object in it repeats a key or when
//! it has a field its operation does not declare. The declared fields come from the OpenAPI
//! document, which says so (`additionalProperties: false`), so the document stays the one source.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use super::MAX_BODY;
use super::allow::Pattern;
use super::errors::{problem_kind, problem_response, too_large};

/// Whether `path` is under the admin API.
fn under_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The request body schemas of the API's operations: (method, path template, schema name).
fn request_bodies(doc: &serde_json::Value) -> Vec<(Method, String, String)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
        return out;
    };
    for (template, item) in paths.iter().filter(|(t, _)| under_api(t)) {
        let Some(ops) = item.as_object() else { continue };
        for (method, op) in ops {
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            let Some(content) = op.pointer("/requestBody/content").and_then(|c| c.as_object()) else {
                continue;
            };
            for (media, body) in content {
                let reference = body.pointer("/schema/$ref").and_then(|r| r.as_str());
                if let (true, Some(name)) = (
                    media.starts_with("application/json"),
                    reference.and_then(|r| r.strip_prefix("#/components/schemas/")),
                ) {
                    out.push((method.clone(), template.clone(), name.to_owned()));
                }
            }
        }
    }
    out
}

/// The OpenAPI document `spec` (JSON, as poem-openapi writes it), with every admin request body
/// schema marked `additionalProperties: false`. The text is edited rather than re-serialised, so
/// that the order of paths and fields (which Swagger UI shows) stays as written.
pub fn document(spec: &str) -> String {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(spec) else {
        return spec.to_owned();
    };
    let mut names: Vec<String> = request_bodies(&doc).into_iter().map(|(_, _, n)| n).collect();
    names.sort();
    names.dedup();
    let mut text = spec.to_owned();
    for name in &names {
        let key = format!("\"{name}\": {{");
        let Some(at) = text.find(&key) else { continue };
        let indent = text[..at].rsplit('\n').next().map_or(0, str::len) + 2;
        let insert = format!("\n{}\"additionalProperties\": false,", " ".repeat(indent));
        text.insert_str(at + key.len(), &insert);
    }
    // The edit must leave the same document with the flags set; anything else keeps the original.
    let edited = serde_json::from_str::<serde_json::Value>(&text).ok();
    let all_set = edited.as_ref().is_some_and(|d| {
        names.iter().all(|n| {
            d.pointer(&format!("/components/schemas/{n}/additionalProperties"))
                == Some(&serde_json::Value::Bool(false))
        })
    });
    if all_set { text } else { spec.to_owned() }
}

/// The fields a JSON body may have, and which of them the document types as text: poem-openapi
/// would read `false` or `7` into a string field as `"false"` or `"7"`, which the document does
/// not allow, so those are refused here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// Every declared field.
    pub names: Vec<String>,
    /// Fields of type string: their value must be a string (or null).
    pub text: Vec<String>,
    /// Fields of type array of strings: the value must be an array (null only where the
    /// document says `nullable`) and every item a string.
    pub text_lists: Vec<String>,
    /// Fields the document marks `nullable`: only these may be null.
    pub nullable: Vec<String>,
}

impl Fields {
    fn of(props: &serde_json::Map<String, serde_json::Value>) -> Fields {
        let is = |schema: &serde_json::Value, kind: &str| {
            schema.get("type").and_then(|t| t.as_str()) == Some(kind)
        };
        let mut fields = Fields::default();
        for (name, schema) in props {
            fields.names.push(name.clone());
            if schema.get("nullable").and_then(|n| n.as_bool()) == Some(true) {
                fields.nullable.push(name.clone());
            }
            if is(schema, "string") {
                fields.text.push(name.clone());
            } else if is(schema, "array") && schema.get("items").is_some_and(|i| is(i, "string")) {
                fields.text_lists.push(name.clone());
            }
        }
        fields
    }

    /// The first field whose value is not the text the document promises.
    fn mistyped(&self, body: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
        use serde_json::Value;
        body.iter()
            .find(|(k, v)| {
                (v.is_null() && !self.nullable.contains(k))
                    || (self.text.contains(k) && !matches!(v, Value::String(_) | Value::Null))
                    || (self.text_lists.contains(k)
                        && match v {
                            Value::Array(items) => items.iter().any(|i| !i.is_string()),
                            Value::Null => !self.nullable.contains(k),
                            _ => true,
                        })
            })
            .map(|(k, _)| k.clone())
    }
}

/// The fields each admin operation's JSON body may have, from the OpenAPI document.
#[derive(Debug, Clone)]
pub struct ApiRules(Arc<Vec<(Method, Pattern, Fields)>>);

impl ApiRules {
    pub fn new(spec: &str) -> ApiRules {
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let rows = request_bodies(&doc)
            .into_iter()
            .filter_map(|(method, template, name)| {
                let props = doc.pointer(&format!("/components/schemas/{name}/properties"))?;
                Some((method, Pattern::parse(&template), Fields::of(props.as_object()?)))
            })
            .collect();
        ApiRules(Arc::new(rows))
    }

    fn fields(&self, method: &Method, path: &str) -> Option<&Fields> {
        self.0
            .iter()
            .find(|(m, p, _)| m == method && p.matches(path))
            .map(|(_, _, f)| f)
    }
}

impl<E: Endpoint> Middleware<E> for ApiRules {
    type Output = ApiRulesEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ApiRulesEndpoint {
            inner: ep,
            rules: self.clone(),
        }
    }
}

pub struct ApiRulesEndpoint<E> {
    inner: E,
    rules: ApiRules,
}

impl<E: Endpoint> Endpoint for ApiRulesEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if !under_api(req.uri().path()) {
            return Ok(match self.inner.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            });
        }
        if is_json(req.headers().get(header::CONTENT_TYPE)) {
            let Ok(body) = req.take_body().into_bytes_limit(MAX_BODY).await else {
                return Ok(too_large(MAX_BODY));
            };
            let fields = self.rules.fields(req.method(), req.uri().path());
            if let Some(refused) = check_body(&body, fields) {
                return Ok(refused);
            }
            req.set_body(body);
        }
        let resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        Ok(as_problem(resp).await)
    }
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(essence) = content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A 400 problem for a body with a repeated key or an undeclared field; `None` when the body
/// passes (a body that is not JSON at all is left to the operation, which says why).
fn check_body(body: &[u8], fields: Option<&Fields>) -> Option<Response> {
    let repeated = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    if (NoRepeats(&repeated).deserialize(&mut de)).is_err() {
        let keys = repeated.into_inner();
        if keys.is_empty() {
            return None;
        }
        let errors = keys
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    "this key appears more than once in its object".to_owned(),
                )
            })
            .collect();
        return Some(problem_response(
            400,
            "bad-request",
            "Bad request",
            format!("the JSON body repeats the key {}", quoted(&keys)),
            errors,
        ));
    }
    let fields = fields?;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let unknown: Vec<String> = object
        .keys()
        .filter(|k| !fields.names.contains(k))
        .cloned()
        .collect();
    if unknown.is_empty() {
        let field = fields.mistyped(object)?;
        return Some(problem_response(
            400,
            "bad-request",
            "Bad request",
            format!("the field \"{field}\" must be text (a JSON string), as the document says"),
            vec![(field, "must be a JSON string".to_owned())],
        ));
    }
    let errors = unknown
        .iter()
        .map(|k| {
            (
                k.clone(),
                "unknown field: this operation does not take it".to_owned(),
            )
        })
        .collect();
    Some(problem_response(
        400,
        "bad-request",
        "Bad request",
        format!("unknown field {}", quoted(&unknown)),
        errors,
    ))
}

fn quoted(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("`{}`", k.escape_debug()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Walks a JSON value and fails at the first object that repeats a key, noting the key.
struct NoRepeats<'a>(&'a RefCell<Vec<String>>);

impl<'de> DeserializeSeed<'de> for NoRepeats<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoRepeats<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoRepeats(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                self.0.borrow_mut().push(key);
                return Err(A::Error::custom("a repeated key"));
            }
            map.next_value_seed(NoRepeats(self.0))?;
        }
        Ok(())
    }
}

/// `resp` as a problem, if it is an error answered in another format (poem's plain-text 400,
/// 404, 405, the head limits' 414 and 431); other headers, `Allow` above all, stay.
async fn as_problem(resp: Response) -> Response {
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let (kind, title) = problem_kind(status.as_u16());
    let (parts, body) = resp.into_parts();
    let text = body.into_string().await.unwrap_or_default();
    let detail = match text.trim() {
        t if !t.is_empty() && t.len() <= 200 && !t.contains(['\r', '\n']) => t.to_owned(),
        _ => title.to_ascii_lowercase(),
    };
    let mut problem = problem_response(status.as_u16(), kind, title, detail, Vec::new());
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem.set_status(status);
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> Option<(u16, String)> {
        let fields = Fields {
            names: vec!["name".to_owned(), "groups".to_owned(), "count".to_owned()],
            text: vec!["name".to_owned()],
            text_lists: vec!["groups".to_owned()],
            nullable: vec!["name".to_owned()],
        };
        check_body(body.as_bytes(), Some(&fields)).map(|r| (r.status().as_u16(), String::new()))
    }

    #[test]
    fn a_boolean_or_number_where_the_document_says_text_is_refused() {
        assert_eq!(refused(r#"{"groups": [], "count": 3}"#), None);
        assert_eq!(
            refused(r#"{"count": null}"#).map(|r| r.0),
            Some(400),
            "not nullable"
        );
        assert_eq!(refused(r#"{"name": null}"#), None, "nullable");
        assert_eq!(refused(r#"{"name": false}"#).map(|r| r.0), Some(400));
        assert_eq!(refused(r#"{"name": 7}"#).map(|r| r.0), Some(400));
        assert_eq!(refused(r#"{"groups": ["a", false]}"#).map(|r| r.0), Some(400));
        assert_eq!(refused(r#"{"groups": [1]}"#).map(|r| r.0), Some(400));
        assert_eq!(
            refused(r#"{"groups": null}"#).map(|r| r.0),
            Some(400),
            "not nullable"
        );
        assert_eq!(refused(r#"{"groups": "a"}"#).map(|r| r.0), Some(400));
    }

    #[test]
    fn repeated_keys_anywhere_and_undeclared_fields_are_refused() {
        assert_eq!(refused(r#"{"name": "a", "groups": ["x"]}"#), None);
        assert_eq!(refused(r#"{"name": "a", "name": "b"}"#).map(|r| r.0), Some(400));
        assert_eq!(
            refused(r#"{"groups": [{"a": 1, "a": 2}]}"#).map(|r| r.0),
            Some(400)
        );
        assert_eq!(refused(r#"{"name": "a", "extra": 1}"#).map(|r| r.0), Some(400));
        assert_eq!(refused("not json"), None, "left to the operation");
        assert_eq!(refused("[1, 2]"), None, "not an object: left to the operation");
    }

    #[test]
    fn the_document_marks_request_bodies_closed_and_keeps_its_order() {
        let spec = "{\n  \"paths\": {\n    \"/api/v1/users\": {\n      \"post\": {\n        \"requestBody\": {\n          \"content\": {\n            \"application/json; charset=utf-8\": {\n              \"schema\": {\n                \"$ref\": \"#/components/schemas/NewUserDoc\"\n              }\n            }\n          }\n        }\n      }\n    }\n  },\n  \"components\": {\n    \"schemas\": {\n      \"NewUserDoc\": {\n        \"type\": \"object\",\n        \"properties\": {\n          \"b\": {},\n          \"a\": {}\n        }\n      }\n    }\n  }\n}";
        let text = document(spec);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc.pointer("/components/schemas/NewUserDoc/additionalProperties"),
            Some(&serde_json::Value::Bool(false))
        );
        assert!(text.find("\"b\"").unwrap() < text.find("\"a\"").unwrap());
        let rules = ApiRules::new(&text);
        assert_eq!(
            rules
                .fields(&Method::POST, "/api/v1/users")
                .map(|f| f.names.as_slice()),
            Some(&["a".to_owned(), "b".to_owned()][..])
        );
        assert_eq!(rules.fields(&Method::PATCH, "/api/v1/users"), None);
    }
}
