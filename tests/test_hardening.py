"""Trust the folder (issue 16): odd ids and long notes survive, imports are all or nothing,
nothing is written through a link, exports are spreadsheet-safe, nothing from the data
reaches the terminal, files follow the umask, config is parsed safely, OS errors and
interrupts are one line."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli.store.atomic import csv_text


def one_error_line(r, *fragments: str) -> None:
    assert r.code == 1, (r.code, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def _pool(tmp_path: Path, ids: list[str], name="pool.csv") -> Path:
    rng = np.random.default_rng(0)
    n = len(ids)
    y = np.array(["a", "b"] * (n // 2 + 1))[:n]
    df = pd.DataFrame({"id": ids, "x": np.where(y == "a", 0.0, 3.0) + rng.normal(0, 0.5, n),
                       "z": rng.normal(0, 1, n)})
    (tmp_path / name).write_text(csv_text(df))
    (tmp_path / "answers.csv").write_text(csv_text(pd.DataFrame({"id": ids, "label": y})))
    return tmp_path / name


ODD_IDS = ["007", "7", "NA", "1e5", "null", "a\nb", "c\rd", 'say "hi"', "=cmd()", "-5", "x,y", " tab\there"]


def test_odd_ids_survive_the_whole_loop(cli, tmp_path):
    ids = ODD_IDS + [f"r{i}" for i in range(40)]
    pool = _pool(tmp_path, ids)
    r = cli("init", tmp_path / "p", "--data", pool, "--id-column", "id", "--labels", "a,b")
    assert r.code == 0, r.stderr
    p = tmp_path / "p"
    r = cli("status", "-p", p, "--json")
    assert r.code == 0 and "changed" not in r.stderr, r.stderr
    assert r.json()["n_pool"] == len(ids)
    r = cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["imported"] == len(ids)
    r = cli("retrain", "-p", p, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["n_labeled"] == len(ids)
    used = {d["id"] for d in json.loads((p / "models" / "0001.json").read_text())["labels_used"]}
    assert used == {i.strip() for i in ids}


def test_numeric_ids_are_strings_from_init_on(cli, tmp_path):
    pool = _pool(tmp_path, [str(i) for i in range(30)])
    assert cli("init", tmp_path / "p", "--data", pool, "--id-column", "id", "--labels", "a,b").code == 0
    r = cli("seed", "-p", tmp_path / "p", "--size", "5")
    assert r.code == 0, r.stderr
    assert "changed" not in r.stderr  # the pool was not touched


def test_reimport_is_a_no_op(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "6").code == 0
    r = cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only", "--json")
    assert r.json()["imported"] == 6
    size = (project / "labels.csv").stat().st_size
    full = cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--json")
    assert full.code == 0
    again = cli("label", "-p", project, "--import", tmp_path / "answers.csv")
    assert again.code == 0 and "imported 0 label(s)" in again.stdout
    assert "already recorded" in again.stderr
    assert full.json()["unchanged"] == 6 and full.json()["imported"] == 144
    log = pd.read_csv(project / "labels.csv")
    assert len(log) == 150 and (project / "labels.csv").stat().st_size > size


def test_a_long_note_is_counted(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "2").code == 0
    q = pd.read_csv(project / "queue.csv")
    pd.DataFrame({"id": q["id"], "label": ["a", "b"], "note": ["n" * 200_000, "short"]}).to_csv(
        tmp_path / "long.csv", index=False)
    r = cli("label", "-p", project, "--import", tmp_path / "long.csv", "--json")
    assert r.code == 0 and r.json()["imported"] == 2
    assert cli("status", "-p", project, "--json").json()["n_labeled"] == 2


def test_full_disk_mid_import_keeps_nothing(cli, project, tmp_path, monkeypatch):
    assert cli("seed", "-p", project, "--size", "4").code == 0
    before = (project / "labels.csv").read_bytes() if (project / "labels.csv").exists() else b""
    real = os.write
    state = {"n": 0}

    def failing(fd, data):
        if os.fstat(fd).st_size >= 0 and len(data) > 1000:  # the import's one big write
            state["n"] += 1
            if state["n"] == 1:
                return real(fd, bytes(data[: len(data) // 3]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", failing)
    r = cli("label", "-p", project, "--import", tmp_path / "answers.csv")
    monkeypatch.setattr(os, "write", real)
    one_error_line(r, "labels.csv", "nothing of these 150 row(s) was saved", "free some disk space")
    after = (project / "labels.csv").read_bytes() if (project / "labels.csv").exists() else b""
    assert after in (before, b"id,label,annotator,time,round,seconds,note,status\n")
    r = cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--json")
    assert r.code == 0 and r.json()["imported"] == 150


def test_never_writes_through_links_or_onto_devices(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "3").code == 0
    target = tmp_path / "precious.csv"
    target.write_text("keep me\n")
    (project / "labels.csv").symlink_to(target)
    one_error_line(cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only"),
                   "labels.csv", "symbolic link")
    assert target.read_text() == "keep me\n"
    (project / "labels.csv").unlink()
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    one_error_line(cli("label", "-p", project, "--export", link), "symbolic link")
    assert target.read_text() == "keep me\n" and link.is_symlink()
    one_error_line(cli("label", "-p", project, "--export", "/dev/null"), "/dev/null", "not a regular file")
    one_error_line(cli("label", "-p", project, "--export", tmp_path), "folder")
    (project / ".al.lock").unlink()
    (project / ".al.lock").symlink_to(tmp_path / "nowhere")
    one_error_line(cli("seed", "-p", project, "--size", "3", "--force"), ".al.lock", "symbolic link")
    assert not (tmp_path / "nowhere").exists()


def test_exports_are_spreadsheet_safe_and_import_undoes_it(cli, tmp_path):
    ids = ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "'quoted", "plain"] + [f"r{i}" for i in range(30)]
    pool = _pool(tmp_path, ids)
    assert cli("init", tmp_path / "p", "--data", pool, "--id-column", "id", "--labels", "a,b").code == 0
    p = tmp_path / "p"
    assert cli("seed", "-p", p, "--size", "36", "--strategy", "random").code == 0
    assert cli("label", "-p", p, "--export", tmp_path / "batch.csv").code == 0
    cells = pd.read_csv(tmp_path / "batch.csv", dtype=str, keep_default_na=False)["id"].tolist()
    assert all(c[0] not in "=+-@" for c in cells), cells
    assert "'=HYPERLINK(\"x\")" in cells and "''quoted" in cells and "plain" in cells
    batch = pd.read_csv(tmp_path / "batch.csv", dtype=str, keep_default_na=False)
    batch["label"] = "a"
    batch.to_csv(tmp_path / "filled.csv", index=False)
    r = cli("label", "-p", p, "--import", tmp_path / "filled.csv", "--json")
    assert r.code == 0 and r.json()["imported"] == 36, r.stderr
    log = pd.read_csv(p / "labels.csv", dtype=str, keep_default_na=False)
    assert set(log["id"]) == set(ids)


def test_export_and_import_through_standard_streams(project, tmp_path):
    env = {**os.environ, "AL_ANNOTATOR": "pipe", "NO_COLOR": "1"}
    al = [sys.executable, "-m", "al_cli"]
    assert subprocess.run([*al, "seed", "-p", project, "--size", "5"], env=env).returncode == 0
    out = subprocess.run([*al, "label", "-p", project, "--export", "-"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "wrote 5" in out.stderr
    batch = pd.read_csv(__import__("io").StringIO(out.stdout))
    assert len(batch) == 5 and not Path("-").exists()
    batch["label"] = "b"
    r = subprocess.run([*al, "label", "-p", project, "--import", "-", "--json"], input=batch.to_csv(index=False),
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["imported"] == 5


def test_nothing_from_the_data_reaches_the_terminal(cli, tmp_path):
    evil = "\x1b]0;pwned\x07\x1b[2J"
    ids = [f"r{i}{evil}" for i in range(40)]
    pool = _pool(tmp_path, ids)
    df = pd.read_csv(pool, dtype=str)
    df = df.rename(columns={"z": "[/]" + evil})
    df.to_csv(pool, index=False)
    assert cli("init", tmp_path / "p", "--data", pool, "--id-column", "id", "--labels", "a,b").code == 0
    p = tmp_path / "p"
    for args in (["seed", "--size", "10"], ["label", "--import", tmp_path / "answers.csv", "--queued-only"],
                 ["retrain"], ["query", "--size", "5", "--explain"], ["status"]):
        r = cli(args[0], "-p", p, *args[1:])
        assert r.code == 0, (args, r.stderr)
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\x1b" not in r.stderr, args


def test_files_follow_the_umask(cli, project, tmp_path):
    old = os.umask(0o002)
    try:
        from al_cli.store import atomic

        atomic._UMASK = None
        assert cli("seed", "-p", project, "--size", "3").code == 0
        for name in ("queue.csv", "al.yaml", "pool.json"):
            mode = (project / name).stat().st_mode & 0o777
            if name == "queue.csv":
                assert mode == 0o664, oct(mode)
    finally:
        os.umask(old)
        atomic._UMASK = None


def test_stale_temp_files_are_cleaned_by_the_next_writer(cli, project):
    stale = project / ".queue.csv.abc123.tmp"
    fresh = project / ".queue.csv.def456.tmp"
    stale.write_text("half")
    fresh.write_text("being written")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    from al_cli.store import lock

    lock._CLEANED.clear()
    assert cli("seed", "-p", project, "--size", "3").code == 0
    assert not stale.exists() and fresh.exists()


def test_config_is_parsed_safely(cli, project):
    text = (project / "al.yaml").read_text()
    bomb = "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"x{i}: &a{i} [*{'a' if i == 0 else f'a{i - 1}'}, *{'a' if i == 0 else f'a{i - 1}'}]\n" for i in range(30))
    (project / "al.yaml").write_text(bomb + text)
    one_error_line(cli("status", "-p", project), "aliases")  # refused before expanding anything
    (project / "al.yaml").write_text(text.replace("labels:\n- a\n", "labels:\n- [a, x]\n"))
    one_error_line(cli("status", "-p", project), "labels")


def test_os_errors_are_sentences(cli, project):
    assert cli("seed", "-p", project, "--size", "3").code == 0
    (project / "queue.csv").unlink()
    (project / "queue.csv").mkdir()
    one_error_line(cli("seed", "-p", project, "--size", "3", "--force"), "queue.csv", "folder")


def test_an_edit_that_keeps_size_and_mtime_is_noticed(cli, tmp_path):
    pool = _pool(tmp_path, [f"r{i:03d}" for i in range(300)])
    assert cli("init", tmp_path / "p", "--data", pool, "--id-column", "id", "--labels", "a,b").code == 0
    assert cli("seed", "-p", tmp_path / "p", "--size", "5").code == 0
    st = pool.stat()
    raw = pool.read_bytes()
    i = raw.index(b"r150,") + 5
    edited = raw[:i] + (b"9" if raw[i:i + 1] != b"9" else b"8") + raw[i + 1:]
    pool.write_bytes(edited)
    os.utime(pool, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert pool.stat().st_size == st.st_size
    r = cli("seed", "-p", tmp_path / "p", "--size", "5", "--force")
    assert r.code == 0 and "rows known before were changed" in r.stderr, r.stderr


def test_a_reader_that_goes_away_ends_al_quietly(project):
    p = subprocess.Popen([sys.executable, "-m", "al_cli", "status", "-p", str(project)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # like 'head -c1' exiting before al writes
    err = p.stderr.read().decode()
    assert p.wait(30) in (0, 128 + signal.SIGPIPE) and err == "", err


def test_ctrl_c_while_loading_is_one_line():
    code = ("import builtins\n"
            "real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name == 'typer':\n"
            "        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            "from al_cli._entry import main\n"
            "main()\n")
    # (a command that needs the command line: plain score, query and status run without typer)
    r = subprocess.run([sys.executable, "-c", code, "evaluate"], capture_output=True, text=True)
    assert r.returncode == 130 and r.stderr == "error: interrupted\n", r.stderr


def test_a_read_only_project_is_a_sentence_naming_the_file(cli, project, monkeypatch):
    real = os.replace

    def read_only(src, dst, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    r = cli("seed", "-p", project, "--size", "3")
    monkeypatch.setattr(os, "replace", real)
    assert r.code == 1 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]  # (a warning first: the feature cache is skipped)
    assert last.startswith("error: ") and "queue.csv: Read-only file system; copy the project" in last
    assert not [p for p in project.iterdir() if p.name.endswith(".tmp")]  # no temp file left


def test_markup_in_data_does_not_break_a_terminal_warning(monkeypatch):
    import io

    from rich.console import Console

    from al_cli import console as con

    buf = io.StringIO()
    monkeypatch.setattr(con, "err", Console(file=buf, force_terminal=True, width=200))
    con.message("warning", "column(s) [/], [bold]x[/bold] and \x1b]0;title\x07 look like free text")
    con.message("info", "plain [/] info")
    out = buf.getvalue()
    assert "[/]" in out and "[bold]x[/bold]" in out and "plain [/] info" in out
    assert "]0;title" not in out.replace("\x1b[", "") or "\x07" not in out


def test_a_full_disk_while_writing_the_queue_names_the_queue(cli, project, monkeypatch):
    from pathlib import Path as P

    real = P.write_bytes

    def full(self, data):
        if self.name.startswith(".queue.csv."):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(P, "write_bytes", full)
    r = cli("seed", "-p", project, "--size", "3")
    monkeypatch.setattr(P, "write_bytes", real)
    last = r.stderr.strip().splitlines()[-1]
    assert r.code == 1 and last.startswith("error: ") and "Traceback" not in r.stderr
    assert "queue.csv: No space left on device; free some space" in last and ".tmp" not in last
    assert not (project / "queue.csv").exists()
    assert not [p for p in project.iterdir() if p.name.endswith(".tmp")]
