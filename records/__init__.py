"""Read models and the blob store: the product's only state outside Temporal.

- :mod:`records.db` — engine (SQLite by default, PostgreSQL deployed), tables, schema
- :mod:`records.blobs` — the blob store (attachments, issued documents)
- :mod:`records.inbox` — residents' and municipalities' inboxes
- :mod:`records.register` — the register of issued documents

Written only by idempotent Temporal activities, each write keyed so that a retry is a
no-op; read by the portal; never used by workflow code (DESIGN.md, "Read models beside it").
"""
