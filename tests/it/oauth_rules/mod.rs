//! The rules of ../shared/SECURITY.md (Redirects, Codes and PKCE, Tokens, and the bug classes),
//! each as a named test over HTTP against an in-process server with a fixed clock.

mod pkce_codes;
mod redirects;
mod resources;
mod sessions;
mod tokens;

use latchkey::domain::NewUser;
use poem::http::{Method, StatusCode};

use crate::inproc::{ISSUER, InProc, PASSWORD, REDIRECT, VERIFIER, WEB_SECRET, basic, claims};

fn assert_error_page(reply: &crate::inproc::Reply) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.header("location").is_none(),
        "an error page never redirects"
    );
    assert!(
        reply
            .header("content-type")
            .unwrap_or("")
            .starts_with("text/html")
    );
}

// Redirects
