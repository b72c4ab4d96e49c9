//! Who may open the admin console: a signed-in, enabled member of the administrators group, whose
//! session has the second factor when the user has one enrolled. The console's pages then run the
//! same typed commands as the CLI and the admin API ([`super::admin::execute_as`]), as this user.

use super::admin::Actor;
use super::{App, ServiceError, blocking, login};
use crate::domain::{Session, User};
use crate::protocol::login::is_multi_factor;

/// Why a browser may not open the console.
#[derive(Debug)]
pub enum Refusal {
    /// No live session: sign in and come back.
    NotSignedIn,
    /// Signed in, but not an administrator (403 on every console path).
    NotAdmin,
    /// An administrator with a second factor enrolled whose session was made without it: sign in
    /// again (the sign-in then asks for it).
    NeedsSecondFactor,
    /// The store failed.
    Service(ServiceError),
}

/// A browser the console admits: its session and user, and the actor its commands run as.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub session: Session,
    pub user: User,
}

impl Admitted {
    /// The actor the audit feed names for this administrator's commands.
    pub fn actor(&self, ip: std::net::IpAddr) -> Actor {
        Actor {
            name: self.user.username.to_string(),
            ip: Some(ip),
        }
    }
}

/// Admits the browser whose session cookie is `cookie`, or says why not.
pub async fn admit(app: &App, cookie: Option<&str>) -> Result<Admitted, Refusal> {
    let Some(cookie) = cookie else {
        return Err(Refusal::NotSignedIn);
    };
    let Some((session, user)) = login::current(app, cookie).await.map_err(Refusal::Service)? else {
        return Err(Refusal::NotSignedIn);
    };
    if !user.administers() {
        return Err(Refusal::NotAdmin);
    }
    if !is_multi_factor(&session.amr) {
        let store = app.store.clone();
        let subject = user.subject.clone();
        let enrolled = blocking(move || Ok(store.read(|tx| login::enrolled(tx, &subject))?))
            .await
            .map_err(Refusal::Service)?;
        if enrolled.has_second_factor() {
            return Err(Refusal::NeedsSecondFactor);
        }
    }
    Ok(Admitted { session, user })
}
