"""Adapters to municipal systems madoguchi cannot run: the resident registry (住民基本台帳)
and the public-funds account registry (公金受取口座). Each is an HTTP interface the
municipality provides (specified in docs/adapters/*.openapi.yaml), reached through a client
with timeouts and retries; ``madoguchi up`` runs a development implementation of both,
backed by the demo people."""
