"""Whether "retrain now" can run, what the review page says when it cannot, and how long it may take.

A retrain is a build of the code and index stages, so it needs the data directory's build lock.
After a fresh `make app` the background build (kb.background: the fine-tuned coder) holds that
lock for minutes. Pressing "retrain now" then used to start a status box that ended in a lock
error telling the coder to run `kb build`. Instead the button is off while any build holds the
lock (or the background build is about to take it), with what runs, since when, about how long,
and that decisions made meanwhile are kept: they are rows of the review log, which no build
rewrites, so the next retrain – once the lock is free – trains on every one of them.
"""

from __future__ import annotations

import time

from kb import api, background
from kb.settings import Settings

FINE_TUNE_MINUTES = 7  # the background build on 2 cores (README, docs/bench/first_search.md)
KEPT = (
    "검토 결정은 지금도 저장되며 잃지 않습니다. 구축이 끝나면 '지금 재학습'으로 모든 결정을 반영하세요 "
    "(decisions are saved as usual; retrain when the build is done and it learns from all of them)."
)


def blocked(settings: Settings) -> str | None:
    """The review page's message when a build holds (or is about to take) the lock; None when free."""
    holder = background.build_running(settings)
    view = background.view(settings)
    if view is not None and view.active:
        minutes = view.minutes()
        since = time.strftime("%H:%M", time.localtime(view.started)) if view.started else "?"
        left = max(1, FINE_TUNE_MINUTES - minutes)
        return (
            "미세조정 코더가 백그라운드에서 학습 중이라 지금은 재학습할 수 없습니다 "
            f"(the fine-tuned coder is training in the background since {since}, {minutes} min so far, "
            f"about {left} min left on 2 cores; retrain is off until it is done). {KEPT}"
        )
    if holder:
        return (
            f"다른 구축이 진행 중이라 지금은 재학습할 수 없습니다 (a build is running: {holder}; "
            f"retrain is off until it is done). {KEPT}"
        )
    return None


def duration_ko(seconds: float) -> str:
    """`45초`, `3분 22초`, `2분`: a duration as the page says it."""
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return f"{rest}초"
    return f"{minutes}분 {rest}초" if rest else f"{minutes}분"


def estimate(settings: Settings) -> str:
    """How long a retrain may take, from the last one of this knowledge base (kb.api.last_retrain): it
    depends on the passages, the decisions and the machine's load, so a fixed figure would be a guess."""
    last = api.last_retrain(settings)
    if last is None:
        return (
            "이 지식 베이스에서는 아직 재학습한 적이 없어 걸릴 시간을 미리 알 수 없습니다 "
            "(구절 수, 결정 수와 컴퓨터의 부하에 따라 다릅니다)."
        )
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last["finished"])) if last["finished"] else None
    basis = ", ".join(
        part
        for part in (when, f"결정 {last['decisions']}건" if last["decisions"] is not None else None)
        if part
    )
    return (
        f"지난 재학습은 모두 {duration_ko(last['seconds'])} 걸렸습니다"
        + (f" ({basis})" if basis else "")
        + ". 결정이 늘었거나 컴퓨터가 바쁘면 더 걸립니다."
    )
