//! Plain data and validated newtypes shared by every layer. Nothing here performs I/O.

mod access;
mod amr;
mod branding;
mod factor;
mod grant;
mod ids;
mod key;
mod language;
mod launch;
mod oauth;
mod outbound;
mod redirect_uri;
mod scope;
mod time;
mod upstream;
mod user;

pub use access::{AccessRule, DomainPattern, ForwardAuth, ForwardAuthSession, Policy, RuleSubject};
pub use amr::Amr;
pub use branding::{
    BLACK, Branding, CARD_DARK, CARD_LIGHT, ImageKind, Logo, MAX_LOGO_BYTES, MAX_NAME_CHARS,
    MAX_STYLESHEET_BYTES, MIN_UI_CONTRAST, Rgb, WHITE,
};
pub use factor::{CeremonyKind, CeremonyRecord, Invitation, PasskeyRecord, RecoveryCodesRecord, TotpRecord};
pub use grant::GrantType;
pub use ids::{ClientId, InvalidId, Subject, Username};
pub use key::SigningKeyRecord;
pub use language::Language;
pub use launch::{ClientIcon, InvalidLink, LaunchUrl, MAX_ICON_LEN, valid_group};
pub use oauth::{AuthorizationCode, Consent, Grant, RefreshToken, RequestedClaims, Session};
pub use outbound::{AddressClass, OutboundPolicy, OutboundRefusal, address_class};
pub use redirect_uri::{InvalidRedirectUri, RedirectUri, RedirectUriProblem};
pub use scope::{ADMIN_SCOPE, InvalidScope, Scope, ScopeSet};
pub use time::{Duration, Timestamp};
pub use upstream::{
    ClaimMapping, LinkPolicy, PendingUpstream, Upstream, UpstreamIdentity, UpstreamKind, UpstreamLink,
};
pub use user::{
    ADMIN_GROUP, Client, ClientRule, ClientSecretDigest, ClientSource, IdTokenAlg, NewUser, RequiredFactors,
    User, valid_resource,
};
