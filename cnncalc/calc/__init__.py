"""Pure calculators over plain integers and tuples.

Nothing in this package imports from the rest of cnncalc, so each formula can
be read, tested and reused on its own.
"""
