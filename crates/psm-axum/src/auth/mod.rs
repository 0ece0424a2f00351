//! Ready-made authenticators: `Authorization: Bearer <JWT>` (feature `jwt`) and sessions named
//! by a header (`X-Session-ID`) or a cookie (`psm_session`), with [`SessionCookie`] to set and
//! clear that cookie.

mod cookie;
#[cfg(feature = "jwt")]
mod jwt;
mod session;

pub use cookie::{SESSION_COOKIE, SameSite, SessionCookie};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use jwt::{JwtAuthenticator, JwtAuthenticatorBuilder, MIN_HS256_SECRET_LEN};
pub use session::{SESSION_HEADER, SessionAuthenticator, SessionSource};
