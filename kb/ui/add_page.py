"""Add transcripts from the app: upload, read as `kb add` reads them, index in the background.

A researcher who does not use a terminal adds an interview here. The files go through `kb.add`
unchanged (the same turn labels, checks and refusals: every upload is hostile until read); only
the name of the file is kept, because it names the document in citations. The uploads are written
to a temporary folder that is gone when the page has run. Indexing is `kb.update_job`, a
detached build that keeps the saved coder, so the page does not wait and the sidebar says when
the new passages are searchable. Added documents can be taken out again here (review decisions
stay, as with `kb remove`).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from kb import api, update_job
from kb.errors import KbError
from kb.ui import components as ui
from kb.ui import login
from kb.ui.state import Resources, resources

FILE_TYPES = ["txt", "md", "docx"]
NEW_CASE, EXISTING_CASE = "새 사례 (new case)", "기존 사례에 추가 (existing case)"
SAME_NAME = {
    "skip": "건너뛰기 (skip: keep the earlier one)",
    "replace": "교체 (replace the earlier version)",
    "as_new": "둘 다 두기 (keep both)",
}
# What kb.add says about a file (in English, as the command line prints it), said in the app's words:
# (pattern, Korean message); the first that matches. `{same}` is the share of lines two versions share.
NOT_ADDED = " 추가하지 않았습니다."
REASONS_KO = [
    (r"already has a .* with other text(?:.*?(\d+)% the same text)?",
     "같은 이름의 다른 버전이 이 사례에 이미 있습니다{same}. 이 파일로 바꾸려면 위에서 '교체'를, "
     "둘 다 두려면 '둘 다 두기'를 고르고 다시 누르세요." + NOT_ADDED),
    (r"the same text is in the corpus", "같은 내용의 문서가 이미 있어 다시 추가하지 않았습니다."),
    (r"binary file",
     "텍스트 파일이 아닙니다 (그림이나 다른 형식, 또는 읽을 수 없는 인코딩)." + NOT_ADDED),
    (r"empty file|no text in the file", "내용이 없는 파일입니다." + NOT_ADDED),
    (r"only interviewer turns",
     "면담자의 질문만 있습니다. 답변의 화자 표시(예: 응답자:)를 확인하세요." + NOT_ADDED),
    (r"characters, more than", "너무 긴 파일입니다. 면담 하나씩 파일을 나누세요." + NOT_ADDED),
    (r"cannot read as \.docx", "워드(.docx) 파일로 읽을 수 없습니다." + NOT_ADDED),
    (r"no speaker turns recognised",
     "화자 표시(면담자:/응답자: 등)를 찾지 못해 서술 자료로 추가했습니다. "
     "면담이라면 화자 표시를 붙여 '교체'로 다시 올리세요."),
    (r"mostly not Korean",
     "대부분 한국어가 아닌 자료입니다. 검색은 되지만 자동 코딩이 약하니 코드를 검토하세요."),
    (r"converted from (\S+) to UTF-8", "{enc} 인코딩을 UTF-8로 바꿔 읽었습니다."),
]  # fmt: skip
STATUS_KO = {"added": "추가됨", "converted": "추가됨 (변환)", "present": "이미 있음", "skipped": "추가 안 됨"}
INTRO = (
    "면담 녹취록(.txt, .md, .docx)을 올리면 `kb add`와 똑같이 읽습니다: `면담자:`/`응답자:`, `문:`/`답:`, "
    "`Q:`/`A:` 같은 화자 표시를 알아보고, 면담자의 질문은 답변 구절의 질문으로 붙이며 코딩하지 않습니다. "
    "파일은 이 컴퓨터의 코퍼스 폴더에 저장되고, 색인은 백그라운드에서 진행됩니다 (보통 1–2분; 사이드바에 "
    "진행 상황). Upload interview transcripts; they are read exactly as `kb add` reads them and indexed "
    "in the background."
)


def safe_name(name: str) -> str:
    """The uploaded file's own name, without any folder part, composed (NFC): it names the document."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1]).strip().lstrip(".")
    return base or "upload.txt"


