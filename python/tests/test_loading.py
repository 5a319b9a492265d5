"""How the package finds the library, and that finalizers are safe at interpreter shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ot_transport as ot

PKG_PARENT = str(Path(ot.__file__).resolve().parents[1])


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e["PYTHONPATH"] = PKG_PARENT
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=60)


def test_explicit_library_that_does_not_exist_is_an_import_error() -> None:
    r = run("import ot_transport", OT_TRANSPORT_LIB="/nonexistent/libot_transport.so.1")
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "/nonexistent/libot_transport.so.1: no such file" in r.stderr
    assert "OT_TRANSPORT_LIB" in r.stderr


def test_loaded_library_is_the_one_in_use() -> None:
    path = ot.library_path()
    r = run("import ot_transport as ot; print(ot.library_path())", OT_TRANSPORT_LIB=path)
    assert r.returncode == 0 and r.stdout.strip() == path


def test_objects_alive_at_interpreter_exit_are_freed_quietly() -> None:
    code = (
        "import ot_transport as ot, threading\n"
        "k = ot.Key.generate(1024)\n"
        "env = ot.seal(k, b'x')\n"
        "opts = ot.SessionOptions()\n"
        "n = ot.Notary('tcp://127.0.0.1:*', k, k, options=opts)\n"
        "s = ot.Session(n.endpoint, opts)\n"
        "cycle = [k, env]; cycle.append(cycle)\n"
        "print('ok')\n"
    )
    r = run(code, OT_TRANSPORT_LIB=ot.library_path())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    assert r.stderr == "", r.stderr


def test_readme_example_is_the_one_that_runs() -> None:
    from conftest import REPO

    example = (REPO / "examples" / "readme_example.py").read_text()
    assert example in (REPO / "README.md").read_text(), "README's Python example differs from examples/readme_example.py"
    r = run(example, OT_TRANSPORT_LIB=ot.library_path())
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "b'@<request/>\\n'"
    assert r.stdout.startswith("as someone else: 7 ")


def test_readme_asyncio_example_is_the_one_that_runs() -> None:
    from conftest import REPO

    example = (REPO / "examples" / "readme_aio_example.py").read_text()
    assert example in (REPO / "README.md").read_text(), (
        "README's asyncio example differs from examples/readme_aio_example.py"
    )
    r = run(example, OT_TRANSPORT_LIB=ot.library_path())
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "b\"@<r n='7'/>\\n\"",
        "timed out; the session goes on: b'@<again/>\\n'",
        "push 1 b'<note>1</note>\\n'",
    ]
    assert r.stderr == "", r.stderr
