//! The error policy: the one place where a failure becomes an HTTP answer.
//!
//! Services return reasons ([`TokenError`], [`UserinfoError`], [`ServiceError`],
//! [`AdminDenied`]) and never name a status; the web layer's own refusals (a malformed body, a
//! token sent twice) are reasons too. Each reason is answered by the family of the endpoint:
//!
//! - **OAuth endpoints** (token, revocation, introspection) answer with an RFC 6749 section 5.2
//!   body `{"error", "error_description"}`, `Cache-Control: no-store` and `Pragma: no-cache`. A
//!   rule's refusal is 400 with the rule's code, except `invalid_client`, which is 401; failed
//!   client authentication is 401 `invalid_client`, with `WWW-Authenticate: Basic` when the
//!   client tried HTTP Basic. Throttling is 429 `temporarily_unavailable` with `Retry-After` in
//!   seconds: never `slow_down`, which RFC 8628 keeps for a device polling too fast (a 400). A
//!   store failure is 503 `temporarily_unavailable`.
//! - **UserInfo** (RFC 6750 section 3.1) answers a missing or dead token with 401
//!   `invalid_token`, a token without `openid` with 403 `insufficient_scope`, a token sent twice
//!   with 400 `invalid_request`, each with a `Bearer` challenge, and a store failure with 503.
//! - **The admin API** (`/api`) answers with an RFC 9457 problem (`application/problem+json`,
//!   `Cache-Control: no-store`) whose `type` ends in a stable kind: 400 `bad-request`, 401
//!   `unauthorized` (with a `Bearer` challenge), 403 `forbidden`, 404 `not-found`, 409
//!   `conflict`, 422 `validation` (with the field), 429 `too-many-requests` (with
//!   `Retry-After`), 503 `unavailable`. Errors answered by poem or a middleware in another format
//!   are turned into the same problems by status ([`problem_kind`]).
//! - **Pages** answer with HTML; their statuses come from [`page_status`].
//! - **Probes and the JWKS** (`/readyz`, `/.well-known/jwks.json`) answer a store failure with a
//!   plain-text 503, declared in their own response enums.
//!
//! An internal failure is logged where it is turned into its answer, and answered without its
//! detail, which is for the operator's log only.

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::Object;

use crate::protocol::{ErrorCode, OAuthError};
use crate::service::ServiceError;
use crate::service::admin::AdminDenied;
use crate::service::token::{Attempts, TokenError, UserinfoError};

const NO_STORE: &str = "no-store";
const NO_CACHE: &str = "no-cache";

/// The challenge sent with 401 when the client tried HTTP Basic (RFC 6749 section 5.2).
const BASIC_CHALLENGE: &str = "Basic realm=\"latchkey\", charset=\"UTF-8\"";

/// The challenge of a 401 at a bearer-token resource (RFC 6750 section 3).
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"latchkey\"";

/// An error response (RFC 6749 section 5.2).
#[derive(Object, Debug, Clone, PartialEq, Eq)]
#[oai(rename = "OAuthError", skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// The error code, such as `invalid_grant`.
    pub error: String,
    /// A human-readable explanation.
    pub error_description: Option<String>,
}

impl From<&OAuthError> for ErrorBody {
    fn from(e: &OAuthError) -> Self {
        ErrorBody {
            error: e.code.as_str().to_owned(),
            error_description: Some(e.description().to_owned()),
        }
    }
}

/// How one failure is answered at an OAuth endpoint: the status, the body and the headers that
/// go with it. The endpoints' response enums are filled from it ([`oauth_failure_responses`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthAnswer {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// `WWW-Authenticate`, when the answer carries a challenge.
    pub challenge: Option<String>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl OAuthAnswer {
    fn new(status: StatusCode, error: &OAuthError) -> OAuthAnswer {
        OAuthAnswer {
            status,
            body: ErrorBody::from(error),
            challenge: None,
            retry_after: None,
        }
    }
}

