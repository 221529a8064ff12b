"""Protocol profile names, their versions, and how runs written before profiles had versions read.

A *profile* says how a benchmark's official files become the mentions and KB a
linker sees (:mod:`bench.benchmarks.profiles` applies them):

- ``genbioel`` (default; alias ``angel``): the data as GenBioEL prepared it and
  ANGEL evaluated on it (``../shared/DESIGN.md`` section 2a);
- ``genbioel-fixed``: the same, with GenBioEL's two quirks corrected (every
  part of a composite test mention kept, shared names kept for every id);
- ``biosyn``: BioSyn's ``preprocess/`` pipeline;
- ``official``: the files as distributed (composites whole, nothing dropped);
- ``biosyn-processed`` / ``genbioel-processed``: a paper's own processed files, read as they are.

Each profile carries a version, bumped whenever what it produces changes, and
recorded in every run next to the profile's name. Runs written before that
(schema without ``profile_version``) that say ``angel`` were made on the
official files, so they read as ``official``, never as the new default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.errors import BenchError

GENBIOEL, GENBIOEL_FIXED, BIOSYN, OFFICIAL = "genbioel", "genbioel-fixed", "biosyn", "official"
# The peers' own processed files, read as they are (bench.benchmarks.processed)
BIOSYN_PROCESSED, GENBIOEL_PROCESSED = "biosyn-processed", "genbioel-processed"
PROCESSED_PROFILES = (BIOSYN_PROCESSED, GENBIOEL_PROCESSED)
PROFILES = (GENBIOEL, GENBIOEL_FIXED, BIOSYN, OFFICIAL, *PROCESSED_PROFILES)
ALIASES = {"angel": GENBIOEL}
DEFAULT_PROFILE = GENBIOEL
PROFILE_VERSIONS = {GENBIOEL: 1, GENBIOEL_FIXED: 1, BIOSYN: 1, OFFICIAL: 1, BIOSYN_PROCESSED: 1, GENBIOEL_PROCESSED: 1}
LEGACY_NAME = "angel"  # what the official-file profile was called before profiles had versions


def canonical_profile(name: str) -> str:
    """``name`` with its alias resolved; an unknown name is an error listing the known ones."""
    name = ALIASES.get(name, name)
    if name not in PROFILES:
        known = ", ".join([*PROFILES, *(f"{a} (= {t})" for a, t in ALIASES.items())])
        raise BenchError(f"unknown protocol profile {name!r}; choose from {known}")
    return name


def profile_record(name: str) -> dict[str, Any]:
    """What a run's config records of its profile."""
    name = canonical_profile(name)
    return {"profile": name, "profile_version": PROFILE_VERSIONS[name]}


def run_profile(config: Mapping[str, Any]) -> str:
    """The profile a run was made under, reading runs written before profile versions correctly."""
    name = config.get("profile")
    if name is None:
        return OFFICIAL
    if "profile_version" not in config:
        return OFFICIAL if name == LEGACY_NAME else str(name)  # the old "biosyn" is kept as it says
    return str(name)
