"""Debian's python3-redis against the gateway: connect, set, get, a
pipeline, per-connection consistency and an error reply.
    python_client.py PORT [PASSWORD]"""
import sys

import redis

port = int(sys.argv[1])
password = sys.argv[2] if len(sys.argv) > 2 else None
r = redis.Redis(host="127.0.0.1", port=port, password=password,
                socket_timeout=30)
assert r.ping() is True
assert r.set("py:k", "v1") is True
assert r.get("py:k") == b"v1"
assert r.set("py:k", "v2") is True
assert r.get("py:k") == b"v2", "SET overwrites"
assert r.set("py:k", "v3", nx=True) is None
assert r.set("py:new", "n", nx=True) is True
assert r.set("py:k", "v4", xx=True, get=True) == b"v2"
assert r.strlen("py:k") == 2
assert r.exists("py:k", "py:new", "py:missing") == 2

pipe = r.pipeline(transaction=False)
for i in range(200):
    pipe.set(f"py:p{i}", f"value-{i}")
for i in range(200):
    pipe.get(f"py:p{i}")
replies = pipe.execute()
assert replies[:200] == [True] * 200
assert replies[200:] == [f"value-{i}".encode() for i in range(200)]
assert r.mget("py:p1", "py:none", "py:p2") == [b"value-1", None, b"value-2"]
assert r.mset({"py:m1": "a", "py:m2": "b"}) is True
assert r.delete("py:m1", "py:m2", "py:none") == 2
assert r.get("py:m1") is None
assert r.getdel("py:new") == b"n"
assert r.get("py:new") is None

assert r.execute_command("KV.CONSISTENCY", "default", "all", "all") == b"OK"
assert r.set("py:all", "x") is True
assert r.get("py:all") == b"x"
assert r.execute_command("KV.CONSISTENCY") == b"n=default r=all w=all"

try:
    r.execute_command("LPUSH", "l", "x")
    raise AssertionError("LPUSH answered without an error")
except redis.exceptions.ResponseError as e:
    assert "unknown command" in str(e), e
try:
    r.set("py:ttl", "x", ex=10)
    raise AssertionError("SET EX answered without an error")
except redis.exceptions.ResponseError as e:
    assert "never expire" in str(e), e
try:
    r.execute_command("KV.CONSISTENCY", "1", "2", "1")
    r.get("py:k")
    raise AssertionError("R above N answered without an error")
except redis.exceptions.ResponseError as e:
    assert str(e) == "invalid_argument: r=2 must be between 1 and n=1", e
r.execute_command("KV.CONSISTENCY", "default", "default", "default")
# The connection is still usable after every error.
assert r.get("py:k") == b"v4"
info = r.info()
assert info["redis_version"] == "7.0.0" and info["cluster_enabled"] == 0, info
print("python3-redis: ok")
