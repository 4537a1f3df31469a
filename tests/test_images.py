"""Image projects: features from pixels, a broken image, the picture in a real PTY, ctrl-O."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pexpect
import pyte
import pytest
from PIL import Image

from al_cli import api as wf
from al_cli.annotation import opener
from al_cli.features.images import ImagePixels, preview, read_image
from al_cli.report import collecting
from al_cli.store import Project, atomic_write_csv

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _images(root: Path, n: int = 12) -> pd.DataFrame:
    """n images: even rows a red square on white, odd rows a blue bar; one path broken."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        a = np.full((16, 16, 3), 255, dtype=np.uint8)
        if i % 2 == 0:
            a[4:12, 4:12] = RED
        else:
            a[:, 6:10] = BLUE
        Image.fromarray(a).save(root / "img" / f"{i}.png")
        rows.append({"id": f"i{i:02d}", "image": f"img/{i}.png", "label": "square" if i % 2 == 0 else "bar"})
    df = pd.DataFrame(rows)
    df.loc[n - 1, "image"] = "img/missing.png"
    return df


def _project(root: Path, n: int = 12) -> Path:
    df = _images(root, n)
    df.drop(columns="label").to_csv(root / "pool.csv", index=False)
    df[["id", "label"]].to_csv(root / "answers.csv", index=False)
    wf.init(root / "proj", root / "pool.csv", id_column="id", feature_columns=[], labels=["square", "bar"],
            image_columns=["image"])
    return root / "proj"


def test_read_image_never_raises(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    (tmp_path / "half.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    for name, why in (("nope.png", "not found"), ("junk.png", "not an image"), ("half.png", "")):
        arr, reason = read_image(tmp_path / name)
        assert arr is None and why in reason
    arr, reason = read_image(tmp_path, "L")
    assert arr is None and "folder" in reason


def test_pixels_of_a_broken_image_are_the_average_and_it_is_named(tmp_path):
    df = _images(tmp_path, 6)
    paths = [str(tmp_path / p) for p in df["image"]]
    with collecting() as said:
        X = ImagePixels(side=8).transform(pd.DataFrame({"image": paths}))
    assert X.shape == (6, 64)
    assert np.isnan(X[5]).all() and not np.isnan(X[:5]).any()
    assert X[0].min() < 0.9 and X[1].min() < 0.9  # ink where the shapes are
    assert not np.allclose(X[0], X[1])
    assert len(said) == 1 and "missing.png: not found" in said[0][1] and "1 image(s)" in said[0][1]


def test_image_project_runs_the_loop_with_a_broken_image(tmp_path, cli):
    proj = _project(tmp_path, 24)
    assert cli("seed", "-p", proj, "--size", "8").code == 0
    assert cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", proj).code == 0
    r = cli("score", "-p", proj)
    assert r.code == 0, r.stderr
    r = cli("query", "-p", proj, "--size", "4", "--json")
    assert r.code == 0 and len(r.json()["ids"]) == 4
    # the features tell the shapes apart: a model on all labels gets them right
    cli("label", "-p", proj, "--import", tmp_path / "answers.csv")
    cli("retrain", "-p", proj)
    r = cli("predict", "-p", proj, "-o", tmp_path / "pred.csv")
    assert r.code == 0, r.stderr
    out = pd.read_csv(tmp_path / "pred.csv", dtype=str)
    got = dict(zip(out["id"], out["predicted"]))
    truth = pd.read_csv(tmp_path / "answers.csv", dtype=str)
    right = [got[i] == lab for i, lab in zip(truth["id"], truth["label"]) if i != "i23"]
    assert np.mean(right) >= 0.9


def test_init_checks_the_image_column(tmp_path, cli):
    df = _images(tmp_path, 4)
    df.to_csv(tmp_path / "pool.csv", index=False)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--image-column", "picture",
            "--labels", "square,bar")
    assert r.code == 1 and r.stderr.startswith("error: ") and "'picture'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_preview_fits_and_keeps_colours(tmp_path):
    _images(tmp_path, 2)
    cells, why = preview(tmp_path / "img" / "0.png", 40, 10)
    assert why is None and len(cells) <= 10 and len(cells[0]) <= 40
    colours = {c for row in cells for pair in row for c in pair}
    assert RED in colours and (255, 255, 255) in colours
    assert preview(tmp_path / "img" / "nope.png", 40, 10) == (None, "not found")


def _screen(child, rows=40, cols=100) -> pyte.Screen:
    screen = pyte.Screen(cols, rows)
    stream = pyte.Stream(screen)
    stream.feed(child.before + child.after)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # the rest of the frame, if any
        try:
            stream.feed(child.read_nonblocking(65536, timeout=0.2))
        except (pexpect.TIMEOUT, pexpect.EOF):
            break
    return screen


def test_labeler_draws_the_image_and_names_a_broken_one_in_a_pty(tmp_path):
    proj = _project(tmp_path, 12)
    atomic_write_csv(Project.open(proj).queue_path, pd.DataFrame(
        {"id": ["i00", "i11"], "purpose": "train", "round": 0, "strategy": "test"}))
    env = {**os.environ, "TERM": "xterm-256color", "AL_LOCK_TIMEOUT": "30"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "al_cli", "label", "-p", str(proj), "--annotator", "ana"],
                          env=env, dimensions=(40, 100), encoding="utf-8", timeout=30)
    child.expect("q quit")
    screen = _screen(child)
    text = "\n".join(screen.display)
    assert "id i00" in text and "^O open image" in text
    halves = [ch for row in screen.buffer.values() for ch in row.values() if ch.data == "\u2580"]
    assert len(halves) >= 16, text
    colours = {ch.fg for ch in halves} | {ch.bg for ch in halves}
    assert len(colours) >= 2 and "default" not in colours, colours  # the white ground, the red square
    child.send("1")  # square
    child.expect("q quit")
    text = " ".join(" ".join(row.split()) for row in _screen(child).display)
    assert "id i11" in text and "(cannot show img/missing.png: not found)" in text, text
    child.send("2")
    child.expect(pexpect.EOF)
    child.close()
    log = pd.read_csv(proj / "labels.csv", dtype=str)
    assert list(zip(log["id"], log["label"])) == [("i00", "square"), ("i11", "bar")]