/// The answer to a failed token, revocation or introspection request.
pub fn token_error(e: &TokenError) -> OAuthAnswer {
    match e {
        TokenError::Refused(error) if error.code == ErrorCode::InvalidClient => {
            OAuthAnswer::new(StatusCode::UNAUTHORIZED, error)
        }
        TokenError::Refused(error) | TokenError::Replayed(error) => {
            OAuthAnswer::new(StatusCode::BAD_REQUEST, error)
        }
        TokenError::ClientAuth { error, basic } => OAuthAnswer {
            challenge: basic.then(|| BASIC_CHALLENGE.to_owned()),
            ..OAuthAnswer::new(StatusCode::UNAUTHORIZED, error)
        },
        TokenError::Throttled { what, retry_after } => {
            let description = match what {
                Attempts::ClientSecrets => "too many failed client authentications; retry later",
                Attempts::Passwords => "too many failed sign-ins; retry later",
            };
            OAuthAnswer {
                retry_after: Some(retry_after.0),
                ..OAuthAnswer::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    &OAuthError::new(ErrorCode::TemporarilyUnavailable, description),
                )
            }
        }
        TokenError::Unavailable => OAuthAnswer::new(
            StatusCode::SERVICE_UNAVAILABLE,
            &OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again later"),
        ),
    }
}

/// The reason for a request whose body the OpenAPI layer could not read (wrong content type,
/// repeated or undecodable fields): `invalid_request`, so that it still gets an RFC 6749 body.
pub fn malformed(err: &poem::Error) -> TokenError {
    let detail = if err.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        "the body must be application/x-www-form-urlencoded".to_owned()
    } else {
        format!("malformed request: {err}")
    };
    TokenError::Refused(OAuthError::invalid_request(detail))
}

/// Implements `From<OAuthAnswer>` for a token-style response enum with the variants
/// `BadRequest`, `Unauthorized`, `TooManyRequests` and `Unavailable`, each carrying the error
/// body, `Cache-Control` and `Pragma` (and the challenge or `Retry-After`).
macro_rules! oauth_failure_responses {
    ($ty:ident) => {
        impl From<$crate::web::errors::OAuthAnswer> for $ty {
            fn from(a: $crate::web::errors::OAuthAnswer) -> $ty {
                let body = poem_openapi::payload::Json(a.body);
                let (cc, pragma) = ("no-store".to_owned(), "no-cache".to_owned());
                match a.status.as_u16() {
                    400 => $ty::BadRequest(body, cc, pragma),
                    401 => $ty::Unauthorized(body, cc, pragma, a.challenge),
                    429 => $ty::TooManyRequests(body, cc, pragma, a.retry_after.unwrap_or(1).to_string()),
                    _ => $ty::Unavailable(body, cc, pragma),
                }
            }
        }
    };
}
pub(crate) use oauth_failure_responses;

/// Why a userinfo request was refused: how the token was sent (the web layer's reasons), or
/// what the service found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoRefusal {
    /// No token at all.
    NoToken,
    /// An `Authorization` header that is not a Bearer token.
    NotBearer,
    /// The token both in the header and in the body (RFC 6750 section 2).
    TwoPlaces,
    /// The service's reason.
    Service(UserinfoError),
}

