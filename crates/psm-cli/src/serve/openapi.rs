//! `GET /openapi.json`: the OpenAPI 3.1 description of the API, written by hand next to the
//! routes (the end-to-end tests call every operation it lists and expect none to be missing).

use axum::Json;
use serde_json::{Value, json};

/// The handler.
pub async fn document() -> Json<Value> {
    Json(spec())
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

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": {"$ref": "#/components/responses/Error"},
        "401": {"$ref": "#/components/responses/Error"},
        "503": {"$ref": "#/components/responses/Error"},
    })
}

fn op(summary: &str, request: Option<Value>, responses: Value) -> Value {
    let mut o = json!({"summary": summary, "responses": responses});
    if let (Some(r), Value::Object(map)) = (request, &mut o) {
        map.insert("requestBody".into(), body(r));
    }
    o
}

/// The document.
pub fn spec() -> Value {
    let allowed = object(&["allowed"], json!({"allowed": {"type": "boolean"}}));
    let revision = json!({"type": "object", "properties": {"revision": {"type": "integer"}}});
    let session = json!({"$ref": "#/components/schemas/Session"});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "psm",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Relationship checks and lookups, relationship and schema management, and per-session permissions. Relationships read `resource#relation@subject` (`document:spec#reader@group:eng#member`). With a token configured, every route except /healthz and /openapi.json needs `Authorization: Bearer TOKEN`."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "An error: `code` is machine-readable, `message` is for people.",
                    "content": {"application/json": {"schema": object(&["error"], json!({
                        "error": object(&["code", "message"], json!({"code": string(), "message": string()}))
                    }))}}
                }
            },
            "schemas": {
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
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness and the session store's health (503 when unhealthy)", "security": [], "responses": {"200": {"description": "healthy"}, "503": {"description": "unhealthy"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text)", "responses": {"200": {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": string()}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/check": {"post": op("Does subject have permission on resource?",
                Some(object(&["resource", "permission", "subject"], json!({
                    "resource": string(), "permission": string(), "subject": string(),
                    "context": {"type": "array", "items": string(), "description": "contextual relationships, for this check only"}
                }))), ok("the answer", allowed))},
            "/v1/check/bulk": {"post": op("Many checks; answers in request order",
                Some(object(&["items"], json!({"items": {"type": "array", "items": object(&["resource", "permission", "subject"], json!({"resource": string(), "permission": string(), "subject": string()}))}}))),
                ok("the answers", object(&["results"], json!({"results": {"type": "array", "items": {"type": "boolean"}}}))))},
            "/v1/lookup/resources": {"post": op("Ids of resources of a type on which subject has permission",
                Some(object(&["resource_type", "permission", "subject"], json!({"resource_type": string(), "permission": string(), "subject": string()}))),
                ok("sorted ids", object(&["resource_ids"], json!({"resource_ids": strings()}))))},
            "/v1/lookup/subjects": {"post": op("Subjects of a type with permission on resource",
                Some(object(&["resource", "permission", "subject_type"], json!({"resource": string(), "permission": string(), "subject_type": string(), "subject_relation": string()}))),
                ok("subjects; a wildcard lists its exclusions", object(&["subjects"], json!({"subjects": {"type": "array", "items": {"type": "object", "properties": {"subject": string(), "excluded": strings()}}}}))))},
            "/v1/relationships/write": {"post": op("Apply updates atomically (409 when a create finds one existing)",
                Some(object(&["updates"], json!({"updates": {"type": "array", "items": object(&["operation", "relationship"], json!({"operation": {"enum": ["touch", "create", "delete"]}, "relationship": string()}))}}))),
                ok("written", revision.clone()))},
            "/v1/relationships/delete": {"post": op("Delete relationships",
                Some(object(&["relationships"], json!({"relationships": strings()}))), ok("deleted", revision))},
            "/v1/relationships/read": {"post": op("Relationships matching a filter",
                Some(object(&[], json!({"resource_type": string(), "resource_id": string(), "relation": string(), "subject": string(), "limit": {"type": "integer"}}))),
                ok("matches", object(&["relationships", "truncated"], json!({"relationships": strings(), "truncated": {"type": "boolean"}}))))},
            "/v1/schema": {
                "get": op("The stored schema (SpiceDB language), or null", None, ok("schema", json!({"type": "object", "properties": {"schema": {"type": ["string", "null"]}}}))),
                "put": op("Validate, store and use a schema (errors name line and column)", Some(object(&["schema"], json!({"schema": string()}))), ok("definitions", object(&["definitions"], json!({"definitions": strings()}))))
            },
            "/v1/sessions": {"post": {"summary": "Store (or replace) a session",
                "requestBody": body(object(&["user_id"], json!({"session_id": string(), "user_id": string(), "permissions": strings(), "ttl_seconds": {"type": "integer"}, "no_expiry": {"type": "boolean"}, "metadata": {"type": "object"}}))),
                "responses": {"201": {"description": "stored", "content": {"application/json": {"schema": session.clone()}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
            "/v1/sessions/check": {"post": op("Check a session's permissions",
                Some(object(&["session_id", "permissions"], json!({"session_id": string(), "permissions": strings()}))),
                ok("`allowed` is true when all are", object(&["allowed", "results"], json!({"allowed": {"type": "boolean"}, "results": {"type": "object", "additionalProperties": {"type": "boolean"}}}))))},
            "/v1/sessions/{session_id}": {
                "parameters": [{"name": "session_id", "in": "path", "required": true, "schema": string()}],
                "get": {"summary": "A live session (404 when none)", "responses": {"200": {"description": "the session", "content": {"application/json": {"schema": session}}}, "404": {"$ref": "#/components/responses/Error"}}},
                "delete": {"summary": "Invalidate a session (404 when none)", "responses": {"200": {"description": "invalidated"}, "404": {"$ref": "#/components/responses/Error"}}}
            }
        }
    })
}
