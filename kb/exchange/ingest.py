"""`kb add`: new interview transcripts (.txt, .md, .docx) into the corpus, ready for `kb build`.

Each file becomes a corpus document exactly like an extracted one (docs/<id>.txt, its
blocks file and a manifest row), so the next build segments, codes, embeds and indexes only
what is new. Speaker turns ("면담자: …", "응답자: …", "Q: …", "A: …") become quotation blocks
that carry their speaker. A bad file (binary, empty, too large, unreadable) is reported and
skipped; the other files still go in. CP949/EUC-KR text is detected and converted to UTF-8.
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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kb.corpus.cases import ADDED_PREFIX, CASES, GROUPS, PLATFORM_TYPES
from kb.corpus.manifest import inside, load_manifest
from kb.errors import IngestError
from kb.fileio import default_mode, write_atomic
from kb.records import CASE_FIELDS, MANIFEST_FIELDS
from kb.text.segment import is_interviewer

MAX_BYTES = 50 * 1024 * 1024
# An hour's interview is 20 000–40 000 characters; a text past this is split into files by the user
# (a build codes and embeds every sentence of it: hours on 2 cores).
MAX_TEXT_CHARS = 1_000_000
SUFFIXES = (".txt", ".md", ".docx")
KNOWN_SPEAKERS = {
    "면담자",
    "응답자",
    "면접자",
    "피면접자",
    "조사자",
    "조사원",
    "면접원",
    "연구참여자",
    "참석자",
    "구술자",
    "인터뷰이",
    "질문자",
    "답변자",
    "연구자",
    "연구진",
    "인터뷰어",
    "진행자",
    "사회자",
    "참여자",
    "피면담자",
    "질문",
    "답변",
    "문",
    "답",
    "q",
    "a",
    "interviewer",
    "interviewee",
    "respondent",
    "i",
    "r",
    "moderator",
    "participant",
}
# What may stand before a speaker label: a list bullet and a transcription tool's timestamp
# ("- 면담자: …", "[00:01:23] 면담자: …"); a timestamp may also follow the label ("면담자 (00:01:23): …").
_TIME = r"[\[(]?\d{1,2}:\d{2}(?::\d{2})?[\])]?"
_LEAD = rf"^[ \t]*(?:[-–•·*▶▷◆◇■□○●][ \t]*)?(?:{_TIME}[ \t]+)?"
_WHO = r"(?P<who>[가-힣A-Za-z][가-힣A-Za-z0-9 ._-]{0,14}?)"
_EM = r"(?:\*\*|__)?"  # Markdown bold around a label ("**면담자**:", "**면담자:**")
_NAME = r"(?:[ \t]*\([^()\n:]{1,20}\))?"  # who the speaker is, after the role ("면담자(김OO):")
_SPEAKER_RE = re.compile(
    rf"{_LEAD}{_EM}[\[(<]?{_WHO}[\])>]?{_NAME}(?:[ \t]*{_TIME})?{_EM}[ \t]*[:：]{_EM}[ \t]*"
)
_BRACKET_RE = re.compile(rf"{_LEAD}\[{_WHO}\][ \t]+(?=\S)")  # "[면담자] 질문…", no colon
_LABEL_LINE_RE = re.compile(rf"{_LEAD}{_WHO}[ \t]+{_TIME}[ \t]*$")  # "참석자 1 00:03", the turn below it
_QA_RE = re.compile(rf"{_LEAD}{_EM}(?P<who>[QA]\d{{0,2}})[.)]{_EM}[ \t]+")
_PAREN_RE = re.compile(rf"{_LEAD}{_WHO}[ \t]*\d{{0,2}}\)[ \t]+")  # "질문 1) …", "답변) …": known roles only
# "면담자 - …", "면담자> …" (a chat export): known roles only
_DASH_RE = re.compile(rf"{_LEAD}{_EM}{_WHO}{_NAME}{_EM}[ \t]*(?:[-–—>＞]|->|=>)[ \t]+")
_KNOWN_ONLY = (_PAREN_RE, _DASH_RE)  # forms ordinary lines take too ("가) …", "예산 - 확보")
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
    already) | skipped (not added: why in `reason`)."""

    path: str
    status: str
    reason: str = ""
    doc_id: str | None = None
    blocks: int = 0
    speakers: list[str] = field(default_factory=list)
    interviewer_by_questions: str | None = None  # a label taken for the interviewer's (mark_interviewer)


