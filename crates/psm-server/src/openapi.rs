//! `GET /openapi.json`: the OpenAPI 3.1 description of the API, written by hand next to the
//! routes (the end-to-end tests call every operation it lists and expect none to be missing).
//! Every API route lists every status it can answer; bearer auth is declared only when a token
//! is configured, and never on `/healthz` or `/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

use crate::lookup_routes::MAX_LOOKUP_LIMIT;
use crate::render::MAX_EXPAND_SUBJECTS;

/// The handler.
pub async fn document(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(spec(state.token.is_some()))
}

/// Session ids: 1–255 bytes of `[A-Za-z0-9._~-]`.
fn session_id() -> Value {
    json!({"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"})
}

/// An object reference `type:id`.
fn object_ref() -> Value {
    json!({"type": "string", "pattern": "^[^:#@\\s]+:[^#@\\s]+$", "description": "`type:id`"})
}

/// A subject `type:id` or `type:id#relation` (or `type:*`).
fn subject_ref() -> Value {
    json!({"type": "string", "pattern": "^[^:#@\\s]+:[^#@\\s]+(#[^#@\\s]+)?$", "description": "`type:id`, `type:id#relation` or `type:*`"})
}

/// A relationship `type:id#relation@subject`.
fn relationship() -> Value {
    json!({"type": "string", "pattern": "^[^:#@\\s]+:[^#@\\s]+#[^#@\\s]+@[^:#@\\s]+:[^#@\\s]+(#[^#@\\s]+)?(\\[.*\\])?$", "description": "`resource#relation@subject`"})
}

/// A non-empty list of relationships.
fn relationships() -> Value {
    json!({"type": "array", "minItems": 1, "items": relationship()})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties})
}

/// The `consistency` field every read takes.
fn consistency() -> Value {
    json!({
        "description": "How fresh the answer must be (default `minimize_latency`). `at_least_as_fresh` takes a revision a write returned; one this store never issued answers 409 `revision_not_issued`.",
        "oneOf": [
            {"enum": ["minimize_latency", "fully_consistent"]},
            {"type": "object", "additionalProperties": false, "required": ["at_least_as_fresh"],
             "properties": {"at_least_as_fresh": {"type": ["integer", "string"], "minimum": 0, "pattern": "^[0-9]{1,20}$"}}}
        ]
    })
}

/// The `context` field of checks and lookups: caveat parameters.
fn caveat_context() -> Value {
    json!({"type": "object", "description": "Caveat parameters (CEL values) for this request; a parameter in a relationship's stored context wins."})
}

/// The `limit` of a lookup.
fn lookup_limit() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_LOOKUP_LIMIT, "description": format!("most results in this page (default and maximum {MAX_LOOKUP_LIMIT}: a lookup without `limit` answers at most that many, with a `cursor` to the rest)")})
}

/// The `cursor` a lookup takes.
fn lookup_cursor() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "description": "the `cursor` of the previous page (absent or null: the first page). Pages follow the sort order; they are not a snapshot, so writes between pages show in later ones."})
}

/// The `cursor` a lookup answers.
fn next_cursor() -> Value {
    json!({"type": ["string", "null"], "description": "pass as `cursor` for the next page; null on the last page"})
}

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// A 200 answer and every error an API route can answer: 400 bad input or body, 401 without
/// the token (also declared when none is configured: harmless), 404 (sessions), 409 (no
/// schema, a conflict, a revision never issued), 413 too big, 415 not JSON, 422 wrong shape,
/// 500 a server-side limit, 501 relationships on a sessions-only URL, 503 the store or the
/// deadline.
fn ok(description: &str, schema: Value) -> Value {
    let mut out = json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
    });
    for status in [
        "400", "401", "404", "409", "413", "415", "422", "500", "501", "503",
    ] {
        out = with_error(out, status);
    }
    out
}

/// Adds 409, answered for a revision the store never issued (`revision_not_issued`).
fn with_revision_errors(responses: Value) -> Value {
    with_error(responses, "409")
}

/// Adds an error response under `status`.
fn with_error(mut responses: Value, status: &str) -> Value {
    if let Value::Object(map) = &mut responses {
        map.insert(
            status.into(),
            json!({"$ref": "#/components/responses/Error"}),
        );
    }
    responses
}