/// The answer to a refused userinfo request (RFC 6750 section 3.1).
pub fn userinfo_error(r: &UserinfoRefusal) -> OAuthAnswer {
    let invalid_token = |detail: &str| {
        let e = OAuthError::new(ErrorCode::InvalidToken, detail);
        OAuthAnswer {
            challenge: Some(format!(
                "{BEARER_CHALLENGE}, error=\"invalid_token\", error_description=\"{}\"",
                e.description()
            )),
            ..OAuthAnswer::new(StatusCode::UNAUTHORIZED, &e)
        }
    };
    match r {
        UserinfoRefusal::NoToken => OAuthAnswer {
            challenge: Some(BEARER_CHALLENGE.to_owned()),
            ..OAuthAnswer::new(
                StatusCode::UNAUTHORIZED,
                &OAuthError::new(ErrorCode::InvalidToken, "no access token"),
            )
        },
        UserinfoRefusal::NotBearer => invalid_token("the Authorization header is not a Bearer token"),
        UserinfoRefusal::TwoPlaces => OAuthAnswer {
            challenge: Some(format!("{BEARER_CHALLENGE}, error=\"invalid_request\"")),
            ..OAuthAnswer::new(
                StatusCode::BAD_REQUEST,
                &OAuthError::invalid_request("send the token in one place only"),
            )
        },
        UserinfoRefusal::Service(UserinfoError::InvalidToken) => {
            invalid_token("the access token is invalid, expired or revoked")
        }
        UserinfoRefusal::Service(UserinfoError::InsufficientScope) => OAuthAnswer {
            status: StatusCode::FORBIDDEN,
            body: ErrorBody {
                error: "insufficient_scope".to_owned(),
                error_description: Some("the access token was not granted openid".to_owned()),
            },
            challenge: Some(format!(
                "{BEARER_CHALLENGE}, error=\"insufficient_scope\", scope=\"openid\""
            )),
            retry_after: None,
        },
        UserinfoRefusal::Service(UserinfoError::Unavailable(e)) => {
            tracing::error!(error = %e, "userinfo failed inside");
            OAuthAnswer::new(
                StatusCode::SERVICE_UNAVAILABLE,
                &OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again later"),
            )
        }
    }
}

/// An RFC 6749 error as a whole response, for answers given outside the operations (by
/// middleware at the OAuth endpoints): the body, `Cache-Control: no-store`, `Pragma: no-cache`.
pub fn oauth_response(status: StatusCode, error: &OAuthError) -> Response {
    let body = serde_json::json!({
        "error": error.code.as_str(),
        "error_description": error.description(),
    });
    poem::web::Json(body)
        .with_status(status)
        .with_header(header::CACHE_CONTROL, NO_STORE)
        .with_header(header::PRAGMA, NO_CACHE)
        .into_response()
}

/// The answer to a body larger than `limit` bytes, refused before any endpoint reads it: a
/// problem under the admin API, an RFC 6749-style error elsewhere.
pub fn body_too_large(admin_api: bool, limit: usize) -> Response {
    if admin_api {
        return too_large(limit);
    }
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": format!("the request body is larger than {limit} bytes"),
    });
    poem::web::Json(body)
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        .with_header(header::CACHE_CONTROL, NO_STORE)
        .into_response()
}

/// The base of every problem `type`.
const PROBLEM: &str = "https://latchkey.invalid/problems/";

