"""Speaker labels of interview transcripts: which line opens whose turn.

Transcripts and transcription tools write a turn's speaker in many ways ("면담자: …", "[응답자] …",
"Q1. …", "질문 1) …", "**면담자**:", "[00:01:23] 면담자: …", a label alone on its line above the
turn). A numbered question/answer label ("Q1.", "A3", "질문 2)") numbers the question, not the
person: its speaker is "Q"/"A"/"질문"/…, one interviewer and one respondent.
"""

from __future__ import annotations

import re

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
_TIME = r"[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?!:?\d)[\])]?"  # whole: "00:00:05" never read as "00:00" + ":"
_LEAD = rf"^[ \t]*(?:[-–•·*▶▷◆◇■□○●][ \t]*)?(?:{_TIME}[ \t]+)?"
_WHO = r"(?P<who>[가-힣A-Za-z][가-힣A-Za-z0-9 ._-]{0,14}?)"
_EM = r"(?:\*\*|__)?"  # Markdown bold around a label ("**면담자**:", "**면담자:**")
_NAME = r"(?:[ \t]*\([^()\n:]{1,20}\))?"  # who the speaker is, after the role ("면담자(김OO):")
_SPEAKER_RE = re.compile(
    rf"{_LEAD}{_EM}[\[(<]?{_WHO}[\])>]?{_NAME}(?:[ \t]*{_TIME})?{_EM}[ \t]*[:：]{_EM}[ \t]*"
)
_BRACKET_RE = re.compile(rf"{_LEAD}\[{_WHO}\][ \t]+(?=\S)")  # "[면담자] 질문…", no colon
_LABEL_LINE_RE = re.compile(rf"{_LEAD}{_WHO}[ \t]+{_TIME}[ \t]*$")  # "참석자 1 00:03", the turn below it
_TIMED_RE = re.compile(rf"{_LEAD}{_WHO}[ \t]+{_TIME}[ \t]+(?=\S)")  # "화자1 00:00:05 예산은 …", no colon
_QA_RE = re.compile(rf"{_LEAD}{_EM}(?P<who>[QA]\d{{0,2}})[.)]{_EM}[ \t]+")
_PAREN_RE = re.compile(rf"{_LEAD}{_WHO}[ \t]*\d{{0,2}}\)[ \t]+")  # "질문 1) …", "답변) …": known roles only
# "면담자 - …", "면담자> …" (a chat export): known roles only
_DASH_RE = re.compile(rf"{_LEAD}{_EM}{_WHO}{_NAME}{_EM}[ \t]*(?:[-–—>＞]|->|=>)[ \t]+")
_KNOWN_ONLY = (_PAREN_RE, _DASH_RE)  # forms ordinary lines take too ("가) …", "예산 - 확보")


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
    "면담자> …", a line "참석자 1 00:03" above the turn, "화자1 00:00:05 …"), if any."""
    for pattern in (_LABEL_LINE_RE, _TIMED_RE, _SPEAKER_RE, _BRACKET_RE, _QA_RE, _PAREN_RE, _DASH_RE):
        if m := pattern.match(line):
            return m
    return None


_NUMBERED = re.compile(r"^(?P<role>q|a|문|답|질문|답변)[ \t]*\d+$", re.IGNORECASE)


def speaker_name(who: str) -> str:
    """The speaker a label names: "A3" and "A" are the same respondent, "Q1" the same interviewer."""
    who = who.strip()
    m = _NUMBERED.match(who)
    return m.group("role") if m else who
