"""`kb add`: new interview transcripts (.txt, .md, .docx) into the corpus, ready for `kb build`.

Each file becomes a corpus document exactly like an extracted one (docs/<id>.txt, its
blocks file and a manifest row), so the next build segments, codes, embeds and indexes only
what is new. The file is read by kb.exchange.transcript: speaker turns ("면담자: …", "응답자: …",
"Q: …", "A: …") become quotation blocks that carry their speaker, hard-wrapped lines running text.
A file whose text (whitespace aside) is in the corpus already is not added twice; an edited version
of a file added before (the same file name, the same case, other text) is not added beside it unless
asked: `replace=True` puts it in the earlier one's place (one atomic manifest write swaps the rows,
then the earlier files go, as `kb remove` takes them out), `as_new=True` keeps both. A bad file
(binary, empty, too large, unreadable) is reported and skipped; the other files still go in.
CP949/EUC-KR text is detected and converted to UTF-8.
Files are untrusted: a .docx must stay within kb.exchange.safezip's decompression caps before
python-docx opens it, and the manifest is read through kb.corpus.manifest (paths confined to the corpus).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kb.corpus.cases import ADDED_PREFIX, CASES, GROUPS, PLATFORM_TYPES
from kb.corpus.manifest import inside, load_manifest
from kb.errors import IngestError, KbError
from kb.exchange.transcript import mark_interviewer, read_lines, read_transcript
from kb.fileio import default_mode, write_atomic
from kb.records import CASE_FIELDS, MANIFEST_FIELDS
from kb.text.segment import is_interviewer

MAX_BYTES = 50 * 1024 * 1024
# An hour's interview is 20 000–40 000 characters; a text past this is split into files by the user
# (a build codes and embeds every sentence of it: hours on 2 cores).
MAX_TEXT_CHARS = 1_000_000
LONG_TURN_CHARS = 20_000  # one turn longer than this gets a warning (a long answer runs to ~3 000)
SUFFIXES = (".txt", ".md", ".docx")
_CASE_ID = re.compile(r"^[a-z][a-z0-9_]*(:[a-z0-9_]+)?$")
_HINTS = {
    ".hwp": "save it as .docx or .txt in 한글",
    ".hwpx": "save it as .docx or .txt in 한글",
    ".doc": "save it as .docx",
    ".pdf": "copy the text into a .txt file",
    ".rtf": "save it as .docx",
}


@dataclass
class AddResult:
    """What happened to one file: status added | converted | present (its text is in the corpus
    already) | skipped (not added: why in `reason`). `earlier`: the documents of the case added before
    from a file of the same name – why it was skipped, or, added with replace=True, the ones it
    replaced (as_new=True: kept beside it)."""

    path: str
    status: str
    reason: str = ""
    doc_id: str | None = None
    blocks: int = 0
    speakers: list[str] = field(default_factory=list)
    interviewer_by_questions: str | None = None  # a label taken for the interviewer's (mark_interviewer)
    joined: int = 0  # hard-wrapped lines joined into running text (kb.exchange.unwrap)
    earlier: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseInfo:
    id: str
    name: str
    name_en: str
    group: str
    platform_type: str
    organization: str


# ---- corpus -------------------------------------------------------------------------------
def resolve_case(
    case: str,
    name: str | None,
    group: str | None,
    platform_type: str | None,
    organization: str | None,
    manifest: list[dict[str, str]],
    name_en: str | None = None,
) -> CaseInfo:
    """Case metadata from kb.corpus.cases or earlier additions, completed/checked by the options given.

    Without an English name a new case is known by its Korean name in English too (the case column
    of English searches); a renamed case keeps its English name unless that was only the Korean one."""
    if not _CASE_ID.match(case or ""):
        raise IngestError(
            f"case id {case!r} must be lower-case letters, digits and _ (e.g. seoul_interview_01)"
        )
    known = CASES.get(case)
    prior = next((r for r in manifest if r.get("case") == case), None)
    base = None
    if known:
        base = (known.name_ko, known.name_en, known.group, known.platform_type, known.organization)
    elif prior:
        base = tuple(prior.get(k, "") for k in CASE_FIELDS)
    if base is not None:
        for label, given, have in (("group", group, base[2]), ("platform type", platform_type, base[3])):
            if given and given != have:
                raise IngestError(
                    f"case {case!r} is {label} {have!r}, not {given!r}; drop the option or use a new case id"
                )
        english = name_en or (name if name and base[1] in ("", base[0]) else base[1])
        return CaseInfo(case, name or base[0], english, base[2], base[3], organization or base[4])
    if not name or not group:
        raise IngestError(
            f"case {case!r} is new: give --case-name, --group ({', '.join(GROUPS)}) and --platform-type "
            f"({', '.join(PLATFORM_TYPES)}; private cases default to private_platform)"
        )
    if group not in GROUPS:
        raise IngestError(f"unknown group {group!r}; valid: {', '.join(GROUPS)}")
    ptype = platform_type or ("private_platform" if group == "private" else "")
    if ptype not in PLATFORM_TYPES:
        what = f"unknown platform type {ptype!r}" if ptype else f"give --platform-type for case {case!r}"
        raise IngestError(f"{what}; valid: {', '.join(PLATFORM_TYPES)}")
    return CaseInfo(case, name, name_en or name, group, ptype, organization or "")


def read_manifest(corpus_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not (corpus_dir / "manifest.csv").is_file():
        return list(MANIFEST_FIELDS), []
    return load_manifest(corpus_dir)


def _write_text_atomic(path: Path, text: str) -> None:
    """Corpus files keep the user's normal permissions (others may read the corpus)."""
    write_atomic(path, text, perm=default_mode(path))


