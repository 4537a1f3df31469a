"""Any id, label and note round-trips (issue 16): through import, labels.csv, export and
the terminal labeler, printable and control characters alike."""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from al_cli import api
from al_cli.annotation.labeler import Screen
from al_cli.annotation.session import LabelSession
from al_cli.spreadsheet import unescape
from al_cli.store import Project, atomic_write_csv
from al_cli.store.atomic import csv_text

CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
TEXT = st.text(CHARS, min_size=1, max_size=12)
WORD = TEXT.map(str.strip).filter(bool)
CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


class FakeTerm:
    def size(self):
        return 100, 40


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ids=st.lists(WORD, min_size=2, max_size=5, unique=True),
       labels=st.lists(WORD, min_size=2, max_size=3, unique_by=str.lower),
       notes=st.lists(st.text(CHARS, max_size=30), min_size=5, max_size=5), data=st.data())
def test_ids_labels_and_notes_round_trip(tmp_path_factory, ids, labels, notes, data):
    root = tmp_path_factory.mktemp("rt")
    pool = pd.DataFrame({"id": ids, "x": [float(i) for i in range(len(ids))]})
    (root / "pool.csv").write_text(csv_text(pool))
    api.init(root / "p", root / "pool.csv", id_column="id", feature_columns=["x"], labels=labels)
    proj = Project.open(root / "p")
    assert list(api.Snapshot(proj).features.ids) == ids
    # export the batch (spreadsheet-safe), read it as a spreadsheet user would
    atomic_write_csv(proj.queue_path, pd.DataFrame({"id": ids, "purpose": "train", "round": 0,
                                                    "strategy": "test"}))
    exp = api.label_export(proj, "-")
    back = pd.read_csv(__import__("io").StringIO(exp.text), dtype=str, keep_default_na=False)
    assert [unescape(i) for i in back["id"]] == ids
    # import the filled export: every id gets a label and a note
    chosen = [data.draw(st.sampled_from(labels)) for _ in ids]
    back["label"], back["annotator"], back["note"] = chosen, "ann", notes[: len(ids)]
    (root / "filled.csv").write_text(csv_text(back))
    res = api.label_import(proj, root / "filled.csv")
    assert res.imported == len(ids)
    log = proj.read_label_log()
    assert log.skipped_lines == 0
    assert list(log.frame["id"]) == ids and list(log.frame["label"]) == chosen
    assert list(log.frame["note"]) == notes[: len(ids)] and set(log.frame["annotator"]) == {"ann"}
    # an answer file written by hand (not escaped) works the same
    answers = pd.DataFrame({"id": ids, "label": chosen[::-1], "annotator": "second"})
    (root / "answers.csv").write_text(csv_text(answers))
    assert api.label_import(proj, root / "answers.csv").imported == len(ids)
    frame = proj.read_label_log().frame
    assert list(frame["id"][-len(ids):]) == ids and list(frame["label"][-len(ids):]) == chosen[::-1]
    atomic_write_csv(proj.queue_path, pd.DataFrame({"id": ids, "purpose": "train", "round": 0,
                                                    "strategy": "test"}))
    # the terminal labeler: one more annotator answers the first item (overlap 1 and three
    # annotators per item: a third annotator labels every item)
    cfg = proj.config
    cfg.labeling.overlap = 1.0
    cfg.labeling.overlap_annotators = 3
    proj.write_config(cfg)
    session = LabelSession(proj, "third")
    item = session.next_item()
    assert item is not None and item.id in ids
    text, _ = Screen(session, FakeTerm()).frame(item, scroll=0, note=notes[4], prompt=None,
                                                message=f"saved {item.id}", help_open=False)
    shown = CSI.sub("", text)
    assert "\x1b" not in shown and not CONTROL.search(shown), repr(shown)
    session.answer(chosen[0], 1.0, notes[4])
    last = proj.read_label_log().frame.iloc[-1]
    assert (last["id"], last["label"], last["note"], last["annotator"]) == (item.id, chosen[0], notes[4], "third")