def case_id_for(name_en: str, name_ko: str, taken: dict[str, str]) -> str:
    """A case id from the English name (lower-case words joined by _), else from the Korean name's
    hash. `taken`: case id -> name of the cases in the corpus; an id taken by a case of another
    name gets a number, one of the same name is that case (a second upload to a new case)."""
    slug = re.sub(r"[^a-z0-9]+", "_", name_en.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = "case_" + (slug or hashlib.sha1(name_ko.encode("utf-8")).hexdigest()[:6])
    slug, n = slug[:40], 2
    candidate = slug
    while candidate in taken and taken[candidate] != name_ko:
        candidate, n = f"{slug}_{n}", n + 1
    return candidate


def _key(name: str) -> str:
    """Widget keys of this round of the form: a successful add starts a new, empty round."""
    return f"{name}_{st.session_state.get('add_round', 0)}"


def corpus_cases(docs: pd.DataFrame) -> dict[str, str]:
    """case id -> name of every case of the corpus (`kb.documents`) a transcript can join (not a
    chapter overview or summary), the ones added here first: a case added a minute ago is not in
    the index yet."""
    docs = docs[~docs["platform_type"].isin(["overview", "synthesis"])]
    docs = docs.sort_values("added", ascending=False, kind="stable")
    return dict(zip(docs["case"], docs["case_name"], strict=True))


def add_form(res: Resources, docs: pd.DataFrame) -> None:
    known = corpus_cases(docs)
    last = st.session_state.get("add_last_case")
    outcome = st.container()  # above the form: what happened is the first thing seen after the click
    modes = [NEW_CASE, EXISTING_CASE]
    # after an add the form stays with that case, so the next file goes where the last one went
    mode = st.radio("사례 case", modes, index=int(last in known), horizontal=True, key=_key("add_mode"))
    with st.form("add_form", clear_on_submit=False, border=True):
        if mode == EXISTING_CASE:
            ids = list(known)
            case = st.selectbox(
                "사례 case",
                ids,
                index=ids.index(last) if last in known else 0,
                format_func=lambda c: known.get(c, c),
                key=_key("add_case"),
            )
            meta: dict[str, Any] = {}
        else:
            left, right = st.columns(2)
            name_ko = left.text_input("사례 이름 case name (예: 순천시 정원 지도 면담)", key=_key("add_name"))
            name_en = right.text_input("영문 이름 English name (선택 optional)", key=_key("add_name_en"))
            group = left.selectbox(
                "그룹 group",
                list(ui.GROUP_KO),
                format_func=lambda g: f"{ui.GROUP_KO[g]} ({g})",
                key=_key("add_group"),
            )
            kinds = [k for k in ui.PLATFORM_KO if k not in ("overview", "synthesis")]
            platform = right.selectbox(
                "플랫폼 유형 platform type",
                kinds,
                format_func=lambda k: f"{ui.PLATFORM_KO[k]} ({k})",
                key=_key("add_type"),
            )
            organization = left.text_input("운영 기관 organisation (선택 optional)", key=_key("add_org"))
            case_id = right.text_input(
                "사례 id (비우면 자동 · empty: made from the name)",
                key=_key("add_case_id"),
                help="영문 소문자·숫자·_",
            )
            meta = {"name_ko": name_ko, "name_en": name_en, "group": group, "platform_type": platform}
            meta |= {"organization": organization, "case_id": case_id}
            case = None
        files = st.file_uploader(
            "녹취록 파일 transcripts", type=FILE_TYPES, accept_multiple_files=True, key=_key("add_files")
        )
        same = st.radio(
            "같은 사례에 같은 이름의 파일이 이미 있으면 (a file of the same name added to the case before)",
            list(SAME_NAME),
            format_func=SAME_NAME.get,
            horizontal=True,
            key=_key("add_same"),
        )
        submitted = st.form_submit_button("추가하고 색인하기 (add and index)", type="primary")
    if submitted:
        taken = dict(zip(docs["case"], docs["case_name"], strict=True))  # report cases too: ids are unique
        st.session_state["add_result"] = result = _add(res, files or [], case, meta, same, known, taken)
        if result.get("added"):
            st.session_state["add_last_case"] = result["case"]
            st.session_state["add_round"] = st.session_state.get("add_round", 0) + 1
            st.rerun()
    if result := st.session_state.get("add_result"):
        with outcome:
            _show_result(result)


def _add(
    res: Resources,
    files: list[Any],
    case: str | None,
    meta: dict[str, Any],
    same: str,
    known: dict[str, str],
    taken: dict[str, str],
) -> dict[str, Any]:
    """Run kb.add on the uploads; the outcome to show (kept in the session across reruns)."""
    if not files:
        return {"error": "파일을 고르세요 (choose at least one file)."}
    joined = ""
    if case is None:  # a new case
        name = meta["name_ko"].strip()
        if not name:
            return {"error": "새 사례의 이름을 적으세요 (a new case needs a name)."}
        same_name = [c for c, n in known.items() if n == name]
        if same_name and not meta["case_id"].strip():  # that case, added to: its own details stand
            case, meta, joined = same_name[0], {}, name
        else:
            case = meta["case_id"].strip() or case_id_for(meta["name_en"], name, taken)
    names = [safe_name(f.name) for f in files]
    if len(set(names)) < len(names):
        return {"error": "같은 이름의 파일을 한 번에 올릴 수 없습니다 (two uploads share a file name)."}
    with tempfile.TemporaryDirectory(prefix="kb-upload-") as tmp:
        paths = []
        for f, name in zip(files, names, strict=True):
            path = Path(tmp) / name
            path.write_bytes(f.getvalue())
            paths.append(path)
        try:
            table = api.add(
                paths, case, meta.get("name_ko") or None, meta.get("group"), meta.get("platform_type"),
                meta.get("organization") or None, settings=res.settings,
                case_name_en=meta.get("name_en") or None, replace=same == "replace", as_new=same == "as_new",
            )  # fmt: skip
        except KbError as exc:
            return {"error": str(exc)}
    rows = table.to_dict("records")
    added = [r for r in rows if r["status"] in ("added", "converted")]
    started = bool(added) and update_job.start(res.settings)
    name = known.get(case) or meta.get("name_ko") or case
    return {
        "case": case,
        "name": name,
        "rows": rows,
        "added": len(added),
        "started": started,
        "joined": joined,
    }


def _show_result(result: dict[str, Any]) -> None:
    if err := result.get("error"):
        st.error(err, icon=":material/error:")
        return
    rows = result["rows"]
    shown = pd.DataFrame(
        {
            "파일 file": [r["path"].rsplit("/", 1)[-1] for r in rows],
            "결과 status": [STATUS_KO.get(r["status"], r["status"]) for r in rows],
            "문서 id document": [r["doc_id"] or "" for r in rows],
            "블록 blocks": [r["blocks"] for r in rows],
            "화자 speakers": [", ".join(r["speakers"]) for r in rows],
            "비고 notes": [_note(r) for r in rows],
        }
    )
    for r in rows:  # what needs the user's attention first, in Korean; the table keeps kb's own words
        name = ui.md_escape(r["path"].rsplit("/", 1)[-1])
        whole = r["status"] in ("skipped", "present")  # one reason, which may hold "; " itself
        said = [reason_ko(str(r["reason"]))] if whole else [reason_ko(p) for p in _parts(r["reason"])]
        for text in filter(None, said):
            if r["status"] == "skipped" or text.startswith(("화자 표시", "대부분 한국어")):
                st.warning(f"**{name}** – {text}", icon=":material/warning:")
            else:
                st.info(f"**{name}** – {text}")
    if result["added"]:
        where = f"기존 사례 '{result['joined']}'" if result.get("joined") else f"사례 '{result['name']}'"
        st.success(
            f"{ui.md_escape(where)}에 {result['added']}개 파일을 추가했습니다. "
            "색인이 끝나면 검색·코딩 검토에 나타납니다 (sidebar: indexing status)."
        )
    st.dataframe(shown, hide_index=True, width="stretch")


def _parts(reason: Any) -> list[str]:
    return [p for p in str(reason or "").split("; ") if p] if isinstance(reason, str) else []


def reason_ko(reason: str) -> str:
    """kb.add's English reason for a file, in Korean ("" when there is nothing to tell the user)."""
    for pattern, text in REASONS_KO:
        if m := re.search(pattern, reason):
            same = f" ({m.group(1)}% 동일)" if "{same}" in text and m.group(1) else ""
            enc = m.group(1) if "{enc}" in text else ""
            return text.format(same=same, enc=enc)
    return ""


def _note(row: dict[str, Any]) -> str:
    parts = [p for p in _parts(row["reason"]) if not p.startswith(("warning: ", "note: "))]
    who = row["interviewer_by_questions"]
    if isinstance(who, str) and who:  # (a missing value comes back from the table as NaN)
        parts.append(f"{who}: 질문하는 화자라 면담자로 봄")
    if isinstance(row["earlier"], list) and row["earlier"]:
        parts.append("earlier: " + ", ".join(row["earlier"]))
    return "; ".join(parts)


def added_documents(res: Resources, docs: pd.DataFrame, writable: bool) -> None:
    st.subheader("추가한 자료 · added documents")
    if removed := st.session_state.pop("add_removed", None):  # set by the remove button's callback
        st.success("삭제했습니다 (removed): " + ", ".join(removed))
    if failed := st.session_state.pop("add_remove_error", None):
        st.error(failed, icon=":material/error:")
    new, gone = int((~docs["indexed"]).sum()), len(docs.attrs.get("pending_removal", []))
    docs = docs[docs["added"]]
    if (new or gone) and not _indexing(res):
        st.warning(
            f"색인되지 않은 변경: 추가 {new}개, 삭제 {gone}개 "
            "(the corpus has changes the search does not have yet)."
        )
        if writable and st.button("지금 색인 (index now)", key="add_index_now"):
            update_job.start(res.settings)
            st.rerun()
    if docs.empty:
        st.caption("아직 추가한 자료가 없습니다 (nothing added yet).")
        return
    shown = docs.assign(indexed=docs["indexed"].map({True: "예", False: "색인 대기"}))
    st.dataframe(
        shown[["doc_id", "case_name", "citation", "chars", "indexed"]].rename(
            columns={"case_name": "사례", "citation": "출처 citation", "chars": "글자", "indexed": "색인"}
        ),
        hide_index=True,
        width="stretch",
    )
    if not writable:
        return
    with st.expander("자료 삭제 (remove documents)"):
        label = {r.doc_id: f"{r.case_name} · {r.citation}" for r in docs.itertuples()}
        gone = st.multiselect(
            "삭제할 문서 documents to remove", list(label), format_func=label.get, key="add_remove"
        )
        sure = st.checkbox(
            "코퍼스에서 삭제합니다. 검토 결정은 보존됩니다 (review decisions are kept).", key="add_remove_ok"
        )
        st.button(
            "삭제 (remove)",
            disabled=not (gone and sure),
            key="add_remove_go",
            on_click=_remove,
            args=(res,),
        )


def _remove(res: Resources) -> None:
    """The remove button's callback: before the page is drawn again, so the list is already without
    the documents and the picker can be emptied."""
    try:
        st.session_state["add_removed"] = api.remove(st.session_state["add_remove"], settings=res.settings)
    except KbError as exc:
        st.session_state["add_remove_error"] = str(exc)
        return
    update_job.start(res.settings)
    st.session_state["add_remove"], st.session_state["add_remove_ok"] = [], False


def _indexing(res: Resources) -> bool:
    v = update_job.view(res.settings)
    return v is not None and v.state in update_job.ACTIVE


def render() -> None:
    res = resources()
    st.title("자료 추가 · Add transcripts")
    st.caption(INTRO)
    writable = login.can_write()
    docs = api.documents(res.settings)  # once per run: the form's cases and the list below
    if writable:
        add_form(res, docs)
    else:
        st.info("보기 전용 계정은 자료를 추가할 수 없습니다 (viewers cannot add transcripts).")
    added_documents(res, docs, writable)


if __name__ == "__main__":
    ui.guarded(render)()