@dataclass(frozen=True)
class CaseInfo:
    id: str
    name: str
    name_en: str
    group: str
    platform_type: str
    organization: str


# ---- reading ------------------------------------------------------------------------------
def decode(raw: bytes) -> tuple[str, str | None]:
    """Text of a .txt/.md file and the legacy encoding it was converted from (None for UTF-8).

    Raises ValueError("binary") when the bytes are not text in any encoding we accept.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if b"\x00" in raw[:8192]:
        raise ValueError("binary")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=["cp949", "euc_kr", "johab", "utf_8"]).best()
    if best is None or best.encoding.lower() not in {"cp949", "euc_kr", "johab"}:
        raise ValueError("binary")
    return str(best), best.encoding.upper().replace("_", "-")


TABLE_ROW = -1  # the "level" of a .docx table row: rows form a table block of their own


def _docx_lines(path: Path) -> list[tuple[str, int]]:
    """(text, heading level, 0, or TABLE_ROW) per paragraph and table row, in document order."""
    import docx
    from docx.table import Table

    from kb.exchange.safezip import ZipLimits

    with ZipLimits(path, IngestError) as zf:  # what it decompresses to, before python-docx inflates it
        zf.scan()

    doc = docx.Document(str(path))
    out: list[tuple[str, int]] = []
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            rows = ([c.text.strip() for c in row.cells] for row in item.rows)
            out.extend((" | ".join(cells), TABLE_ROW) for cells in rows if any(cells))
            continue
        style = (item.style.name if item.style is not None else "") or ""
        m = re.match(r"(?:Heading|제목)\s*(\d)", style)
        level = int(m.group(1)) if m else 1 if style == "Title" else 0
        out.append((item.text, level))
    return out


def _text_lines(text: str, markdown: bool) -> list[tuple[str, int]]:
    out = []
    for line in text.split("\n"):
        m = re.match(r"^(#{1,6})[ \t]+(?=\S)", line) if markdown else None
        if m:  # closing #s stripped without a backtracking regex (huge lines stay linear)
            title = line[m.end() :].rstrip()
            bare = title.rstrip("#")
            title = bare.rstrip() if bare != title and (not bare or bare[-1].isspace()) else title
            out.append((title, len(m.group(1))))
        else:
            out.append((line, 0))
    return out


def read_lines(path: Path) -> tuple[list[tuple[str, int]], str | None]:
    """Lines of a transcript as (text, heading level) and the encoding converted from, if any."""
    if path.suffix.lower() == ".docx":
        return _docx_lines(path), None
    text, converted = decode(path.read_bytes())
    return _text_lines(
        text.replace("\r\n", "\n").replace("\r", "\n"), path.suffix.lower() == ".md"
    ), converted


# ---- structure ----------------------------------------------------------------------------
def speakers_in(lines: list[str]) -> set[str]:
    """Labels that open speaker turns: known interview roles, or any label used at least twice."""
    seen: dict[str, int] = {}
    for line in lines:
        m = speaker_match(line)
        if not m or len(m.group("who").split()) > 3:
            continue
        who = m.group("who").strip()
        if m.re in _KNOWN_ONLY and not _known(who):
            continue  # "가) …" opens a list item, "예산 - 확보" a note, not a turn
        # a label alone on its line ("면담자:", the turn below it) counts when it is a known role
        if line[m.end() :].strip() or m.re is _LABEL_LINE_RE or _known(who):
            seen[who] = seen.get(who, 0) + 1
    return {w for w, n in seen.items() if n >= 2 or _known(w)}


def _known(who: str) -> bool:
    return re.sub(r"\s*\d+$", "", who).casefold() in KNOWN_SPEAKERS


def speaker_match(line: str) -> re.Match[str] | None:
    """The speaker label at the start of `line` ("면담자:", "[응답자]:", "[응답자] …", "Q1:", "A.",
    "Q1)", "질문 1)", "면담자(김OO):", "**면담자**:", "- 면담자:", "[00:01:23] 면담자:", "면담자 - …",
    "면담자> …", a line "참석자 1 00:03" above the turn), if any."""
    for pattern in (_LABEL_LINE_RE, _SPEAKER_RE, _BRACKET_RE, _QA_RE, _PAREN_RE, _DASH_RE):
        if m := pattern.match(line):
            return m
    return None


def structure(lines: list[tuple[str, int]], title: str) -> tuple[str, list[dict[str, Any]]]:
    """Document text and block records (same fields as extracted documents' blocks).

    A table (its rows at level TABLE_ROW) is a block of kind "table" between the paragraphs around
    it: not part of the speaker turn it interrupts, which goes on after it."""
    norm = [(unicodedata.normalize("NFC", t).rstrip().replace("\t", " "), lvl) for t, lvl in lines]
    speakers = speakers_in([t for t, lvl in norm if not lvl])
    text, blocks, path = "", [], [title]
    current: dict[str, Any] | None = None  # open block: kind, speaker, start, end

    def close() -> None:
        nonlocal current
        if current is not None and current["end"] > current["start"]:
            blocks.append(
                {
                    "i": len(blocks),
                    "kind": current["kind"],
                    "start": current["start"],
                    "end": current["end"],
                    "section_path": list(path),
                    "page": None,
                    "page_end": None,
                    "page_map": [],
                    "speaker": current["speaker"],
                    "attribution": "added",
                    "para": None,
                    "source_lines": [current["line"], current["last"]],
                }
            )
        current = None

    turn: str | None = None
    for n, (line, level) in enumerate(norm, 1):
        if not line.strip():
            close()  # a blank line ends the paragraph; an open speaker turn continues in the next one
            continue
        if (level == TABLE_ROW) != (current is not None and current["kind"] == "table"):
            close()  # a table starts or ends here
        if text:
            text += "\n" if current is not None else "\n\n"
        start = len(text)
        text += line
        if level == TABLE_ROW:
            if current is None:
                current = {"kind": "table", "speaker": None, "start": start, "line": n}
            current.update(end=len(text), last=n)
            continue
        if level:
            close()
            turn = None
            path = [title, *path[1:level], line.strip()][: level + 1]
            continue
        m = speaker_match(line)
        if m and m.group("who").strip() in speakers:
            close()
            turn = m.group("who").strip()
            start += m.end()
        if current is None:
            kind = "quote" if turn else "narrative"
            current = {"kind": kind, "speaker": turn, "start": start, "line": n}
        current.update(end=len(text), last=n)
    close()
    return text, blocks


_ASKS = re.compile(r"(?:\?|(?:까요|나요|가요|니까|는지요|세요)[.]?)[\"'”’)]*\s*$")


def mark_interviewer(text: str, blocks: list[dict[str, Any]]) -> str | None:
    """When no label says who interviews ("참석자 1" / "참석자 2", a transcription tool's labels),
    take the one speaker who mostly asks: its blocks get `role: interviewer`; the label, or None.

    Only clear cases: at least two speakers, none an interviewer label (kb.text.segment), one
    with two or more turns of which at least half end in a question, every other speaker's turns
    at most one in five."""
    turns: dict[str, list[bool]] = {}
    for b in blocks:
        if b.get("speaker"):
            turns.setdefault(b["speaker"], []).append(bool(_ASKS.search(text[b["start"] : b["end"]])))
    if len(turns) < 2 or any(is_interviewer(who) for who in turns):
        return None
    share = {who: sum(asks) / len(asks) for who, asks in turns.items()}
    askers = [who for who in turns if len(turns[who]) >= 2 and share[who] >= 0.5]
    if len(askers) != 1 or any(share[who] > 0.2 for who in turns if who != askers[0]):
        return None
    for b in blocks:
        if b.get("speaker") == askers[0]:
            b["role"] = "interviewer"
    return askers[0]


# ---- corpus -------------------------------------------------------------------------------
def resolve_case(
    case: str,
    name: str | None,
    group: str | None,
    platform_type: str | None,
    organization: str | None,
    manifest: list[dict[str, str]],
) -> CaseInfo:
    """Case metadata from kb.corpus.cases or earlier additions, completed/checked by the options given."""
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
        return CaseInfo(
            case, name or base[0], base[1] if not name else name, base[2], base[3], organization or base[4]
        )
    if not name or not group:
        raise IngestError(
            f"case {case!r} is new: give --case-name, --group ({', '.join(GROUPS)}) and --platform-type "
            f"({', '.join(PLATFORM_TYPES)}; private cases default to private_platform)"
        )
    if group not in GROUPS:
        raise IngestError(f"unknown group {group!r}; valid: {', '.join(GROUPS)}")
    ptype = platform_type or ("private_platform" if group == "private" else "")
    if ptype not in PLATFORM_TYPES:
        raise IngestError(f"give --platform-type for case {case!r}; valid: {', '.join(PLATFORM_TYPES)}")
    return CaseInfo(case, name, name, group, ptype, organization or "")


def read_manifest(corpus_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not (corpus_dir / "manifest.csv").is_file():
        return list(MANIFEST_FIELDS), []
    return load_manifest(corpus_dir)


def _write_text_atomic(path: Path, text: str) -> None:
    """Corpus files keep the user's normal permissions (others may read the corpus)."""
    write_atomic(path, text, perm=default_mode(path))


def doc_id_for(case: str, path: Path, text: str) -> str:
    """Stable id from case, file name and content: adding the same file twice is detected."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:40] or "doc"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{ADDED_PREFIX}{case.replace(':', '_')}-{slug}-{digest}"


def _digest_of(doc_id: str) -> str:
    return doc_id.rsplit("-", 1)[-1]


def _same_text(corpus_dir: Path, doc_id: str, text: str) -> bool:
    """Whether an added document holds `text` (its id's digest matched; a missing file counts as
    the same text: the manifest row is what a build reads)."""
    path = corpus_dir / "docs" / f"{doc_id}.txt"
    return not path.is_file() or path.read_text(encoding="utf-8") == text + "\n"


def _answers(block: dict[str, Any]) -> bool:
    return block.get("role") != "interviewer" and not is_interviewer(block.get("speaker"))


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


def _check_file(path: Path) -> str | None:
    """Why this file cannot be read, or None."""
    if not path.is_file():
        return "not found" if not path.exists() else "not a regular file"
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
) -> list[AddResult]:
    """Add transcripts to the corpus; one result per file (bad files are skipped, not fatal)."""
    corpus_dir = Path(corpus_dir)
    fields, manifest = read_manifest(corpus_dir)
    info = resolve_case(case, case_name, group, platform_type, organization, manifest)
    have = {_digest_of(r["doc_id"]): r["doc_id"] for r in manifest if r["doc_id"].startswith(ADDED_PREFIX)}
    results, rows = [], []
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
        text, blocks = structure(lines, path.stem)
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
        if (same := have.get(_digest_of(doc_id))) and _same_text(corpus_dir, same, text):
            results.append(AddResult(str(path), "present", f"the same text is in the corpus as {same}", same))
            continue
        have[_digest_of(doc_id)] = doc_id
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
        reason = f"converted from {converted} to UTF-8" if converted else ""
        status = "converted" if converted else "added"
        results.append(AddResult(str(path), status, reason, doc_id, len(blocks), speakers, asker))
    if rows:
        _write_text_atomic(corpus_dir / "manifest.csv", _manifest_text(fields, manifest + rows))
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
) -> Any:
    """`kb.add(...)`: one row per file (path, status, reason, doc_id, blocks, speakers,
    interviewer_by_questions)."""
    from dataclasses import asdict

    import pandas as pd

    from kb.settings import get_settings

    corpus_dir = (settings or get_settings()).corpus_dir
    results = add_files(files, corpus_dir, case, case_name, group, platform_type, organization)
    return pd.DataFrame([asdict(r) for r in results], columns=list(AddResult.__dataclass_fields__))


def remove_documents(doc_ids: list[str], corpus_dir: str | Path) -> list[str]:
    """Take added documents out of the corpus: their manifest rows (rewritten atomically) and files.
    The next `kb build` drops their passages, codes and vectors; review decisions stay in the
    review database (a coder's decisions are never deleted). Report documents come from `kb extract`
    and are not removed here. Returns the ids removed; IngestError names any id that is not an
    added document, before anything is changed."""
    corpus_dir = Path(corpus_dir)
    fields, manifest = read_manifest(corpus_dir)
    known = {r["doc_id"]: r for r in manifest}
    wrong = [d for d in doc_ids if d not in known or not d.startswith(ADDED_PREFIX)]
    if wrong:
        added = [d for d in known if d.startswith(ADDED_PREFIX)]
        hint = f"added documents: {', '.join(added)}" if added else "no document was added with `kb add`"
        raise IngestError(f"not an added document: {', '.join(wrong)} ({hint})")
    gone = set(doc_ids)
    kept = [r for r in manifest if r["doc_id"] not in gone]
    _write_text_atomic(corpus_dir / "manifest.csv", _manifest_text(fields, kept))
    for doc_id in gone:
        for key in ("text_file", "blocks_file"):
            if rel := known[doc_id].get(key):
                inside(corpus_dir, rel, key).unlink(missing_ok=True)
    return list(dict.fromkeys(doc_ids))
