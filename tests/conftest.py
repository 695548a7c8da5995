"""Suite-wide settings: property tests must not flake on a slow or busy CI machine."""

from __future__ import annotations

from hypothesis import settings

# No per-example deadline (a loaded 2-core CI box can stall any single example), and print the
# reproduction blob of any failure so it can be replayed exactly.
settings.register_profile("aidchain", deadline=None, print_blob=True)
settings.load_profile("aidchain")
