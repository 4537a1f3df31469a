"""al explain (issue 9, item 4): on a project with planted patterns (one tag on most
corrections of one class pair, one feature driving them) it reports exactly those."""

from __future__ import annotations

import pandas as pd
import pytest

from al_cli.reports.drivers import decode, encode
from al_cli.reports.explain import explain

SPAM = ["win a free prize now call this number", "free entry claim your cash reward today",
        "urgent you won free tickets reply", "claim free bonus cash now limited offer",
        "free ringtone txt to stop", "you have won a free cruise call now"]
NUMBERS = ["one", "two", "three"]
HAM = ["are we still meeting for lunch tomorrow", "can you pick up milk on the way home",
       "running late see you at the station", "thanks for dinner last night it was lovely",
       "did you finish the report for monday", "call me when you land safely",
       "the meeting moved to three pm", "happy birthday hope you have a great day"]
SARCASM = ["free overtime", "free homework", "free chores", "free lectures", "free rain",
           "free advice", "free queues", "free traffic"]  # ham: the sarcastic kind


def _pool() -> pd.DataFrame:
    rows = []
    for k in range(3):
        rows += [{"text": f"{t} {NUMBERS[k]}", "label": "spam", "kind": "spam"} for t in SPAM]
        rows += [{"text": f"{t} {NUMBERS[k]}", "label": "ham", "kind": "ham"} for t in HAM]
    rows += [{"text": t, "label": "ham", "kind": "sarcasm"} for t in SARCASM]
    df = pd.DataFrame(rows)
    df.insert(0, "id", [f"m{i:03d}" for i in range(len(df))])
    return df


@pytest.fixture
def planted(cli, tmp_path):
    df = _pool()
    df[["id", "text"]].to_csv(tmp_path / "pool.csv", index=False)
    p = tmp_path / "p"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
               "--labels", "spam,ham").code == 0
    import yaml

    cfg = yaml.safe_load((p / "al.yaml").read_text())
    cfg["model"]["params"] = {"C": 100.0}  # a model that trusts its few labels
    (p / "al.yaml").write_text(yaml.safe_dump(cfg))
    seed = df[df["kind"] != "sarcasm"].groupby("kind").head(12)
    seed[["id", "label"]].to_csv(tmp_path / "seed.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "seed.csv").code == 0
    assert cli("retrain", "-p", p).code == 0
    left = len(df) - len(seed)
    r = cli("query", "-p", p, "--size", str(left), "--json")
    assert r.code == 0, r.stderr
    assert set(r.json()["ids"]) == set(df["id"]) - set(seed["id"])
    ans = df[df["id"].isin(r.json()["ids"])][["id", "label", "kind"]].copy()
    ans["note"] = ""
    sar = ans["kind"] == "sarcasm"
    ans.loc[sar, "note"] = "#sarcasm irony about work"
    ans.loc[sar.idxmax(), "note"] = "#sarcasm"  # one tagged row without the note words
    plain_ham = ans.index[ans["kind"] == "ham"][:1]
    ans.loc[plain_ham, "note"] = "#sarcasm"  # one tagged row the model got right
    ans[["id", "label", "note"]].to_csv(tmp_path / "answers.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv").code == 0
    return p, df


def test_explain_finds_the_planted_tag_pair_and_feature(cli, planted):
    p, df = planted
    r = cli("explain", "-p", p, "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    sarcastic = set(df.loc[df["kind"] == "sarcasm", "id"])
    corrected = {c["id"] for c in d["corrections"]}
    assert corrected and corrected <= sarcastic | set(df.loc[df["kind"] != "sarcasm", "id"])
    assert len(corrected & sarcastic) >= 0.75 * len(sarcastic)  # the model calls them spam
    assert d["pairs"][0]["true"] == "ham" and d["pairs"][0]["predicted"] == "spam"
    tag = d["tags"][0]
    assert tag["tag"] == "#sarcasm" and tag["share"] >= 0.75
    assert tag["pairs"][0] == {"true": "ham", "predicted": "spam", "count": tag["pairs"][0]["count"],
                               "share": tag["pairs"][0]["share"]}
    assert tag["tagged"] == len(sarcastic) + 1 and tag["corrected_when_tagged"] < 1
    assert d["drivers"][0]["feature"] == "free"
    assert d["drivers"][0]["pairs"][0]["true"] == "ham"
    assert [w["word"] for w in d["note_words"]][:3] and "irony" in [w["word"] for w in d["note_words"]]
    assert d["n_checked"] == len(df) - 24 and d["n_answered_unchecked"] == 24
    text = " ".join(d["summary"])
    assert "tagged #sarcasm" in text and "spam -> ham" in text and "'free'" in text
    r = cli("explain", "-p", p)
    assert r.code == 0 and "tagged #sarcasm" in r.stdout and "what drove the wrong predictions" in r.stdout


def test_explain_before_any_prediction_says_so(cli, tmp_path, tabular_csv):
    p = tmp_path / "p"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    r = cli("explain", "-p", p, "--json")
    assert r.code == 0 and r.json()["n_checked"] == 0 and "No answered row" in r.json()["summary"][0]


def test_explain_core_counts_rates_and_pairs():
    frame = pd.DataFrame({
        "id": list("abcdef"), "true": ["x", "x", "y", "y", "y", "x"],
        "predicted": ["y", "x", "x", "x", "y", "y"], "confidence": [0.9, 0.8, 0.7, 0.6, 0.5, 0.55],
        "round": [1, 1, 2, 2, 2, 3], "purpose": "train",
        "note": ["#blur dark", "", "#blur", "dark photo", "", "#blur"], "tags": ["#blur", "", "#blur", "", "", "#blur"],
        "drivers": [encode([("w1", 0.5), ("w2", 0.1)]), "", encode([("w1", 0.2)]), "", "",
                    encode([("near r9 (y) 0.3", "y", 0.3)][:0]) or ""],
    })
    d = explain(frame)
    assert (d["n_checked"], d["n_corrected"], d["correction_rate"]) == (6, 4, round(4 / 6, 4))
    assert [(r["round"], r["checked"], r["corrected"]) for r in d["by_round"]] == [(1, 2, 1), (2, 3, 2), (3, 1, 1)]
    assert {(r["true"], r["predicted"]): r["count"] for r in d["pairs"]} == {("x", "y"): 2, ("y", "x"): 2}
    assert d["tags"][0]["tag"] == "#blur" and d["tags"][0]["count"] == 3 and d["tags"][0]["share"] == 0.75
    assert d["drivers"][0] == {"feature": "w1", "count": 2, "share": 0.5,
                               "pairs": [{"true": "x", "predicted": "y", "count": 1},
                                         {"true": "y", "predicted": "x", "count": 1}],
                               "examples": ["a", "c"]}
    assert [c["id"] for c in d["corrections"]] == ["a", "c", "d", "f"]  # most confident first
    assert decode(encode([("near", "x", 1.0)])) == [] and decode("free +0.4; call +0.1") == ["free", "call"]
