"""`stage1 login`: check a token against a server and save it for the Python client (`stage1_client`).

The file is the client's config: `$STAGE1_CONFIG`, else `$XDG_CONFIG_HOME/stage1/config.json`, else
`~/.config/stage1/config.json`, holding `{"default_url", "tokens": {url: token}}`, created with mode 0600."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import httpx


def config_path() -> Path:
    explicit = os.environ.get("STAGE1_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "stage1" / "config.json"


def save(url: str, token: str, path: Path) -> None:
    try:
        data: Any = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    tokens = data.get("tokens") if isinstance(data.get("tokens"), dict) else {}
    tokens[url] = token
    data.update(default_url=url, tokens=tokens)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 from the start: the token is never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(path, 0o600)


def login(url: str, token: str | None, secret: str | None, name: str) -> int:
    url = url.rstrip("/")
    with httpx.Client(base_url=url, timeout=30.0) as http:
        if token is None and secret is not None:
            issued = http.post("/api/auth/token", json={"secret": secret, "name": name})
            if issued.status_code >= 400:
                click.echo(f"{issued.status_code}: {issued.text[:300]}", err=True)
                return 1
            token = str(issued.json()["token"])
        if token is None:
            token = str(click.prompt("Token", hide_input=True))
        checked = http.get("/api/datasets", params={"limit": 1}, headers={"X-Stage1-Token": token})
        if checked.status_code >= 400:
            click.echo(f"{url} refused the token: {checked.status_code} {checked.text[:300]}", err=True)
            return 1
    path = config_path()
    save(url, token, path)
    click.echo(f"logged in to {url}; token saved in {path}")
    return 0
