"""The standardized procedure catalogue and everything about forms.

Import the submodules you need (``forms.catalog``, ``forms.validation``, ...): this package
deliberately imports nothing, so workflow code can import ``forms.computations`` and
``forms.definition`` without pulling jsonschema into the Temporal sandbox.
"""
