//! Ready-made authenticators: `Authorization: Bearer <JWT>` (feature `jwt`) and sessions named
//! by a header (`X-Session-ID`) or a cookie.

#[cfg(feature = "jwt")]
mod jwt;
mod session;

#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use jwt::{JwtAuthenticator, JwtAuthenticatorBuilder, MIN_HS256_SECRET_LEN};
pub use session::{SESSION_HEADER, SessionAuthenticator};
