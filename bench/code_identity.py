"""What identifies the code, the checkpoints and the numerics behind a result (part of every run key).

A run is reused when its key matches, so the key must change whenever the
result could: an edited plug-in, a checkpoint folder whose weights were
swapped at the same path, a library release that changes the arithmetic.

* Code: the system's module and every module of its project and of the harness it imports,
  followed statically through ``import`` statements (so the key does not
  depend on what else the process happened to import), hashed byte for byte,
  with the distribution's name and version (bioel-bench for a built-in, the
  plug-in's own package otherwise).
* Checkpoints: an option whose value names a local file or folder is hashed
  by content (relative paths and bytes); a hub name (``org/name``) is resolved
  to the commit it stands for (the hub's answer, else the local hub cache's
  ``refs/main``), so a re-uploaded checkpoint is a new key.
* Libraries: the installed versions of the packages that change numerics.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.environment import package_versions

#: packages whose version changes what a linker computes
NUMERIC_LIBRARIES = ("torch", "transformers", "tokenizers", "numpy", "scipy", "scikit-learn", "accelerate", "trl")


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
    if not origin or not origin.endswith(".py"):
        return None
    return Path(origin).resolve()


def _imports(path: Path, package: str) -> Iterable[str]:
    """Absolute module names imported by ``path`` (relative imports resolved against ``package``)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                root = f"{base}.{node.module}" if node.module else base
            else:
                root = node.module or ""
            yield root
            for alias in node.names:
                yield f"{root}.{alias.name}"


def project_modules(module_name: str, roots: Iterable[str]) -> dict[str, Path]:
    """``module_name`` and every module under ``roots`` (top-level package names) it imports, transitively."""
    allowed = set(roots)
    found: dict[str, Path] = {}
    todo = [module_name]
    while todo:
        name = todo.pop()
        if name in found or name.split(".")[0] not in allowed:
            continue
        path = _module_file(name)
        if path is None:
            continue
        found[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_imports(path, package))
    return found


@functools.lru_cache(maxsize=1)
def _distributions_by_package() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()  # scans every installed distribution: once, and for plug-ins only


def _distribution(top: str) -> tuple[str, str | None]:
    names = ["bioel-bench"] if top == "bench" else _distributions_by_package().get(top) or []
    for name in names:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return top, None


@functools.lru_cache(maxsize=64)
def _code_identity(module_name: str) -> tuple[tuple[str, Any], ...]:
    top = module_name.split(".")[0]
    builtin = top in {"bench", "systems"}
    # a plug-in's result also depends on the harness modules it imports (ranking, the KB, ...)
    roots = ("bench", "systems") if builtin else (top, "bench")
    files = project_modules(module_name, roots)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].read_bytes() + b"\0")
    distribution, version = _distribution("bench" if builtin else top)
    return (
        ("distribution", distribution),
        ("version", version),
        ("modules", len(files)),
        ("source_sha256", digest.hexdigest()),
    )


def code_identity(cls: type) -> dict[str, Any]:
    """The identity of a system class's code (see the module docstring)."""
    return dict(_code_identity(cls.__module__))


def path_digest(path: Path) -> str:
    """sha256 over a file's bytes, or over a folder's relative paths and file bytes (sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def checkpoint_identities(options: Mapping[str, Any]) -> dict[str, str]:
    """For each string option naming an existing local file or folder: its content digest;
    for one shaped like a hub repository (``org/name``) and not a local path: its commit."""
    found = {}
    for key, value in sorted(options.items()):
        if isinstance(value, str) and value and ("/" in value or value.startswith(".")):
            path = Path(value).expanduser()
            if path.exists():
                found[key] = f"sha256:{path_digest(path)}"
            elif _HUB_ID.fullmatch(value):
                found[key] = f"hub:{value}@{hub_revision(value)}"
    return found


@functools.lru_cache(maxsize=64)
def hub_revision(repo_id: str) -> str:
    """The commit ``repo_id``'s main branch points at: asked of the hub, else read from the local
    hub cache (offline machines), else ``"unresolved"`` (loading it will then fail on its own)."""
    try:
        from huggingface_hub import HfApi

        sha = HfApi().model_info(repo_id, timeout=10).sha
        if sha:
            return sha
    except Exception:  # offline, private, or no such repository: fall back to the cache
        pass
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        ref = Path(HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}" / "refs" / "main"
        if ref.is_file():
            return ref.read_text().strip()
    except Exception:
        pass
    return "unresolved"


def library_versions() -> dict[str, str | None]:
    return package_versions(NUMERIC_LIBRARIES)


def result_identity(system_cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a run key beyond its options and data: code, local checkpoints, numeric libraries."""
    return {
        "code": code_identity(system_cls),
        "checkpoints": checkpoint_identities(options),
        "libraries": library_versions(),
    }
