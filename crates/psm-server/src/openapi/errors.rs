//! The error responses handlers list in their `#[utoipa::path(responses(...))]`: sets of
//! statuses, each answered with the one JSON error shape [`ErrorBody`] (psm-core's, described
//! here). Which set a route lists follows from what it does: a JSON body ([`BodyErrors`]), the
//! relationship engine ([`EngineErrors`]), a session that may not exist ([`NotFound`]), and
//! every route the deadline and the store can fail ([`ServerErrors`]). 401 is added at startup,
//! only when a token is configured (see [`super::secure`]).

use std::collections::BTreeMap;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};

/// The one JSON error shape: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, ToSchema)]
#[schema(as = ErrorBody)]
#[allow(dead_code)] // describes psm_core::ErrorBody, which handlers answer
pub struct ErrorBodySchema {
    error: ErrorDetailSchema,
}

/// The inside of an error.
#[derive(Debug, ToSchema)]
#[schema(as = ErrorDetail)]
#[allow(dead_code)]
pub struct ErrorDetailSchema {
    /// A stable machine-readable code (`invalid_input`, `no_schema`, `timeout`, ...).
    code: String,
    /// What went wrong, for people.
    message: String,
    /// The request field at fault, when there is one.
    #[schema(nullable = false)]
    field: Option<String>,
}

/// An error response with `description`.
pub fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter()
        .map(|(status, description)| ((*status).to_owned(), error_response(description)))
        .collect()
}

/// Declares a set of error responses.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident, [$(($status:literal, $description:literal)),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                responses(&[$(($status, $description)),*])
            }
        }
    };
}

error_set!(
    /// What reading a JSON body can answer.
    BodyErrors,
    [
        ("400", "the body is not JSON, or a value breaks a rule the schema states (`field` names it)"),
        ("413", "the body, or a list in it, is larger than the server accepts"),
        ("415", "the body is not `application/json`"),
        ("422", "the JSON has the wrong shape: a missing, unknown or mistyped field (named in `field`)"),
    ]
);

error_set!(
    /// A value in the path or query breaks a rule.
    InvalidInput,
    [("400", "a value in the path or query breaks a rule the schema states (`field` names it)")]
);

error_set!(
    /// Routes over the relationship engine.
    EngineErrors,
    [
        ("409", "the stored state refuses the request: no schema has been written yet \
                 (`no_schema`), a revision this store never issued (`revision_not_issued`), a \
                 type, relation or caveat the stored schema does not define or allow, a \
                 relationship that exists (`conflict`)"),
        ("501", "this store URL has no relationship store"),
    ]
);

error_set!(
    /// A session that may not exist.
    NotFound,
    [("404", "no live session with this id")]
);

error_set!(
    /// A session store that refused to grow.
    QuotaExceeded,
    [("507", "the session store refused to grow past its configured bound")]
);

error_set!(
    /// The change log no longer holds the changes asked for.
    Gone,
    [("410", "the change log no longer holds every change after `after`: resync from a read")]
);

error_set!(
    /// `/metrics` without a recorder.
    NotFoundRoute,
    [("404", "the host installed no metrics recorder")]
);

error_set!(
    /// A handler that failed.
    Internal,
    [("500", "a bug")]
);

error_set!(
    /// Every route: the deadline and the stores.
    ServerErrors,
    [
        ("500", "a server-side limit (an evaluation depth) or a bug"),
        ("503", "the store failed or the request passed its deadline (a write's outcome is then unknown)"),
    ]
);
