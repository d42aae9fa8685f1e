"""`make demo` listens on this machine only and shows no debug page; its secret key file is
private from the moment it exists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ARENA_"))}
    env.update(ARENA_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT), **extra)
    return env


def test_demo_binds_localhost_unless_told(tmp_path):
    plain = subprocess.run(["make", "-n", "demo", f"VENV={tmp_path}/venv"], cwd=ROOT, capture_output=True, text=True)
    assert "daphne -b 127.0.0.1 -p 8000" in plain.stdout, plain.stdout + plain.stderr
    told = subprocess.run(["make", "-n", "demo", f"VENV={tmp_path}/venv", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True, text=True)
    assert "daphne -b 0.0.0.0 -p 8000" in told.stdout


def test_the_demo_settings_keep_debug_off(tmp_path):
    probe = "import config.settings.local as s; print(s.DEBUG)"
    assert subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path), capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    assert subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path, DJANGO_DEBUG="1"), capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


# Every call that could expose or publish the key file is watched: its mode at that moment is
# recorded. A file written first and narrowed with chmod afterwards shows its open mode here.
WATCH = r"""
import os, pathlib, stat, sys
seen = []
def record(path):
    try:
        seen.append(stat.S_IMODE(os.stat(path).st_mode))
    except OSError:
        pass
for module, name in [(os, "chmod"), (os, "link"), (os, "replace"), (os, "rename")]:
    real = getattr(module, name)
    def wrapper(src, *args, _real=real, **kwargs):
        record(src)
        return _real(src, *args, **kwargs)
    setattr(module, name, wrapper)
real_chmod = pathlib.Path.chmod
def path_chmod(self, *args, **kwargs):
    record(self)
    return real_chmod(self, *args, **kwargs)
pathlib.Path.chmod = path_chmod
os.umask(0o022)
import config.settings.local as s
key = pathlib.Path(os.environ["ARENA_VAR_DIR"]) / "secret.key"
print(oct(stat.S_IMODE(key.stat().st_mode)), [oct(m) for m in seen], s.SECRET_KEY == key.read_text().strip())
"""


def test_the_secret_key_file_is_never_readable_by_others(tmp_path):
    out = subprocess.run([sys.executable, "-c", WATCH], env=_env(tmp_path), capture_output=True, text=True, check=True).stdout
    final, seen, same = out.rsplit(" ", 1)[0].split(" ", 1)[0], out.split(" ", 1)[1].rsplit(" ", 1)[0], out.split()[-1]
    assert final == "0o600" and same == "True"
    assert "0o644" not in seen and all(mode == "'0o600'" for mode in seen.strip("[]").split(", ") if mode), seen
    again = subprocess.run([sys.executable, "-c", WATCH], env=_env(tmp_path), capture_output=True, text=True, check=True).stdout
    assert again.split()[-1] == "True"  # the second start reads the same key
