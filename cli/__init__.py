"""The ``aidchain`` command line: the outermost layer, which may import every other package.

Nothing outside ``cli/`` (and the tests) imports it.
"""
