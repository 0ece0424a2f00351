"""The Python libraries psm replaces, timed on the same operations and data sizes as psm's benches.

Run by `cargo xtask bench` (which installs `permission-storage-manager[redis]` and `miracle-acl`
into a cache venv under the target directory), or by hand:

    python3 python_peers.py OUT.tsv [--redis URL] [--quick]

Every timed loop counts its answers and asserts the count after the loop (half the session
checks are misses, so a store that answered "no" to everything would fail). Keys vary over the
whole data set. Prints one line per figure and writes them to OUT as tab-separated lines
`name<TAB>ops per second<TAB>unit`, for the Rust benches to print beside psm's.
"""

import asyncio
import os
import shutil
import sys
import tempfile
import time

from permission_storage_manager import PermissionStorageManager
from miracle import Acl

ADMIN = ["read:posts", "write:posts", "list", "admin:*", "posts:*:read"]
PLAIN = ["read:posts", "write:posts", "list", "audit:*", "posts:*:read"]
# psm asks "admin:users" (matched by the pattern grant "admin:*"); the Python library matches
# only exact strings, so it is asked the literal grant: the same answers, less work for it
ASKED = "admin:*"
# the memory and file benches' grants (a hit on "write")
PERMS = ["read", "write", "delete", "list", "admin:*"]
STRIDE = 7919

RESULTS = []


def report(name, count, seconds, unit, note=""):
    rate = count / seconds
    RESULTS.append({"name": name, "rate": rate, "unit": unit})
    print(f"python/{name}: {rate:,.0f} {unit}{note}", flush=True)


def spread(i, n):
    return (i * STRIDE) % n


async def stores(manager, n, ids, grants_of, user_of):
    ok = 0
    started = time.perf_counter()
    for k in range(n):
        ok += bool(await manager.store_permissions(ids[k], user_of(k), grants_of(k), ttl=600))
    seconds = time.perf_counter() - started
    assert ok == n, f"{n - ok} of {n} stores failed"
    return seconds


async def checks(manager, ids, ops, asked, expected_of, tasks=1):
    """`ops` checks of `asked` over `tasks` asyncio tasks; asserts every answer."""
    counter = iter(range(ops))
    right = 0
    hits = 0

    async def worker():
        nonlocal right, hits
        for i in counter:
            k = spread(i, len(ids))
            got = await manager.check_permission(ids[k], asked)
            right += got == expected_of(k)
            hits += bool(got)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    seconds = time.perf_counter() - started
    assert right == ops, f"{ops - right} of {ops} answers wrong"
    return seconds, hits


async def memory(quick):
    n = 10_000 if quick else 100_000
    ops = 50_000 if quick else 200_000
    m = PermissionStorageManager("memory", config={"max_sessions": n + 1, "cleanup_interval": 3600})
    await m.initialize()
    ids = [f"sess-{k:08}" for k in range(n)]
    seconds = await stores(m, n, ids, lambda k: PERMS, lambda k: f"user-{k // 2}")
    report(f"permission-storage-manager/memory/store_permissions/{n}_sessions", n, seconds, "stores/s")
    # hits on even sessions, misses on odd ones (re-stored without "write")
    for k in range(1, n, 2):
        await m.store_permissions(ids[k], f"user-{k // 2}", ["read", "list"], ttl=600)
    seconds, hits = await checks(m, ids, ops, "write", lambda k: k % 2 == 0)
    assert 0 < hits < ops
    report(f"permission-storage-manager/memory/check_permission/1_task/{n}_sessions", ops, seconds, "checks/s")
    await m.close()


