"""Parsing XML from other tools (.qdc, .qdpx) as data only.

defusedxml refuses DTDs, entity declarations and external references (billion laughs, XXE);
nesting deeper than any real REFI-QDA file is refused too, so walking the tree cannot overflow.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_DEPTH = 64


def parse(raw: bytes, name: str, error: Callable[[str], Exception]) -> ET.Element:
    """The root element of `raw`, or `error(one line)` for malformed, hostile or absurdly deep XML."""
    try:
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise error(f"{name}: XML with DTDs or entities is not accepted ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise error(f"{name} is not valid XML ({exc}); export it again from your tool") from exc
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise error(f"{name}: elements nested deeper than {MAX_DEPTH} levels; not a REFI-QDA file")
        stack.extend((child, depth + 1) for child in el)
    return root
