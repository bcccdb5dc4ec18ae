"""Streamlit user interface: one module per page, shared widgets in `components`, caches in `state`.

Pages only call the public library (kb.api, kb.store.kbase, kb.review.queue, kb.review.agreement); all
passage text is rendered through `components.md_escape` so nothing from the data is ever HTML.
"""