async def file(quick):
    n = 1_000 if quick else 10_000
    ops = 20_000 if quick else 50_000
    directory = tempfile.mkdtemp(prefix="psm-python-peer-")
    try:
        m = PermissionStorageManager("file", config={"storage_dir": directory, "enable_backup": False})
        await m.initialize()
        ids = [f"sess-{k:08}" for k in range(n)]
        seconds = await stores(m, n, ids, lambda k: PERMS if k % 2 == 0 else ["read", "list"], lambda k: f"user-{k // 2}")
        report(f"permission-storage-manager/file/store_permissions/1_task/{n}_sessions", n, seconds, "stores/s")
        seconds, hits = await checks(m, ids, ops, "write", lambda k: k % 2 == 0)
        assert 0 < hits < ops
        report(f"permission-storage-manager/file/check_permission/1_task/{n}_sessions", ops, seconds, "checks/s")
        await m.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def redis(url, quick):
    n = 1_000
    prefix = f"psmpy:{os.getpid()}:"
    m = PermissionStorageManager("redis", config={"url": url, "key_prefix": prefix, "max_connections": 80})
    try:
        await m.initialize()
    except Exception as e:  # a missing server skips this part, loudly
        print(f"python/permission-storage-manager/redis SKIPPED: {e}", flush=True)
        return
    ids = [f"bench-{k:012}" for k in range(n)]
    grants_of = lambda k: ADMIN if k % 2 == 0 else PLAIN
    seconds = await stores(m, n, ids, grants_of, lambda k: f"user-{k % 100}")
    report("permission-storage-manager/redis/store_permissions/1_task", n, seconds, "stores/s")
    for tasks, ops in ((1, 5_000 if quick else 20_000), (64, 10_000 if quick else 50_000)):
        seconds, hits = await checks(m, ids, ops, ASKED, lambda k: k % 2 == 0, tasks)
        assert 0 < hits < ops
        report(f"permission-storage-manager/redis/check_permission/{tasks}_tasks", ops, seconds, "checks/s",
               " (its own pool, max_connections=80)" if tasks > 1 else "")
    for k in range(n):
        await m.invalidate_session(ids[k])
    await m.close()


def acl(quick):
    roles, resources, perms = (10, 100, 10) if quick else (100, 1000, 10)
    grants = roles * resources * perms
    a = Acl()
    started = time.perf_counter()
    for r in range(roles):
        for s in range(resources):
            for p in range(perms):
                a.grant(f"role{r}", f"res{s}", f"perm{p}")
    report(f"miracle-acl/grant/{grants}_grants", grants, time.perf_counter() - started, "grants/s")
    # the psm bench's queries: an LCG over (role, resource, permission), all granted; plus misses
    x = 0x9E3779B97F4A7C15
    queries = []
    for _ in range(4096):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        v = x >> 33
        queries.append((f"role{v % roles}", f"res{(v // roles) % resources}", f"perm{(v // (roles * resources)) % perms}"))
    queries += [(r, s, "nope") for (r, s, _) in queries]
    ops = 200_000 if quick else 1_000_000
    hits = 0
    started = time.perf_counter()
    for i in range(ops):
        r, s, p = queries[i % len(queries)]
        hits += a.check(r, s, p)
    seconds = time.perf_counter() - started
    # queries alternate in blocks: the first 4096 hit, the next 4096 miss
    expected = sum(1 for i in range(ops) if (i % len(queries)) < 4096)
    assert hits == expected, f"{hits} hits, expected {expected}"
    report(f"miracle-acl/check/{grants}_grants", ops, seconds, "checks/s")
    calls = 3
    started = time.perf_counter()
    for i in range(calls):
        found = a.which(f"role{i}")
        assert sum(len(v) for v in found.values()) == resources * perms
    report(f"miracle-acl/which/{grants}_grants", calls, time.perf_counter() - started, "calls/s")


async def sessions(redis_url, quick):
    await memory(quick)
    await file(quick)
    await redis(redis_url, quick)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    out = args[0]
    quick = "--quick" in args
    redis_url = os.environ.get("PSM_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    if "--redis" in args:
        redis_url = args[args.index("--redis") + 1]
    asyncio.run(sessions(redis_url, quick))
    acl(quick)
    with open(out, "w") as f:
        for r in RESULTS:
            f.write(f"{r['name']}\t{r['rate']:.1f}\t{r['unit']}\n")


if __name__ == "__main__":
    main()
