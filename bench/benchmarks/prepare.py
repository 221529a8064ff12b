"""``bioel-bench prepare``: put a benchmark's official files in the data dir, checked.

Three ways in, one result (``<data dir>/raw/<name>`` with verified digests):
copy from a folder holding the official files (``--from``), download from a
mirror laid out like that folder (``--mirror``), or download from the official
URLs in the card. Downloads resume where they stopped (HTTP range requests),
archives are unpacked to the one member we need, and every file's sha256 is
checked against the card. Licensed files are never downloaded: the message
says how to obtain them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.benchmarks.sources import SourceFile, card_path, card_sources, load_card, raw_dir, record_prepared
from bench.checksum import sha256_file
from bench.errors import BenchError
from bench.progress import progress_enabled

CHUNK = 1 << 16


@dataclass
class Prepared:
    name: str
    status: str  # present | copied | downloaded | missing (optional) | needs the user (licensed)
    sha256: str | None = None
    note: str = ""


def family_of(name: str) -> str:
    """The card folder of a benchmark name (``bc5cdr-disease`` -> ``bc5cdr``)."""
    if card_path(name).is_file():
        return name
    from bench.registry import BENCHMARKS

    loader = BENCHMARKS.get(name)
    family = getattr(sys.modules[loader.__module__], "FAMILY", None)
    if family is None:
        raise BenchError(f"benchmark {name!r} has no dataset card to prepare from")
    return family


def prepare(
    name: str,
    from_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    mirror: str | None = None,
    log=print,
) -> list[Prepared]:
    family = family_of(name)
    root = raw_dir(data_dir)
    report = []
    for source in card_sources(family):
        prepared = _prepare_one(source, root, from_dir, mirror, log)
        if prepared.sha256 is not None:
            record_prepared(root, source.name, prepared.sha256)
        report.append(prepared)
    missing_required = [p for p in report if p.status.startswith("needs") and _required(family, p.name)]
    if missing_required:
        raise BenchError(_missing_message(family, missing_required, from_dir))
    _build_variants(family, data_dir, log)
    return report


def _missing_message(family: str, missing: list[Prepared], from_dir: str | Path | None) -> str:
    """One line: what is missing (the first few files, a count), and the likely mistake."""
    head = f"cannot prepare {family}: "
    if from_dir is not None:
        given = Path(from_dir)
        folders = {Path(p.name).parts[0] for p in missing if len(Path(p.name).parts) > 1}
        if given.name in folders and all((given.parent / p.name).is_file() for p in missing):
            return (
                head + f"--from {from_dir} is the {given.name}/ folder itself; give the folder that holds "
                f"{given.name}/ (--from {given.parent})"
            )
    notes = {p.note.split("; it is public")[0] for p in missing}
    if len(missing) > 3 and len(notes) == 1:  # the same reason for every file: say it once
        names = ", ".join(p.name for p in missing[:3])
        public = (
            " (they are public: prepare without --from downloads them)"
            if all("it is public" in p.note for p in missing)
            else ""
        )
        return head + f"{len(missing)} required files {notes.pop()} ({names}, ...){public}"
    return head + "; ".join(f"{p.name}: {p.note}" for p in missing)


def _required(family: str, name: str) -> bool:
    return next(s.required for s in card_sources(family) if s.name == name)


def _build_variants(family: str, data_dir: str | Path | None, log) -> None:
    """Parse every variant once: errors surface now and the cache is warm."""
    from bench.registry import BENCHMARKS

    root = raw_dir(data_dir)
    absent = [s.name for s in card_sources(family) if not s.required and not (root / s.name).is_file()]
    for variant in load_card(family).get("variants", {}) or {}:
        loader = BENCHMARKS.get(variant)
        try:
            result = loader(data_dir=data_dir)
        except BenchError as error:
            # A variant that needs an optional file the user did not supply is
            # skipped with a message; any other error stops prepare.
            if any(name in str(error) for name in absent):
                log(f"skipped {variant}: {error}")
                continue
            raise
        members = getattr(result, "members", None)
        log(f"prepared {variant}" + (f" ({len(members)} members)" if members else ""))


def _prepare_one(source: SourceFile, root: Path, from_dir, mirror: str | None, log) -> Prepared:
    target = root / source.name
    if target.is_file() and _digest_ok(source, target):
        return Prepared(source.name, "present", sha256_file(target))
    if from_dir is not None:
        origin = Path(from_dir) / source.name
        if origin.is_file():
            _copy(origin, target)
            return _verified(source, target, "copied", log)
        if source.licensed:
            return Prepared(
                source.name, "needs the user (licensed)", note=f"licensed, not in {from_dir}. {source.how_to_get}"
            )
        if not source.required:
            log(f"optional {source.name}: not in {from_dir}; the benchmark runs without it (flagged)")
            return Prepared(source.name, "missing (optional)", note=source.how_to_get)
        public = f"; it is public: prepare without --from downloads it ({source.url})" if source.url else ""
        return Prepared(source.name, "needs the user (missing)", note=f"not found in {from_dir}{public}")
    if source.licensed:
        return Prepared(source.name, "needs the user (licensed)", note=f"licensed: {source.how_to_get}")
    url = f"{mirror.rstrip('/')}/{source.name}" if mirror else source.url
    if not url:
        note = source.how_to_get or "no download URL; supply it with --from"
        status = "missing (optional)" if not source.required else "needs the user (missing)"
        return Prepared(source.name, status, note=note)
    try:
        if source.member and not mirror:
            archive = root / ".downloads" / Path(url).name
            download(url, archive, log)
            _extract(archive, source.member, target)
        else:
            download(url, target, log)
    except BenchError as error:
        if not source.required:
            log(f"optional {source.name}: {error}; the benchmark runs without it (flagged)")
            return Prepared(source.name, "missing (optional)", note=str(error))
        raise
    return _verified(source, target, "downloaded", log)


def _digest_ok(source: SourceFile, path: Path) -> bool:
    return source.sha256 is None or source.living or sha256_file(path) == source.sha256


def _verified(source: SourceFile, target: Path, status: str, log) -> Prepared:
    digest = sha256_file(target)
    if source.sha256 is None or digest == source.sha256:
        log(f"{status} {source.name} (sha256 {digest[:12]})")
        return Prepared(source.name, status, digest)
    if source.living:
        note = f"sha256 {digest[:12]} differs from the card's {source.sha256[:12]} (a newer release); recorded"
        log(f"{status} {source.name}: {note}")
        return Prepared(source.name, status, digest, note)
    bad = target.with_name(target.name + ".bad")
    os.replace(target, bad)
    raise BenchError(
        f"{source.name}: sha256 {digest} does not match the card's {source.sha256}; the file was moved to {bad}"
    )


def _copy(origin: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    # Always a copy, never a (hard) link: an edit on either side must not change the other, and the
    # user's original download must never be modified through the data dir.
    shutil.copyfile(origin, tmp)
    os.replace(tmp, target)


def _extract(archive: Path, member: str, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n == member or n.endswith("/" + member)]
            if not names:
                raise BenchError(f"{archive}: no member {member!r} in the archive")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            with zf.open(names[0]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            os.replace(tmp, target)
    except zipfile.BadZipFile as error:
        archive.unlink(missing_ok=True)
        raise BenchError(f"{archive}: not a valid zip archive ({error}); removed, run prepare again") from None


def download(url: str, target: Path, log=print, timeout: float = 30.0) -> None:
    """Fetch ``url`` to ``target``, resuming a previous partial download."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "bioel-bench"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = getattr(response, "status", 200)
            if have and status == 206:
                mode = "ab"
                log(f"resuming {url} at byte {have}")
            else:
                mode, have = "wb", 0
            total = response.headers.get("Content-Length")
            total = int(total) + have if total is not None else None
            from tqdm.auto import tqdm

            with (
                open(part, mode) as handle,
                tqdm(
                    total=total,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    desc=Path(url).name,
                    disable=not progress_enabled(),
                    file=sys.stderr,
                ) as bar,
            ):
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    have += len(block)
                    bar.update(len(block))
            if total is not None and have < total:
                # urllib returns a short body without an error when the
                # server drops the connection; the length header tells.
                raise http.client.IncompleteRead(b"", total - have)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to fetch: the part is complete
            os.replace(part, target)
            return
        raise BenchError(f"download of {url} failed: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        # URLError: no route or name (offline); HTTPException/OSError: the
        # connection broke mid-transfer. The .part file stays for a resume.
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        raise BenchError(
            f"cannot download {url} ({reason}). Offline? Run prepare with --from DIR (a folder holding the "
            f"official files) or --mirror URL; a partial download resumes next time."
        ) from None
    os.replace(part, target)
