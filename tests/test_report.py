"""al report (issue 9, item 5): one self-contained file with every section and picture, on
both sample projects; Markdown too."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from al_cli.reports.render import SECTIONS

SAMPLES = {
    "penguins": ["--feature-columns", "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year",
                 "--labels", "Adelie,Chinstrap,Gentoo", "--validation", "validation.csv", "--label-column", "label"],
    "screening": ["--text-column", "title", "--text-column", "abstract", "--labels", "include,exclude",
                  "--validation", "validation.csv", "--label-column", "label"],
}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("src", "href"):
            if key in a and not str(a[key]).startswith(("data:", "#")):
                self.external.append(a[key])


def _loop(cli, cwd, name, rounds=2, batch=10):
    assert cli("init", "p", "--data", "pool.csv", "--id-column", "id", *SAMPLES[name], cwd=cwd).code == 0
    assert cli("seed", "-p", "p", "--size", str(batch), cwd=cwd).code == 0
    for _ in range(rounds + 1):
        assert cli("label", "-p", "p", "--import", "answers.csv", "--queued-only", cwd=cwd).code == 0
        assert cli("retrain", "-p", "p", cwd=cwd).code == 0
        assert cli("evaluate", "-p", "p", cwd=cwd).code == 0
        assert cli("query", "-p", "p", "--size", str(batch), cwd=cwd).code == 0
    return cwd / "p"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_report_renders_every_section_and_picture_on_the_sample(cli, sample, name):
    cwd = sample(name)
    proj = _loop(cli, cwd, name)
    r = cli("report", "-p", proj, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["path"] == str(proj / "report.html") and r.json()["images"] == 3
    text = (proj / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert page.sections == [sid for sid, _ in SECTIONS]
    assert len(page.images) == 3 and not page.external  # self-contained
    for src in page.images:
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for title in ("Learning curve", "Confusion matrix", "Stopping rules", "Annotators", "Cost of improvement"):
        assert title in text
    r = cli("report", "-p", proj, "--markdown", "-o", cwd / "r.md")
    assert r.code == 0, r.stderr
    md = (cwd / "r.md").read_text(encoding="utf-8")
    assert [ln[3:] for ln in md.splitlines() if ln.startswith("## ")] == [t for _, t in SECTIONS]
    assert len(re.findall(r"!\[[^\]]*\]\(data:image/png;base64,", md)) == 3


def test_report_without_a_model_and_text_escaped(cli, tmp_path, tabular_csv):
    p = tmp_path / "p"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    (tmp_path / "a.csv").write_text('id,label,annotator\nr001,a,<script>alert(1)</script>\n')
    assert cli("label", "-p", p, "--import", tmp_path / "a.csv").code == 0
    r = cli("report", "-p", p)
    assert r.code == 0, r.stderr
    text = (p / "report.html").read_text()
    assert "No model yet" in text and "<script" not in text and "&lt;script&gt;" in text
    r = cli("report", "-p", p, "-o", tmp_path / "missing" / "r.html")
    assert r.code == 1 and r.stderr.startswith("error: ") and "does not exist" in r.stderr