/// A 201 answer and the errors of [`ok`].
fn created(schema: Value) -> Value {
    let mut out = ok("stored", schema);
    if let Value::Object(map) = &mut out
        && let Some(answer) = map.remove("200")
    {
        map.insert("201".into(), answer);
    }
    out
}

fn op(summary: &str, request: Option<Value>, responses: Value) -> Value {
    let mut o = json!({"summary": summary, "responses": responses});
    if let (Some(r), Value::Object(map)) = (request, &mut o) {
        map.insert("requestBody".into(), body(r));
    }
    o
}

/// The document; `secured` when a bearer token is configured.
pub fn spec(secured: bool) -> Value {
    let revision = json!({"type": "object", "properties": {"revision": {"type": "integer", "description": "the revision the write produced: pass it as `at_least_as_fresh` to read your write, or as `after` to watch from it"}}});
    let check_answer = object(
        &["allowed", "permissionship"],
        json!({
            "allowed": {"type": "boolean"},
            "permissionship": {"enum": ["has_permission", "no_permission", "conditional"]},
            "missing_context": {"allOf": [strings()], "description": "when conditional: the caveat parameters that were missing"}
        }),
    );
    let change = object(
        &["revision", "op", "relationship"],
        json!({
            "revision": {"type": "integer"}, "op": {"enum": ["touch", "delete"]}, "relationship": string()
        }),
    );
    let query = |name: &str, required: bool, description: &str| json!({"name": name, "in": "query", "required": required, "description": description, "schema": {"type": "integer", "minimum": 0}});
    let session = json!({"$ref": "#/components/schemas/Session"});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "psm",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Relationship checks and lookups, relationship and schema management, and per-session permissions. Relationships read `resource#relation@subject` (`document:spec#reader@group:eng#member`). With a token configured, every route except /healthz and /openapi.json needs `Authorization: Bearer TOKEN`."
        },
        "components": {
            "responses": {
                "Error": {
                    "description": "An error: `code` is machine-readable, `message` is for people.",
                    "content": {"application/json": {"schema": object(&["error"], json!({
                        "error": object(&["code", "message"], json!({"code": string(), "message": string()}))
                    }))}}
                }
            },
            "schemas": {
                "ExpandNode": {"type": "object", "required": ["object", "relation", "kind"], "properties": {
                    "object": {"type": "string", "description": "`type:id`"},
                    "relation": string(),
                    "kind": {"enum": ["leaf", "caveated", "union", "intersection", "exclusion", "cycle"], "description": "`exclusion`: members of the first child that are not members of the second; `cycle`: already being expanded higher up, not followed"},
                    "subjects": {"description": "`leaf`: subjects in relationship syntax (`user:alice`, `group:eng#member`, `user:*`); `caveated`: each with the caveat its relationship carries and the context stored with it",
                        "oneOf": [strings(), {"type": "array", "items": object(&["subject", "caveat"], json!({"subject": string(), "caveat": object(&["name", "context"], json!({"name": string(), "context": {"type": ["object", "null"]}}))}))}]},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/ExpandNode"}}
                }},
                "Session": {"type": "object", "properties": {
                    "session_id": string(), "user_id": string(), "permissions": strings(),
                    "created_at": {"type": "integer", "description": "ms since the epoch"},
                    "updated_at": {"type": "integer"},
                    "expires_at": {"type": ["integer", "null"]},
                    "ttl_remaining_seconds": {"type": ["integer", "null"]},
                    "metadata": {"type": "object"}
                }}
            }
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness and the session store's health (503 when unhealthy)", "security": [], "responses": {"200": {"description": "healthy"}, "503": {"description": "unhealthy"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text; 404 when the host installed no recorder)", "responses": with_error(with_error(with_error(
                json!({"200": {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": string()}}}}),
                "401"), "404"), "503")}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/check": {"post": op("Does subject have permission on resource? `conditional` when caveat parameters the request did not give decide it",
                Some(object(&["resource", "permission", "subject"], json!({
                    "resource": object_ref(), "permission": string(), "subject": subject_ref(),
                    "context": {"oneOf": [caveat_context(), {"type": "array", "items": relationship(), "description": "older spelling of contextual_relationships"}]},
                    "contextual_relationships": {"type": "array", "items": relationship(), "description": "relationships that hold for this check only"},
                    "consistency": consistency()
                }))), with_revision_errors(ok("the answer", check_answer)))},
            "/v1/check/bulk": {"post": op("Many checks; answers in request order (a conditional answer is false)",
                Some(object(&["items"], json!({"items": {"type": "array", "items": object(&["resource", "permission", "subject"], json!({"resource": object_ref(), "permission": string(), "subject": subject_ref()}))}, "context": caveat_context(), "consistency": consistency()}))),
                with_revision_errors(ok("the answers", object(&["results"], json!({"results": {"type": "array", "items": {"type": "boolean"}}})))))},
            "/v1/lookup/resources": {"post": op("Resources of a type on which subject has permission, a page at a time: `resource_ids` holds the definite ones, `results` those and the conditional ones (allowed only if caveat parameters the request did not give allow it)",
                Some(object(&["resource_type", "permission", "subject"], json!({"resource_type": string(), "permission": string(), "subject": string(), "context": caveat_context(), "consistency": consistency(), "limit": lookup_limit(), "cursor": lookup_cursor()}))),
                with_revision_errors(ok("this page, sorted by id", object(&["resource_ids", "results", "cursor"], json!({
                    "resource_ids": strings(),
                    "results": {"type": "array", "items": object(&["id", "permissionship"], json!({
                        "id": string(),
                        "permissionship": {"enum": ["has_permission", "conditional"]},
                        "missing_context": {"allOf": [strings()], "description": "when conditional: the caveat parameters that were missing"}
                    }))},
                    "cursor": next_cursor()
                })))))},
            "/v1/lookup/subjects": {"post": op("Subjects of a type with permission on resource, a page at a time",
                Some(object(&["resource", "permission", "subject_type"], json!({"resource": string(), "permission": string(), "subject_type": string(), "subject_relation": string(), "context": caveat_context(), "consistency": consistency(), "limit": lookup_limit(), "cursor": lookup_cursor()}))),
                with_revision_errors(ok("this page of subjects, sorted as they print; a wildcard lists its exclusions", object(&["subjects", "cursor"], json!({"subjects": {"type": "array", "items": {"type": "object", "properties": {"subject": string(), "excluded": strings()}}}, "cursor": next_cursor()})))))},
            "/v1/expand": {"post": op(&format!("The tree of who has permission on resource: unions, intersections, exclusions and arrows down to stored subjects. Expired relationships are left out; caveated subjects sit in `caveated` leaves with their caveat. At most {MAX_EXPAND_SUBJECTS} subjects (more: 400, look subjects up page by page)"),
                Some(object(&["resource", "permission"], json!({"resource": string(), "permission": string(), "consistency": consistency()}))),
                with_revision_errors(ok("the tree", object(&["tree"], json!({"tree": {"$ref": "#/components/schemas/ExpandNode"}})))))},
            "/v1/relationships/write": {"post": op("Apply updates atomically (409 when a create finds one existing)",
                Some(object(&["updates"], json!({"updates": {"type": "array", "minItems": 1, "items": object(&["operation", "relationship"], json!({"operation": {"enum": ["touch", "create", "delete"]}, "relationship": relationship()}))}}))),
                ok("written", revision.clone()))},
            "/v1/relationships/delete": {"post": op("Delete relationships",
                Some(object(&["relationships"], json!({"relationships": relationships()}))), ok("deleted", revision))},
            "/v1/relationships/read": {"post": op("Relationships matching a filter, sorted, a page at a time",
                Some(object(&[], json!({"resource_type": string(), "resource_id": string(), "relation": string(), "subject": subject_ref(), "limit": {"type": "integer", "minimum": 0}, "cursor": lookup_cursor(), "consistency": consistency()}))),
                with_revision_errors(ok("this page", object(&["relationships", "truncated", "cursor"], json!({"relationships": strings(), "truncated": {"type": "boolean"}, "cursor": next_cursor()})))))},
            "/v1/relationships/changes": {"get": {
                "summary": "Relationship changes after a revision (a watch): long-polls up to `wait_ms` when there are none yet. A write is never split, so one write alone may exceed `limit`. 409 when `after` was never issued, 410 when the change log no longer holds every change after it (resync from a read).",
                "parameters": [
                    query("after", true, "the revision to list changes after: 0, one a write returned, or the `revision` of the previous answer"),
                    query("limit", false, "most changes (1 to 10000; default: --max-batch)"),
                    query("wait_ms", false, "how long to wait for a change when there is none yet (at most 30000, and within the request deadline; default 0)")
                ],
                "responses": with_error(with_revision_errors(ok("changes, oldest first; `revision` is the `after` of the next call", object(&["changes", "revision"], json!({"changes": {"type": "array", "items": change}, "revision": {"type": "integer"}})))), "410")
            }},
            "/v1/schema": {
                "get": op("The stored schema (SpiceDB language), or null", None, ok("schema", json!({"type": "object", "properties": {"schema": {"type": ["string", "null"]}}}))),
                "put": op("Validate, store and use a schema (errors name line and column)", Some(object(&["schema"], json!({"schema": string()}))), ok("definitions", object(&["definitions"], json!({"definitions": strings()}))))
            },
            "/v1/sessions": {"post": {"summary": "Store (or replace) a session",
                "requestBody": body(object(&["user_id"], json!({"session_id": session_id(), "user_id": {"type": "string", "minLength": 1, "maxLength": 255}, "permissions": strings(), "ttl_seconds": {"type": "integer", "minimum": 1}, "no_expiry": {"type": "boolean"}, "metadata": {"type": "object"}}))),
                "responses": created(session.clone())}},
            "/v1/sessions/check": {"post": op("Check a session's permissions",
                Some(object(&["session_id", "permissions"], json!({"session_id": session_id(), "permissions": {"type": "array", "minItems": 1, "items": string()}}))),
                ok("`allowed` is true when all are", object(&["allowed", "results"], json!({"allowed": {"type": "boolean"}, "results": {"type": "object", "additionalProperties": {"type": "boolean"}}}))))},
            "/v1/sessions/{session_id}": {
                "parameters": [{"name": "session_id", "in": "path", "required": true, "schema": session_id()}],
                "get": op("A live session (404 when none)", None, ok("the session", session.clone())),
                "patch": op("Replace a live session's permissions; without ttl_seconds the remaining TTL is kept (404 when none)",
                    Some(object(&["permissions"], json!({"permissions": strings(), "ttl_seconds": {"type": "integer", "minimum": 1}}))),
                    ok("the session", session.clone())),
                "delete": op("Invalidate a session (404 when none)", None, ok("invalidated", object(&["invalidated"], json!({"invalidated": {"type": "boolean"}}))))
            },
            "/v1/sessions/{session_id}/extend": {
                "parameters": [{"name": "session_id", "in": "path", "required": true, "schema": session_id()}],
                "post": op("Make a live session expire ttl_seconds from now (404 when none)",
                    Some(object(&["ttl_seconds"], json!({"ttl_seconds": {"type": "integer", "minimum": 1}}))),
                    ok("the session", session.clone()))
            },
            "/v1/users/{user_id}/sessions": {
                "parameters": [
                    {"name": "user_id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 255}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": crate::MAX_LIST_LIMIT, "default": crate::DEFAULT_LIST_LIMIT}},
                    {"name": "cursor", "in": "query", "required": false, "schema": session_id()}
                ],
                "get": op("The user's live session ids, sorted, one page after cursor (cursor in the answer is null on the last page)", None, ok("ids", object(&["user_id", "sessions", "cursor"], json!({"user_id": string(), "sessions": strings(), "cursor": {"type": ["string", "null"]}}))))
            },
            "/v1/sessions-cleanup": {"post": op("Remove expired sessions now", None, ok("how many", object(&["removed"], json!({"removed": {"type": "integer"}}))))},
            "/v1/sessions-stats": {"get": op("The session store's counters and sizes", None, ok("counters", json!({"type": "object"})))}
        }
    });
    if secured {
        doc["components"]["securitySchemes"] =
            json!({"bearer": {"type": "http", "scheme": "bearer"}});
        doc["security"] = json!([{"bearer": []}]);
    }
    doc
}
