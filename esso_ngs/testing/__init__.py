"""Helpers for tests and demos, not for the data path.

Nothing in the pipeline imports this package; the one exception is the
`esso-ngs models prepare tiny-random` command, which imports `tiny_model` lazily
to build the tests' tiny random-weight model on request.
"""