/// One invalid field.
#[derive(Object, Debug, Clone)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem detail.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[oai(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    /// For validation problems: which fields are wrong and why.
    pub errors: Option<Vec<FieldProblem>>,
    /// For 429: the seconds to wait, sent as `Retry-After`.
    #[oai(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `status`, whose `type` ends in `kind`.
    pub fn new(status: u16, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            type_: format!("{PROBLEM}{kind}"),
            title: title.to_owned(),
            status,
            detail: Some(detail.into()),
            errors: None,
            retry_after: None,
        }
    }

    /// The problem for a failed admin use case.
    pub fn from_service(e: ServiceError) -> Problem {
        match e {
            ServiceError::NotFound(what) => {
                Problem::new(404, "not-found", "Not found", format!("{what} not found"))
            }
            ServiceError::Conflict { message, .. } => Problem::new(409, "conflict", "Conflict", message),
            ServiceError::Invalid { field, message, .. } => Problem {
                errors: Some(vec![FieldProblem {
                    field,
                    message: message.clone(),
                }]),
                ..Problem::new(422, "validation", "Invalid input", message)
            },
            ServiceError::Forbidden(m) => Problem::new(403, "forbidden", "Forbidden", m),
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "an admin call failed inside");
                Problem::new(
                    503,
                    "unavailable",
                    "Unavailable",
                    "the server cannot complete this now; try again",
                )
            }
        }
    }

    /// The problem for a bearer token the admin API refused.
    pub fn from_denied(denied: AdminDenied) -> Problem {
        match denied {
            AdminDenied::Unauthenticated => Problem::new(
                401,
                "unauthorized",
                "Unauthorized",
                "the access token is invalid, expired or revoked",
            ),
            AdminDenied::Forbidden(why) => Problem::new(403, "forbidden", "Forbidden", why),
            AdminDenied::Throttled(wait) => Problem {
                retry_after: Some(wait.0),
                ..Problem::new(
                    429,
                    "too-many-requests",
                    "Too many requests",
                    format!("too many invalid tokens; retry after {} seconds", wait.0),
                )
            },
            AdminDenied::Unavailable(e) => Problem::from_service(e),
        }
    }

    /// The problem for a request the OpenAPI layer could not read (or that lacked a token).
    pub fn from_bad_request(err: poem::Error) -> Problem {
        if err.status() == StatusCode::UNAUTHORIZED {
            return Problem::new(
                401,
                "unauthorized",
                "Unauthorized",
                "a bearer access token with the admin scope is required",
            );
        }
        let detail = err.to_string();
        let field = detail
            .split('`')
            .nth(1)
            .filter(|_| detail.contains("field `"))
            .map(str::to_owned);
        let errors = field.map(|field| {
            vec![FieldProblem {
                field,
                message: detail.clone(),
            }]
        });
        Problem {
            errors,
            ..Problem::new(400, "bad-request", "Bad request", detail.clone())
        }
    }

    /// The `Retry-After` value of a 429 problem, in seconds.
    pub fn retry_after_header(&self) -> String {
        self.retry_after.unwrap_or(1).to_string()
    }
}

/// The kind and title of the problem that stands for an error `status` answered in another
/// format (poem's plain-text 400, 404, 405, the head limits' 414 and 431, ...).
pub fn problem_kind(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("bad-request", "Bad request"),
        401 => ("unauthorized", "Unauthorized"),
        403 => ("forbidden", "Forbidden"),
        404 => ("not-found", "Not found"),
        405 => ("method-not-allowed", "Method not allowed"),
        406 => ("not-acceptable", "Not acceptable"),
        413 => ("too-large", "Payload too large"),
        414 => ("uri-too-long", "URI too long"),
        415 => ("unsupported-media-type", "Unsupported media type"),
        429 => ("too-many-requests", "Too many requests"),
        431 => ("headers-too-large", "Request header fields too large"),
        s if s >= 500 => ("unavailable", "Unavailable"),
        _ => ("bad-request", "Bad request"),
    }
}

/// The answer to an admin API request whose body is larger than `limit` bytes (refused before
/// any operation reads it): a problem, like every other admin error.
pub fn too_large(limit: usize) -> Response {
    problem_response(
        413,
        "too-large",
        "Payload too large",
        format!("the request body is larger than {limit} bytes"),
        Vec::new(),
    )
}

/// An RFC 9457 problem as a whole response, for answers given outside the operations (by
/// middleware): `status`, the `type` ending in `kind`, and any field-level `errors` as (field,
/// message) pairs.
pub fn problem_response(
    status: u16,
    kind: &str,
    title: &str,
    detail: String,
    errors: Vec<(String, String)>,
) -> Response {
    use poem_openapi::types::ToJSON as _;
    let errors = (!errors.is_empty()).then(|| {
        errors
            .into_iter()
            .map(|(field, message)| FieldProblem { field, message })
            .collect()
    });
    let problem = Problem {
        errors,
        ..Problem::new(status, kind, title, detail)
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(header::CONTENT_TYPE, "application/problem+json")
        .header(header::CACHE_CONTROL, NO_STORE)
        .body(problem.to_json_string())
}

/// Why a page could not show what was asked; each has one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFailure {
    /// The request is invalid (a bad parameter, an unknown client or redirect URI).
    Invalid,
    /// The browser may not do this (a failed CSRF check, a refused sign-in).
    Forbidden,
    /// The thing asked for does not exist.
    NotFound,
    /// The change conflicts with what is stored (a taken username or client id).
    Conflict,
    /// The form body is too large.
    TooLarge,
    /// Too many failed attempts; the page says when to retry.
    Throttled,
    /// An upstream provider could not be reached.
    UpstreamUnreachable,
    /// The store failed; try again.
    Unavailable,
}