def doc_id_for(case: str, path: Path, text: str) -> str:
    """Stable id from case, file name and content: adding the same file twice is detected. Hangul
    of the name is kept ("면담_순천.txt" → …-면담-순천-…; composed, as macOS may decompose it)."""
    stem = unicodedata.normalize("NFC", path.stem).lower()
    slug = re.sub(r"[^a-z0-9가-힣]+", "-", stem).strip("-")[:40] or "doc"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{ADDED_PREFIX}{case.replace(':', '_')}-{slug}-{digest}"


def _digest_of(doc_id: str) -> str:
    return doc_id.rsplit("-", 1)[-1]


def fingerprint(text: str) -> str:
    """What makes two transcripts the same text: every character but whitespace (the same interview
    wrapped at another width, or with other line breaks or spacing, is the same)."""
    return hashlib.sha1("".join(text.split()).encode("utf-8")).hexdigest()


def _added(corpus_dir: Path, manifest: list[dict[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Added documents by the fingerprint of their text, and by their id's digest when their text
    file is missing (it counts as the same text: the manifest row is what a build reads)."""
    by_text, by_id = {}, {}
    for row in manifest:
        if not row["doc_id"].startswith(ADDED_PREFIX):
            continue
        try:
            path = inside(corpus_dir, row.get("text_file") or f"docs/{row['doc_id']}.txt", "text_file")
            by_text.setdefault(fingerprint(path.read_text(encoding="utf-8")), row["doc_id"])
        except (OSError, UnicodeDecodeError, ValueError, KbError):
            by_id.setdefault(_digest_of(row["doc_id"]), row["doc_id"])
    return by_text, by_id


_ADDED_CITATION = re.compile(r"^(?P<name>.+) \(added \d{4}-\d{2}-\d{2}\)$")


def source_name(row: dict[str, str]) -> str | None:
    """The name of the file an added document came from, as its citation records it
    ("면담1.txt (added 2024-05-02)"); None for a document not added by `kb add`."""
    if not row["doc_id"].startswith(ADDED_PREFIX):
        return None
    match = _ADDED_CITATION.match(row.get("citation") or "")
    return match["name"] if match else None


def _name_key(name: str) -> str:
    """File names compared as the same name: Unicode-normalised (macOS writes Hangul names decomposed)
    and without case (Windows and macOS file names ignore it)."""
    return unicodedata.normalize("NFC", name).casefold()


def _same_name(manifest: list[dict[str, str]], case: str, name: str) -> list[dict[str, str]]:
    """Documents added to `case` before from a file called `name` (in any folder)."""
    key = _name_key(name)
    return [r for r in manifest if r.get("case") == case and _name_key(source_name(r) or "") == key]


def similarity(old: str, new: str) -> float:
    """How much of two texts is the same, 0–1: 2 × the lines both have (whitespace aside, in any order)
    / all lines, as difflib's ratio counts but in linear time (difflib over the words of a long, repetitive
    transcript took minutes). An interview with two of eighty answers edited is about 0.97."""
    a, b = (Counter(" ".join(x.split()) for x in t.splitlines() if x.strip()) for t in (old, new))
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 1.0


def _compared(corpus_dir: Path, earlier: list[dict[str, str]], text: str) -> str:
    """ "add-…-ccdf7fd9 (added 2024-05-02, 95% the same text)" for each earlier document (a percentage
    rounded down: text that differs is never "100%")."""
    parts = []
    for row in earlier:
        when = row.get("citation", "").rpartition("(added ")[2].rstrip(")")
        try:
            path = inside(corpus_dir, row.get("text_file") or f"docs/{row['doc_id']}.txt", "text_file")
            same = f"{int(similarity(path.read_text(encoding='utf-8'), text) * 100)}% the same text"
        except (OSError, UnicodeDecodeError, ValueError, KbError):
            same = "its text file is missing"
        parts.append(f"{row['doc_id']} (added {when}, {same})")
    return " and ".join(parts)


def _changed(name: str, case: str, compared: str) -> str:
    return (
        f"case {case} already has a {name} with other text: {compared}; not added – rerun with --replace "
        "to put this version in its place (as `kb remove` + `kb add`) or --as-new to keep both"
    )


def _narrative() -> str:
    """A note, not a refusal: field notes or a report without speakers are a legitimate document."""
    return (
        "note: no speaker turns recognised (no line starts with a label such as 면담자: / 응답자:, Q: / A: "
        "or a name used twice), so it is added as narrative text – if it is an interview, label the turns "
        "and add it again with --replace"
    )


def hangul_share(text: str) -> float:
    """Share of Hangul among the letters of `text` (1.0 when it has none)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum("가" <= ch <= "힣" for ch in letters) / len(letters) if letters else 1.0


def _not_korean(share: float) -> str:
    """A warning, not a refusal: an English interview is searchable, but the coder learned Korean."""
    return (
        f"warning: mostly not Korean ({share:.0%} of its letters are Hangul) – search finds it, also in "
        "English, but the coder learned from Korean text and codes other languages weakly: review its codes"
    )


def _answers(block: dict[str, Any]) -> bool:
    return (
        block["kind"] != "meta"
        and block.get("role") != "interviewer"
        and not is_interviewer(block.get("speaker"))
    )


def _only_questions(blocks: list[dict[str, Any]]) -> str:
    who = ", ".join(dict.fromkeys(b["speaker"] or "?" for b in blocks))
    return (
        f"only interviewer turns ({who}): nothing to code or search; label the answers' turns "
        "(e.g. 응답자: …) or add the file with the answers"
    )


def _too_long(chars: int) -> str:
    return (
        f"{chars:,} characters, more than {MAX_TEXT_CHARS:,} (an hour's interview is about 30 000): "
        "split it into one file per interview"
    )


def _has_long_turn(blocks: list[dict[str, Any]]) -> bool:
    return any(b["end"] - b["start"] > LONG_TURN_CHARS for b in blocks)


def _long_turn(chars: int) -> str:
    """A warning, not a refusal: the file is added, but a turn this long is a transcript without line
    breaks or speaker labels more often than an answer, and it becomes hundreds of passages."""
    return (
        f"warning: one turn of {chars:,} characters (about {chars // 600:,} passages of a single answer) – "
        "are line breaks or speaker labels missing? `kb remove` takes the file out again"
    )


def _check_file(path: Path) -> str | None:
    """Why this file cannot be read, or None."""
    if not path.is_file():
        return f"not found (looked for {path.resolve()})" if not path.exists() else "not a regular file"
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return f"unsupported file type {suffix or '(none)'}; {_HINTS.get(suffix, 'use .txt, .md or .docx')}"
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    if size > MAX_BYTES:
        return f"larger than 50 MB ({size / 1024 / 1024:.0f} MB); split the transcript into several files"
    return None


def add_files(
    paths: list[str | Path],
    corpus_dir: str | Path,
    case: str,
    case_name: str | None = None,
    group: str | None = None,
    platform_type: str | None = None,
    organization: str | None = None,
    case_name_en: str | None = None,
    replace: bool = False,
    as_new: bool = False,
) -> list[AddResult]:
    """Add transcripts to the corpus; one result per file (bad files are skipped, not fatal).

    A file whose name is that of a document added to the same case before, with other text, is
    skipped (an edited version would otherwise be searched and counted beside the old one) unless
    `replace` (the manifest write that adds the new one drops the earlier one's row, then its files
    are deleted, as `kb remove` deletes them) or `as_new` (both are kept)."""
    if replace and as_new:
        raise IngestError(
            "--replace and --as-new exclude each other: replace the earlier version or keep both"
        )
    corpus_dir = Path(corpus_dir)
    fields, manifest = read_manifest(corpus_dir)
    info = resolve_case(case, case_name, group, platform_type, organization, manifest, case_name_en)
    have, have_id = _added(corpus_dir, manifest)
    results, rows = [], []
    replaced: list[str] = []
    this_run: dict[str, str] = {}  # file names added in this call (by _name_key): their path
    for raw_path in paths:
        path = Path(raw_path)
        problem = _check_file(path)
        if problem:
            results.append(AddResult(str(path), "skipped", problem))
            continue
        try:
            lines, converted = read_lines(path)
        except ValueError:
            results.append(AddResult(str(path), "skipped", "binary file, not text (or an unknown encoding)"))
            continue
        except IngestError as exc:  # a .docx over the decompression caps
            results.append(AddResult(str(path), "skipped", str(exc)))
            continue
        except Exception as exc:  # python-docx raises several types for a damaged file
            results.append(
                AddResult(str(path), "skipped", f"cannot read as .docx ({type(exc).__name__}: {exc})")
            )
            continue
        read = read_transcript(lines, path.stem, markdown=path.suffix.lower() == ".md")
        text, blocks = read.text, read.blocks
        if not text.strip():
            results.append(AddResult(str(path), "skipped", "no text in the file (only whitespace)"))
            continue
        if len(text) > MAX_TEXT_CHARS:
            results.append(AddResult(str(path), "skipped", _too_long(len(text))))
            continue
        asker = mark_interviewer(text, blocks)
        if not any(_answers(b) for b in blocks):
            results.append(AddResult(str(path), "skipped", _only_questions(blocks)))
            continue
        doc_id = doc_id_for(info.id, path, text)
        if same := have.get(fingerprint(text)) or have_id.get(_digest_of(doc_id)):
            results.append(AddResult(str(path), "present", f"the same text is in the corpus as {same}", same))
            continue
        earlier = _same_name(manifest, info.id, path.name)
        if not as_new and (before := this_run.get(_name_key(path.name))):
            results.append(
                AddResult(
                    str(path), "skipped",
                    f"{before} of the same name was added to case {info.id} just now; "
                    "rename one of them, or add both with --as-new",
                )
            )  # fmt: skip
            continue
        if earlier and not (replace or as_new):
            reason = _changed(path.name, info.id, _compared(corpus_dir, earlier, text))
            results.append(AddResult(str(path), "skipped", reason, earlier=[r["doc_id"] for r in earlier]))
            continue
        this_run[_name_key(path.name)] = str(path)
        have[fingerprint(text)] = doc_id
        (corpus_dir / "docs").mkdir(parents=True, exist_ok=True)
        _write_text_atomic(corpus_dir / "docs" / f"{doc_id}.txt", text + "\n")
        _write_text_atomic(
            corpus_dir / "docs" / f"{doc_id}.blocks.jsonl",
            "".join(json.dumps({**b, "case": info.id}, ensure_ascii=False) + "\n" for b in blocks),
        )
        rows.append(
            {
                "doc_id": doc_id,
                "case": info.id,
                "case_name": info.name,
                "case_name_en": info.name_en,
                "group": info.group,
                "platform_type": info.platform_type,
                "organization": info.organization,
                "chapter": "추가 자료",
                "section": path.stem,
                "page_start": "",
                "page_end": "",
                "citation": f"{path.name} (added {date.today().isoformat()})",
                "title": path.stem,
                "part": "interview",
                "text_file": f"docs/{doc_id}.txt",
                "blocks_file": f"docs/{doc_id}.blocks.jsonl",
                "chars": len(text),
                "blocks": len(blocks),
                "pages_estimated": "false",
            }
        )
        speakers = list(dict.fromkeys(b["speaker"] for b in blocks if b["speaker"]))
        notes = [f"converted from {converted} to UTF-8"] if converted else []
        notes += [f"joined {read.joined} wrapped lines"] if read.joined else []
        notes += [_long_turn(max(b["end"] - b["start"] for b in blocks))] if _has_long_turn(blocks) else []
        notes += [_narrative()] if not speakers else []
        notes += [_not_korean(share)] if (share := hangul_share(text)) < 0.5 else []
        if earlier:
            compared = _compared(corpus_dir, earlier, text)
            notes += [f"replaces {compared}" if replace else f"beside {compared}: both kept (--as-new)"]
            replaced += [r["doc_id"] for r in earlier] if replace else []
        status = "converted" if converted else "added"
        results.append(
            AddResult(
                str(path), status, "; ".join(notes), doc_id, len(blocks), speakers, asker, read.joined,
                [r["doc_id"] for r in earlier],
            )
        )  # fmt: skip
    # one atomic manifest write swaps the earlier versions for the new ones (a crash leaves either);
    # then their files go, as `kb remove` takes them out
    gone = _removable(replaced, manifest)
    if rows:
        kept = [r for r in manifest if r["doc_id"] not in gone]
        _write_text_atomic(corpus_dir / "manifest.csv", _manifest_text(fields, kept + rows))
    _delete_files(gone, corpus_dir)
    return results


def _manifest_text(fields: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def api_add(
    files: list[str | Path],
    case: str,
    case_name: str | None = None,
    group: str | None = None,
    platform_type: str | None = None,
    organization: str | None = None,
    settings: Any = None,
    case_name_en: str | None = None,
    replace: bool = False,
    as_new: bool = False,
) -> Any:
    """`kb.add(...)`: one row per file (path, status, reason, doc_id, blocks, speakers,
    interviewer_by_questions, joined, earlier). A file named like a document added to the same case
    before, with other text, is skipped unless `replace=True` (the earlier document is removed as
    `kb.remove` removes it; `earlier` names it) or `as_new=True` (both kept)."""
    from dataclasses import asdict

    import pandas as pd

    from kb.settings import get_settings

    corpus_dir = (settings or get_settings()).corpus_dir
    results = add_files(
        files, corpus_dir, case, case_name, group, platform_type, organization, case_name_en, replace, as_new
    )
    return pd.DataFrame([asdict(r) for r in results], columns=list(AddResult.__dataclass_fields__))


def remove_documents(doc_ids: list[str], corpus_dir: str | Path) -> list[str]:
    """Take added documents out of the corpus: their manifest rows (rewritten atomically) and files.
    The next `kb build` drops their passages, codes and vectors; review decisions stay in the
    review database (a coder's decisions are never deleted). Report documents come from `kb extract`
    and are not removed here. Returns the ids removed; IngestError names any id that is not an
    added document, before anything is changed."""
    corpus_dir = Path(corpus_dir)
    fields, manifest = read_manifest(corpus_dir)
    gone = _removable(doc_ids, manifest)
    kept = [r for r in manifest if r["doc_id"] not in gone]
    _write_text_atomic(corpus_dir / "manifest.csv", _manifest_text(fields, kept))
    _delete_files(gone, corpus_dir)
    return list(gone)


def _removable(doc_ids: list[str], manifest: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """doc id -> manifest row of each added document to take out; IngestError for any other id."""
    known = {r["doc_id"]: r for r in manifest}
    wrong = [d for d in doc_ids if d not in known or not d.startswith(ADDED_PREFIX)]
    if wrong:
        added = [d for d in known if d.startswith(ADDED_PREFIX)]
        hint = f"added documents: {', '.join(added)}" if added else "no document was added with `kb add`"
        raise IngestError(f"not an added document: {', '.join(wrong)} ({hint})")
    return {d: known[d] for d in dict.fromkeys(doc_ids)}


def _delete_files(rows: dict[str, dict[str, str]], corpus_dir: Path) -> None:
    for row in rows.values():
        for key in ("text_file", "blocks_file"):
            if rel := row.get(key):
                inside(corpus_dir, rel, key).unlink(missing_ok=True)
