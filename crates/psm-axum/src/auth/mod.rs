//! Ready-made authenticators: `Authorization: Bearer <JWT>` and `X-Session-ID`.

mod jwt;
mod session;

pub use jwt::{JwtAuthenticator, JwtAuthenticatorBuilder, MIN_HS256_SECRET_LEN};
pub use session::{SESSION_HEADER, SessionAuthenticator};
