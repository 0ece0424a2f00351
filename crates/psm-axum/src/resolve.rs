//! Resolving a request's permissions once: the principal from the extensions, the source from
//! the layer or the router-wide [`PermissionsLayer`](crate::PermissionsLayer), the result kept
//! in the extensions for later layers and extractors.

use std::sync::Arc;

use http::Extensions;
use psm_core::{PermissionSet, Principal};

use crate::extract::Permissions;
use crate::rejection::AuthzRejection;
use crate::source::PermissionSource;

/// The router-wide permissions source, as [`PermissionsLayer`](crate::PermissionsLayer) puts it
/// in the request extensions.
#[derive(Debug, Clone)]
pub(crate) struct SourceContext(pub(crate) Arc<dyn PermissionSource>);

/// The permissions of the request's principal.
///
/// With `own` (a layer's own source) they are always fetched from it; otherwise a result
/// already resolved for this request is reused, or the router-wide source is asked. No
/// principal → 401; no source → 500; a source failure → 503.
pub(crate) async fn resolve(
    ext: &mut Extensions,
    own: Option<&Arc<dyn PermissionSource>>,
) -> Result<Arc<PermissionSet>, AuthzRejection> {
    if ext.get::<Principal>().is_none() {
        return Err(AuthzRejection::Unauthenticated {
            detail: "no credentials",
        });
    }
    let source = match own {
        Some(source) => Arc::clone(source),
        None => {
            if let Some(done) = ext.get::<Permissions>() {
                return Ok(Arc::clone(&done.0));
            }
            match ext.get::<SourceContext>() {
                Some(ctx) => Arc::clone(&ctx.0),
                None => {
                    return Err(AuthzRejection::Misconfigured {
                        detail: "no permissions source: add PermissionsLayer or use with_source",
                    });
                }
            }
        }
    };
    // Take the principal out while the source borrows it (no clone), then put it back.
    let Some(principal) = ext.remove::<Principal>() else {
        return Err(AuthzRejection::Unauthenticated {
            detail: "no credentials",
        });
    };
    let fetched = source.permission_set(&principal).await;
    ext.insert(principal);
    match fetched {
        Ok(set) => {
            if own.is_none() {
                ext.insert(Permissions(Arc::clone(&set)));
            }
            Ok(set)
        }
        Err(e) => {
            tracing::warn!(error = %e, "permissions source failed; request refused");
            Err(AuthzRejection::Unavailable {
                detail: "permissions provider unavailable",
            })
        }
    }
}
