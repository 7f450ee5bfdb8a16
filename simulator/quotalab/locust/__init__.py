"""The locust side of a comparison run; imported only inside a locust process.

Nothing here is imported by the CLI, the server or the tests: locust patches
the standard library with gevent when imported.
"""
