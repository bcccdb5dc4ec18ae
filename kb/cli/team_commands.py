"""`kb users add|list` (team-mode logins) and `kb serve` (the app, loopback unless --team)."""

from __future__ import annotations

import os
import sys
from dataclasses import fields
from typing import Annotated

import typer

from kb.cli.common import State, friendly
from kb.errors import AuthError


def _read_password() -> str:
    """From a hidden prompt on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _quiet_streamlit() -> None:
    """streamlit-authenticator imports streamlit, which warns about a missing app runtime; not here."""
    import logging

    logging.disable(logging.WARNING)  # a CLI process: its own messages are typer.echo, not logging


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Team-mode users (KB_USERS_FILE): names, roles, hashed passwords.")
    app.add_typer(users, name="users")

    @users.command("add")
    @friendly
    def users_add(
        name: Annotated[
            str, typer.Argument(help="Login name (a-z, 0-9, . _ -); decisions are stored under it.")
        ],
        role: Annotated[
            str, typer.Option(help="coder (records decisions) or viewer (reads only).")
        ] = "coder",
        replace: Annotated[bool, typer.Option("--replace", help="Reset an existing user.")] = False,
    ) -> None:
        """Add a user; the password comes from a prompt, or from standard input when piped."""
        from kb import auth

        _quiet_streamlit()
        path = State.settings.users_file
        auth.add_user(path, name, _read_password(), role, replace=replace)
        typer.echo(f"{name} ({role}) saved in {path}")

    @users.command("list")
    @friendly
    def users_list() -> None:
        """Print every user and role."""
        from kb import auth

        _quiet_streamlit()
        for name, role in auth.list_users(State.settings.users_file):
            typer.echo(f"{name}\t{role}")

    @app.command()
    @friendly
    def serve(
        team: Annotated[bool, typer.Option("--team", help="Require a login (KB_TEAM_MODE=1).")] = False,
        address: Annotated[
            str, typer.Option(help="Address to listen on; not loopback needs --team.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port.")] = 8501,
    ) -> None:
        """Start the app: loopback only by default; --team --address 0.0.0.0 for a shared server."""
        from kb import auth
        from kb.settings import ROOT

        s = State.settings
        team = team or bool(s.team_mode)
        if not team and not auth.is_loopback(address):
            raise AuthError(
                f"--address {address} is reachable from other machines; add --team to require logins"
            )
        if team:
            _quiet_streamlit()
            auth.load_users(s.users_file)  # fail here, not in the browser
        env = {**os.environ, **{f.metadata["env"]: str(getattr(s, f.name)) for f in fields(s)}}
        env["KB_TEAM_MODE"] = "1" if team else "0"
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address",
               address, "--server.port", str(port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
        typer.echo(
            f"kb app on http://{address}:{port} ({'team mode: login required' if team else 'solo mode'})"
        )
        sys.stdout.flush()
        # exec, not a child: a stop signal (service manager, test, kill) reaches the server itself
        # instead of leaving it running – and serving the data – after `kb serve` is gone
        os.chdir(ROOT)
        os.execve(sys.executable, cmd, env)
