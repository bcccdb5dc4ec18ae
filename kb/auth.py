"""Team-mode users: the YAML users file (outside git) that streamlit-authenticator reads.

Passwords are hashed and checked only by streamlit-authenticator (`Hasher`); this module reads,
validates and atomically rewrites the file, and says whether an address is loopback.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path
from typing import Any

import yaml

from kb.errors import AuthError
from kb.fileio import PRIVATE, atomic_open

ROLES = ("coder", "viewer")
COOKIE_NAME = "kb_auth"
MAX_FILE_BYTES = 1_000_000
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
MIN_PASSWORD = 8


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; an empty address means every interface."""
    if not address:
        return False
    if address.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _hasher() -> Any:
    from streamlit_authenticator import Hasher

    return Hasher


def _empty() -> dict[str, Any]:
    return {
        "credentials": {"usernames": {}},
        "cookie": {"name": COOKIE_NAME, "key": secrets.token_urlsafe(32), "expiry_days": 1},
    }


def load_users(path: Path) -> dict[str, Any]:
    """The validated users file: every user has a bcrypt hash and known roles; raises AuthError."""
    if not path.is_file():
        raise AuthError(f"no users file at {path}; add a user with `kb users add NAME --role coder`")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise AuthError(f"users file {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AuthError(f"users file {path} is not valid YAML: {exc.__class__.__name__}") from None
    users = (config or {}).get("credentials", {}).get("usernames") if isinstance(config, dict) else None
    cookie = config.get("cookie") if isinstance(config, dict) else None
    if not isinstance(users, dict) or not users:
        raise AuthError(f"users file {path} lists no users; add one with `kb users add NAME --role coder`")
    if not isinstance(cookie, dict) or not isinstance(cookie.get("key"), str) or len(cookie["key"]) < 32:
        raise AuthError(
            f"users file {path} has no cookie key of 32+ characters; recreate it with `kb users add`"
        )
    for name, user in users.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise AuthError(f"users file {path}: bad user name {name!r} (use a-z, 0-9, . _ -)")
        if not isinstance(user, dict) or not _hasher().is_hash(str(user.get("password", ""))):
            raise AuthError(
                f"users file {path}: user {name!r} has no hashed password; set it with `kb users add`"
            )
        roles = user.get("roles")
        if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
            raise AuthError(f"users file {path}: user {name!r} needs roles from {', '.join(ROLES)}")
    return config


def role_of(roles: object) -> str | None:
    """The strongest known role in a roles list (`coder` beats `viewer`), None without one."""
    roles = roles if isinstance(roles, list) else []
    return next((r for r in ROLES if r in roles), None)


def add_user(path: Path, name: str, password: str, role: str, *, replace: bool = False) -> None:
    """Add (or with `replace`, reset) one user; the password is hashed by streamlit-authenticator."""
    if not NAME_RE.match(name):
        raise AuthError(f"bad user name {name!r}: 1-40 of a-z, 0-9, . _ - (lower case)")
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password too short: at least {MIN_PASSWORD} characters")
    config = load_users(path) if path.is_file() and path.stat().st_size else _empty()
    users = config["credentials"]["usernames"]
    if name in users and not replace:
        raise AuthError(f"user {name!r} already exists in {path}; pass --replace to reset it")
    users[name] = {"name": name, "password": _hasher().hash(password), "roles": [role]}
    _write(path, config)


def list_users(path: Path) -> list[tuple[str, str]]:
    """(name, role) of every user in the file."""
    users = load_users(path)["credentials"]["usernames"]
    return [(n, role_of(u.get("roles")) or "") for n, u in sorted(users.items())]


def _write(path: Path, config: dict[str, Any]) -> None:
    """Owner-only file, replaced atomically (write a temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", perm=PRIVATE) as fh:
        yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=False)