/// The status of a page that reports `failure`.
pub fn page_status(failure: PageFailure) -> StatusCode {
    match failure {
        PageFailure::Invalid => StatusCode::BAD_REQUEST,
        PageFailure::Forbidden => StatusCode::FORBIDDEN,
        PageFailure::NotFound => StatusCode::NOT_FOUND,
        PageFailure::Conflict => StatusCode::CONFLICT,
        PageFailure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        PageFailure::Throttled => StatusCode::TOO_MANY_REQUESTS,
        PageFailure::UpstreamUnreachable => StatusCode::BAD_GATEWAY,
        PageFailure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::throttle::RetryAfter;

    /// One row of the OAuth table: status, code, challenge, `Retry-After`.
    type Row<'a> = (u16, &'a str, Option<&'a str>, Option<u64>);

    fn row(a: &OAuthAnswer) -> Row<'_> {
        (
            a.status.as_u16(),
            a.body.error.as_str(),
            a.challenge.as_deref(),
            a.retry_after,
        )
    }

    #[test]
    fn every_token_error_has_its_status_code_and_headers() {
        let wait = RetryAfter(7);
        let table: Vec<(TokenError, Row)> = vec![
            (
                TokenError::Refused(OAuthError::invalid_grant("x")),
                (400, "invalid_grant", None, None),
            ),
            (
                TokenError::Refused(OAuthError::invalid_request("x")),
                (400, "invalid_request", None, None),
            ),
            (
                TokenError::Refused(OAuthError::new(ErrorCode::InvalidTarget, "x")),
                (400, "invalid_target", None, None),
            ),
            (
                TokenError::Refused(OAuthError::invalid_client("x")),
                (401, "invalid_client", None, None),
            ),
            (
                TokenError::ClientAuth {
                    error: OAuthError::invalid_client("x"),
                    basic: false,
                },
                (401, "invalid_client", None, None),
            ),
            (
                TokenError::ClientAuth {
                    error: OAuthError::invalid_client("x"),
                    basic: true,
                },
                (401, "invalid_client", Some(BASIC_CHALLENGE), None),
            ),
            (
                TokenError::Throttled {
                    what: Attempts::ClientSecrets,
                    retry_after: wait,
                },
                (429, "temporarily_unavailable", None, Some(7)),
            ),
            (
                TokenError::Throttled {
                    what: Attempts::Passwords,
                    retry_after: wait,
                },
                (429, "temporarily_unavailable", None, Some(7)),
            ),
            (
                TokenError::Unavailable,
                (503, "temporarily_unavailable", None, None),
            ),
        ];
        for (reason, expected) in &table {
            assert_eq!(row(&token_error(reason)), *expected, "{reason:?}");
        }
    }

    #[test]
    fn throttling_is_never_slow_down() {
        for what in [Attempts::ClientSecrets, Attempts::Passwords] {
            let a = token_error(&TokenError::Throttled {
                what,
                retry_after: RetryAfter(1),
            });
            assert_ne!(a.body.error, "slow_down");
            assert!(
                a.body
                    .error_description
                    .is_some_and(|d| d.contains("retry later"))
            );
        }
    }

    #[test]
    fn every_userinfo_refusal_has_its_status_code_and_challenge() {
        let table = [
            (
                UserinfoRefusal::NoToken,
                401,
                "invalid_token",
                "Bearer realm=\"latchkey\"",
            ),
            (
                UserinfoRefusal::NotBearer,
                401,
                "invalid_token",
                "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"the Authorization header is not a Bearer token\"",
            ),
            (
                UserinfoRefusal::TwoPlaces,
                400,
                "invalid_request",
                "Bearer realm=\"latchkey\", error=\"invalid_request\"",
            ),
            (
                UserinfoRefusal::Service(UserinfoError::InvalidToken),
                401,
                "invalid_token",
                "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\"",
            ),
            (
                UserinfoRefusal::Service(UserinfoError::InsufficientScope),
                403,
                "insufficient_scope",
                "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"openid\"",
            ),
        ];
        for (reason, status, code, challenge) in &table {
            let a = userinfo_error(reason);
            assert_eq!(row(&a), (*status, *code, Some(*challenge), None), "{reason:?}");
        }
        let down = userinfo_error(&UserinfoRefusal::Service(UserinfoError::Unavailable(
            ServiceError::Internal("disk".into()),
        )));
        assert_eq!(row(&down), (503, "temporarily_unavailable", None, None));
        assert!(
            !format!("{:?}", down.body).contains("disk"),
            "no internal detail on the wire"
        );
    }

    #[test]
    fn every_admin_reason_is_a_problem_of_its_status_and_kind() {
        let kind = |p: &Problem| (p.status, p.type_.trim_start_matches(PROBLEM).to_owned());
        let services = [
            (ServiceError::NotFound("user".into()), 404, "not-found"),
            (ServiceError::untyped_conflict("taken"), 409, "conflict"),
            (ServiceError::invalid("name", "bad"), 422, "validation"),
            (ServiceError::Forbidden("no".into()), 403, "forbidden"),
            (ServiceError::Internal("disk".into()), 503, "unavailable"),
        ];
        for (e, status, k) in services {
            let p = Problem::from_service(e.clone());
            assert_eq!(kind(&p), (status, k.to_owned()), "{e:?}");
            assert!(!p.detail.unwrap_or_default().contains("disk"));
        }
        let denied = [
            (AdminDenied::Unauthenticated, 401, "unauthorized", None),
            (AdminDenied::Forbidden("no"), 403, "forbidden", None),
            (
                AdminDenied::Throttled(RetryAfter(9)),
                429,
                "too-many-requests",
                Some(9),
            ),
            (
                AdminDenied::Unavailable(ServiceError::Internal("x".into())),
                503,
                "unavailable",
                None,
            ),
        ];
        for (d, status, k, retry) in denied {
            let p = Problem::from_denied(d.clone());
            assert_eq!(kind(&p), (status, k.to_owned()), "{d:?}");
            assert_eq!(p.retry_after, retry);
        }
        let invalid = Problem::from_service(ServiceError::invalid("name", "bad"));
        assert_eq!(
            invalid.errors.map(|e| e[0].field.clone()),
            Some("name".to_owned())
        );
    }

    #[test]
    fn statuses_answered_elsewhere_become_problems_of_a_stable_kind() {
        let table = [
            (400, "bad-request"),
            (401, "unauthorized"),
            (403, "forbidden"),
            (404, "not-found"),
            (405, "method-not-allowed"),
            (406, "not-acceptable"),
            (413, "too-large"),
            (414, "uri-too-long"),
            (415, "unsupported-media-type"),
            (429, "too-many-requests"),
            (431, "headers-too-large"),
            (500, "unavailable"),
            (503, "unavailable"),
            (418, "bad-request"),
        ];
        for (status, k) in table {
            assert_eq!(problem_kind(status).0, k, "{status}");
        }
    }

    #[test]
    fn every_page_failure_has_its_status() {
        let table = [
            (PageFailure::Invalid, 400),
            (PageFailure::Forbidden, 403),
            (PageFailure::NotFound, 404),
            (PageFailure::TooLarge, 413),
            (PageFailure::Throttled, 429),
            (PageFailure::UpstreamUnreachable, 502),
            (PageFailure::Unavailable, 503),
        ];
        for (failure, status) in table {
            assert_eq!(page_status(failure).as_u16(), status, "{failure:?}");
        }
    }

    #[test]
    fn malformed_bodies_are_invalid_request() {
        let e = malformed(&poem::Error::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        assert_eq!(row(&token_error(&e)), (400, "invalid_request", None, None));
    }
}