def test_open_with_comes_from_the_environment_or_a_known_viewer(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen.txt"
    for name in ("feh", "evil-tool"):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\necho {name} \"$@\" > {seen}\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("AL_OPEN_WITH", raising=False)
    img = tmp_path / "x.png"
    Image.new("RGB", (4, 4)).save(img)

    def ran() -> str:
        for _ in range(100):
            if seen.exists() and seen.read_text().strip():
                return seen.read_text().strip()
            time.sleep(0.05)
        return ""

    for refused in ("evil-tool --flag", f"{bin_dir}/feh", "feh --exec-something", "gio open", "nosuchviewer"):
        msg = opener.open_image(str(img), refused)  # a project folder never picks a program to run
        assert "not the name of a known image viewer" in msg and "AL_OPEN_WITH" in msg, refused
    (bin_dir / "eog").write_text("")  # a viewer's name given, but not an executable on PATH either
    assert "not the name of a known image viewer" in opener.open_image(str(img), "sxiv")
    assert not seen.exists()
    assert "with " in opener.open_image(str(img), "feh {path}")
    assert ran() == f"feh {img}"
    seen.unlink()
    monkeypatch.setenv("AL_OPEN_WITH", "evil-tool --flag {path}")  # the annotator's own choice
    assert "with evil-tool" in opener.open_image(str(img), None)
    assert ran() == f"evil-tool --flag {img}"
    assert "not found" in opener.open_image(str(tmp_path / "gone.png"), "feh")


def test_open_with_must_be_text(tmp_path, cli):
    proj = _project(tmp_path, 4)
    cfg = (proj / "al.yaml").read_text().replace("open_with: null", "open_with: [1, 2]")
    (proj / "al.yaml").write_text(cfg)
    r = cli("status", "-p", proj)
    assert r.code == 1 and "labeling.open_with" in r.stderr


@pytest.mark.parametrize("n", [3])
def test_pixels_pca_fits_tiny_pools(tmp_path, n, cli):
    proj = _project(tmp_path, n)
    assert cli("seed", "-p", proj, "--size", "2").code == 0


def test_simulate_replays_an_image_set(tmp_path, cli):
    df = _images(tmp_path, 40)
    df.loc[len(df) - 1, "image"] = "img/0.png"  # all readable here
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    df.to_csv(tmp_path / "labeled.csv", index=False)
    r = cli("simulate", tmp_path / "labeled.csv", "--id-column", "id", "--image-column", "image",
            "--feature-columns", "", "--initial", "4", "--batch", "2", "--rounds", "3", "--repeats", "2",
            "--out", tmp_path / "sim", "--json", cwd=sub)  # paths are taken from the file's folder
    assert r.code == 0, r.stderr
    got = r.json()
    assert got["full_data"]["accuracy"] >= 0.9
    r = cli("simulate", tmp_path / "labeled.csv", "--image-column", "picture", "--out", tmp_path / "s2")
    assert r.code == 1 and "'picture'" in r.stderr


def test_progress_shows_on_a_terminal_only(tmp_path):
    """A step that takes time (reading the images) shows a bar on a PTY; nothing of it
    reaches a pipe, nor a terminal when --json is asked for."""
    import subprocess

    proj = _project(tmp_path, 12)
    env = {**os.environ, "TERM": "xterm"}
    child = pexpect.spawn(sys.executable, ["-m", "al_cli", "seed", "-p", str(proj), "--size", "4"], env=env,
                          dimensions=(24, 100), encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    assert "reading 12 images" in child.before and "queued 4 rows" in child.before
    child.close()
    piped = subprocess.run([sys.executable, "-m", "al_cli", "seed", "-p", str(proj), "--size", "4", "--force"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and "queued 4 rows" in piped.stdout
    assert "reading" not in piped.stderr + piped.stdout and "\x1b" not in piped.stderr
    (proj / "cache" / "features.json").unlink()  # the images are read again
    child = pexpect.spawn(sys.executable, ["-m", "al_cli", "seed", "-p", str(proj), "--size", "4", "--force",
                                           "--json"], env=env, dimensions=(24, 100), encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    assert "reading" not in child.before and '"strategy"' in child.before
    child.close()


def test_an_image_that_is_really_postscript_is_not_handed_to_another_program(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    arr, why = read_image(tmp_path / "photo.png")
    assert arr is None and "not an image" in why
