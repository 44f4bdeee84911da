"""asterisk/defaults.env is the one place for ports and settings; Settings must agree.
Passwords are never constants in the repo: generated per install (asterisk/ctl)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from confsvc.config import Settings

PROJECT = Path(__file__).resolve().parents[2]
DEFAULTS = PROJECT / "asterisk" / "defaults.env"
CTL = PROJECT / "asterisk" / "ctl"
SECRET_KEYS = ("CONFSVC_ARI_PASSWORD", "CONFSVC_PHONE_PASSWORD")
# The values these used to have, so they cannot come back anywhere that ships.
OLD_CONSTANTS = ("confsvc-ari-dev", "phone-dev-secret")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CONFSVC_"):
            monkeypatch.delenv(key)


def read_defaults() -> dict[str, str]:
    out = {}
    for line in DEFAULTS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def test_settings_defaults_match_defaults_env(clean_env: None) -> None:
    s = Settings()
    for key, value in read_defaults().items():
        assert str(getattr(s, key.removeprefix("CONFSVC_").lower())) == value, key


def test_no_password_has_a_default(clean_env: None) -> None:
    assert not set(SECRET_KEYS) & set(read_defaults())
    assert Settings().ari_password == ""
    shipped = [
        PROJECT / "confsvc" / "config.py",
        *(PROJECT / "asterisk").rglob("*"),
        *(PROJECT / "docker").rglob("*"),
        PROJECT / "scripts" / "run",
    ]
    for path in (p for p in shipped if p.is_file()):
        text = path.read_text(errors="replace")
        assert not any(c in text for c in OLD_CONSTANTS), path
    # The templates take passwords only from the rendered placeholders.
    for conf in (PROJECT / "asterisk" / "conf").glob("*.conf"):
        for m in re.finditer(r"(?m)^\s*password\s*=\s*(\S+)", conf.read_text()):
            assert m.group(1).startswith("@") and m.group(1).endswith("@"), conf


def test_ari_password_from_the_secrets_file(clean_env: None, tmp_path: Path) -> None:
    f = tmp_path / "dev.env"
    f.write_text("CONFSVC_ARI_PASSWORD=from-file\nCONFSVC_PHONE_PASSWORD=other\n")
    assert Settings(secrets_file=str(f)).ari_password == "from-file"
    # A password given directly wins over the file.
    assert Settings(secrets_file=str(f), ari_password="given").ari_password == "given"


def serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`confsvc serve` in a process of its own (it configures logging for the whole
    interpreter); the tests here expect it to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "confsvc", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
    )


@pytest.mark.parametrize("content", [None, "CONFSVC_PHONE_PASSWORD=x\n"])
def test_serve_refuses_to_start_without_an_ari_password(
    tmp_path: Path, content: str | None
) -> None:
    # A process of its own: `serve` configures logging for the whole interpreter.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    f = tmp_path / "dev.env"
    if content is not None:
        f.write_text(content)
        env["CONFSVC_SECRETS_FILE"] = str(f)
    proc = serve(env, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "CONFSVC_ARI_PASSWORD" in proc.stderr and "Traceback" not in proc.stderr
    if content is not None:
        assert str(f) in proc.stderr


def ctl_env(runtime_dir: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """`asterisk/ctl env` against a runtime dir of its own (prints only; starts nothing)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    base.update(CONFSVC_RUNTIME_DIR=str(runtime_dir), CONFSVC_ASTERISK_MODE="rootfs")
    proc = subprocess.run(
        [str(CTL), "env"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return proc.returncode, out, proc.stderr


def test_ctl_generates_passwords_once_per_install(tmp_path: Path) -> None:
    rc, first, err = ctl_env(tmp_path / "one")
    assert rc == 0, err
    secrets_file = tmp_path / "one" / "secrets" / "dev.env"
    assert first["CONFSVC_SECRETS_FILE"] == str(secrets_file)
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    for key in SECRET_KEYS:
        assert len(first[key]) >= 20 and first[key] not in OLD_CONSTANTS, key
    assert first["CONFSVC_ARI_PASSWORD"] != first["CONFSVC_PHONE_PASSWORD"]
    # The same install keeps its passwords; another install gets others.
    assert ctl_env(tmp_path / "one")[1] == first
    other = ctl_env(tmp_path / "two")[1]
    assert all(other[k] != first[k] for k in SECRET_KEYS)
    # The controller reads the ARI password from that file.
    assert Settings(secrets_file=str(secrets_file)).ari_password == first["CONFSVC_ARI_PASSWORD"]


def test_ctl_exported_passwords_win_and_are_checked(tmp_path: Path) -> None:
    mine = {"CONFSVC_ARI_PASSWORD": "mine-ari", "CONFSVC_PHONE_PASSWORD": "mine-ph"}
    rc, out, err = ctl_env(tmp_path, **mine)
    assert rc == 0, err
    assert (out["CONFSVC_ARI_PASSWORD"], out["CONFSVC_PHONE_PASSWORD"]) == ("mine-ari", "mine-ph")
    assert "CONFSVC_SECRETS_FILE" not in out and not (tmp_path / "secrets").exists()
    # One exported, the other generated.
    rc, out, _ = ctl_env(tmp_path, CONFSVC_PHONE_PASSWORD="mine-ph")
    assert out["CONFSVC_PHONE_PASSWORD"] == "mine-ph" and out["CONFSVC_ARI_PASSWORD"] != "mine-ari"
    # ';' would start a comment in pjsip.conf: refused, not silently cut.
    rc, _, err = ctl_env(tmp_path, CONFSVC_PHONE_PASSWORD="a;b")
    assert rc != 0 and "CONFSVC_PHONE_PASSWORD" in err
    rc, _, err = ctl_env(tmp_path, CONFSVC_TRUNK_INBOUND="everything")
    assert rc != 0 and "CONFSVC_TRUNK_INBOUND" in err


def test_token_map_parses_pairs() -> None:
    s = Settings(tokens="t1:cust-a, t2:cust-b,")
    assert s.token_map == {"t1": "cust-a", "t2": "cust-b"}


@pytest.mark.parametrize(
    ("tokens", "says"),
    [
        ("t1:cust-a,brokentoken", "entry 2 of 2 ('brok'...) is not token:customer_id"),
        (":x", "entry 1 of 1 (''...)"),
        ("secret-token:", "entry 1 of 1 ('secr'...)"),
        ("t1:a,t1:b", "repeats an earlier token"),
    ],
)
def test_a_bad_tokens_entry_stops_serve_naming_it(tmp_path: Path, tokens: str, says: str) -> None:
    """Once an entry without ':' was dropped silently and its tenant got 401 for ever."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    env.update(CONFSVC_TOKENS=tokens, CONFSVC_ARI_PASSWORD="x")
    proc = serve(env, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "invalid setting CONFSVC_TOKENS" in proc.stderr and says in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "brokentoken" not in proc.stderr and "secret-token" not in proc.stderr
