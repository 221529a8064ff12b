"""Entity linkers, one module each; every module registers itself by name.

Nothing is imported here: :mod:`bench.registry` imports a system's module only
when that system is chosen, exactly as it would a third party's.
"""
