"""What both ends of the koepel wire share beyond the contract in ``protos/``.

node/ and aggregator/ never import each other; they meet in ``protos`` (the messages) and here
(how the messages travel). Each module is imported on its own, so that a process loads only
what it uses:

- ``wire.limits``: transport limits (message sizes, streams, keepalive) and the loopback check;
- ``wire.tls``: the federation CA, certificates, TLS credentials and the peer's identity;
- ``wire.checks``: structural request checks shared by every server;
- ``wire.guard``: the server gate (identity, role, rate limit, request shape) before a servicer;
- ``wire.ratelimit``: per-caller token buckets;
- ``wire.drain``: health NOT_SERVING on SIGTERM, then a graceful drain.
"""
