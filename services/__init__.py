"""Use cases of madoguchi: what residents, caseworkers and administrators do, with no HTTP.

Pages and API routes (``portal``) and the CLI (``madoguchi``) are thin callers of these; a
use case refuses with :class:`services.refusals.Refused`, never with an HTTP status.
"""
