"""kb – Streamlit app: search, cross-case matrix, case profiles, review queue, codebook, adding transcripts.

Run with `make app` or `kb serve` (both listen on 127.0.0.1 only); `kb serve --team --address 0.0.0.0`
serves several coders with logins (README: Team mode). The data directory comes from KB_DATA_DIR;
on first run the app builds the knowledge base there. Pages live in kb/ui/.
"""

from __future__ import annotations

import streamlit as st

from kb.ui import build_status, login

st.set_page_config(page_title="kb · 플랫폼 정부 사례 지식베이스", page_icon="📚", layout="wide")
# Streamlit leaves 6rem above every page; on a 768-pixel laptop screen a coder needs that room for
# the passage and its decision buttons.
st.html("<style>[data-testid='stMainBlockContainer'] {padding-top: 3rem;}</style>")
login.gate()  # solo: loopback only; team mode (KB_TEAM_MODE=1): login before any page

PAGES = [
    st.Page("kb/ui/search_page.py", title="검색 Search", icon=":material/search:", default=True),
    st.Page(
        "kb/ui/matrix_page.py",
        title="교차 사례 매트릭스 Matrix",
        icon=":material/grid_on:",
        url_path="matrix",
    ),
    st.Page(
        "kb/ui/cases_page.py", title="사례 프로필 Cases", icon=":material/account_balance:", url_path="cases"
    ),
    st.Page(
        "kb/ui/review_page.py", title="코딩 검토 Review", icon=":material/fact_check:", url_path="review"
    ),
    st.Page(
        "kb/ui/codebook_page.py",
        title="코드북·일치도 Codebook",
        icon=":material/menu_book:",
        url_path="codebook",
    ),
    st.Page("kb/ui/add_page.py", title="자료 추가 Add", icon=":material/upload_file:", url_path="add"),
]

navigation = st.navigation(PAGES)
wanted = login.address_after_login()  # team mode: the link opened before logging in
if wanted and wanted[0] and wanted[0] != navigation.url_path:
    page = next((p for p in PAGES if p.url_path == wanted[0]), None)
    if page is not None:
        st.switch_page(page, query_params=wanted[1])
navigation.run()
build_status.show()  # background builds (fine-tuned coder, added transcripts): status, reload when done
