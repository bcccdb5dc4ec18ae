"""Whether "retrain now" can run, and what the review page says when it cannot.

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

from kb import background
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
