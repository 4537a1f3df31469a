"""Discovery, steps 4-5 (issue 11): the recall sample and its test through the CLI,
``al evaluate --stop-at-recall`` exit codes, ``al predict --ranked``, the relevance_lr model,
and ``al simulate --task discovery``: its wiring, its reading order (what ``al query --size 1``
gives on the same labels), its stopping rules and its outputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from al_cli.commands import discovery_sim as ds
from al_cli.commands.simulate import load_data
from al_cli.models.builtin import RelevanceLogistic

TOPICS = {
    "relevant": ["antitrust price fixing cartel email", "merger pricing agreement competitor",
                 "bid rigging contract tender", "cartel meeting minutes pricing"],
    "other": ["lunch order for the team", "holiday schedule and office closure", "printer out of toner",
              "quarterly parking permit renewal", "welcome our new intern", "server maintenance window tonight",
              "fire drill on thursday", "coffee machine repaired"],
}


def _collection(tmp_path, n: int = 120, every: int = 6):
    """n documents, one in ``every`` relevant; distinct texts (a serial word each)."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        kind = "relevant" if i % every == 0 else "other"
        words = TOPICS[kind][rng.integers(len(TOPICS[kind]))].split()
        rng.shuffle(words)
        rows.append((f"doc{i:04d}", " ".join(words) + f" ref{i} " + TOPICS["other"][i % 8].split()[0], kind))
    df = pd.DataFrame(rows, columns=["id", "text", "label"])
    df.to_csv(tmp_path / "labeled.csv", index=False)
    df[["id", "text"]].to_csv(tmp_path / "pool.csv", index=False)
    df[["id", "label"]].to_csv(tmp_path / "answers.csv", index=False)
    return df


def _init(cli, tmp_path, name="p"):
    p = tmp_path / name
    r = cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
            "--labels", "relevant,other", "--task", "discovery", "--relevant", "relevant")
    assert r.code == 0, r.stderr
    return p


def _import(cli, p, tmp_path, ids, df):
    f = tmp_path / "batch.csv"
    df.set_index("id").loc[list(ids), ["label"]].reset_index().to_csv(f, index=False)
    r = cli("label", "-p", p, "--import", f)
    assert r.code == 0, r.stderr


# ----------------------------------------------------------------------------- the model
def test_relevance_lr_weights_the_relevant_class_and_corrects_its_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=400) > 1.6, "rel", "no")  # about 6% relevant
    m = RelevanceLogistic(relevant="rel").fit(X, y)
    assert list(m.classes_) == ["no", "rel"]
    P = m.predict_proba(X)
    assert np.allclose(P.sum(axis=1), 1)
    # corrected for the weighting: the summed probability is near the true count, where the
    # weighted model alone (no correction) would claim several times more
    n_rel = int((y == "rel").sum())
    raw = 1 / (1 + np.exp(-m.lr_.decision_function(X)))
    assert abs(P[:, 1].sum() - n_rel) < 0.5 * n_rel
    assert raw.sum() > 2 * n_rel
    # the ranking is the weighted model's
    assert np.array_equal(np.argsort(-P[:, 1], kind="stable"), np.argsort(-raw, kind="stable"))
    # the label sought is weighted even when it is the larger class of the read documents
    y2 = np.where(np.arange(10) < 7, "rel", "no")
    m2 = RelevanceLogistic(relevant="rel").fit(rng.normal(size=(10, 3)), y2)
    assert m2.classes_[m2.pos_] == "rel"
    with pytest.raises(Exception, match="two labels"):
        RelevanceLogistic().fit(X[:3], ["a", "b", "c"])


# ----------------------------------------------------------------------------- the replay
def test_replay_reads_what_al_query_size_1_picks(cli, tmp_path):
    df = _collection(tmp_path)
    data = load_data(tmp_path / "labeled.csv", id_column="id", text_columns=["text"])
    proto = ds.DiscoveryProtocol(relevant="relevant")
    X = ds.features(data, proto.text_features)
    run = ds.run_one(X, ds.check(data, proto), proto, 0)
    ids = df["id"].to_numpy()
    order = ids[run.order]
    p = _init(cli, tmp_path)
    _import(cli, p, tmp_path, order[:2], df)  # the two documents known at the start
    for k in range(2, 7):
        assert cli("retrain", "-p", p).code == 0
        r = cli("query", "-p", p, "--size", "1", "--json")
        assert r.code == 0, r.stderr
        assert r.json()["ids"] == [order[k]], f"document {k + 1} read"
        _import(cli, p, tmp_path, [order[k]], df)


def test_replay_finds_everything_and_reports_each_rule(tmp_path):
    _collection(tmp_path)
    data = load_data(tmp_path / "labeled.csv", id_column="id", text_columns=["text"])
    proto = ds.DiscoveryProtocol(relevant="relevant", in_a_row=15)
    res = ds.run(data, proto, repeats=2, out=tmp_path / "sim")
    assert res.n == 120 and res.relevant == 20
    for run in res.runs:
        curve = run.full_curve()
        assert curve[-1] == 20 and np.all(np.diff(curve) >= 0)
        assert len(set(run.order)) == len(run.order)  # no document read twice
        # WSS from its definition
        read95 = run.read_for(0.95)
        assert curve[read95 - 1] >= 19 and (read95 == 1 or curve[read95 - 2] < 19)
        assert run.wss(0.95) == pytest.approx(1 - read95 / 120 - 0.05)
        for name, stop in run.rules.items():
            if stop.read is not None:
                assert stop.recall == pytest.approx(curve[stop.read - 1] / 20 if name != "sample_test"
                                                    else stop.found / 20)
        s = run.rules["irrelevant_in_a_row"]  # 15 irrelevant in a row just before it stopped
        assert s.read is not None and run.full_curve()[s.read - 1] == run.full_curve()[s.read - 16]
    assert res.summary()["wss95"] > 0.3  # a ranking far better than reading at random
    curves = pd.read_csv(tmp_path / "sim" / "curves.csv")
    assert list(curves.columns) == ["repeat", "read", "found", "recall"] and len(curves) == 240
    assert (tmp_path / "sim" / "recall_curve.png").stat().st_size > 1000
    again = ds.run(data, proto, repeats=2)
    assert [r.order for r in again.runs] == [r.order for r in res.runs]  # seeded by the repeat


def test_sample_rule_never_reports_recall_it_did_not_reach():
    """The sample-test stop in a replay: its recall is what ranked reading plus the sample
    found, counted from the labels."""
    y = np.zeros(400, dtype=bool)
    y[:40] = True
    order = list(range(30)) + list(range(40, 100))  # ranked reading found 30 of 40
    stops = {}
    info = ds._sample_rule(y, order, {"read": 90, "found": 30}, ds.DiscoveryProtocol("r"),
                           np.random.default_rng(0), stops)
    s = stops["sample_test"]
    assert info["urn"] == 310 and s.read == 90 + info["drawn"]
    assert s.found == 30 + info["relevant_in_sample"]
    assert info["certified"] is False or s.found / 40 >= 0.95 or info["p_value"] < 0.05


# ----------------------------------------------------------------------------- the CLI
def test_simulate_discovery_cli(cli, tmp_path):
    _collection(tmp_path)
    f = tmp_path / "labeled.csv"
    r = cli("simulate", f, "--task", "discovery", "--relevant", "relevant", "--id-column", "id",
            "--text-column", "text", "--repeats", "2", "--out", tmp_path / "s", "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["task"] == "discovery" and d["n_rows"] == 120 and d["relevant"] == 20
    assert set(d["rules"]) == {"sample_test", "quant", "quant_ci", "knee", "irrelevant_in_a_row"}
    assert len(d["repeats"]) == 2 and 0 < d["wss95"] < 1 and d["protocol"]["model"] == "relevance_lr"
    assert d["protocol"]["batch"] == 1
    assert json_equal(tmp_path / "s" / "summary.json", d)
    r = cli("simulate", f, "--task", "discovery", "--relevant", "relevant", "--id-column", "id",
            "--text-column", "text", "--repeats", "1", "--out", tmp_path / "t")
    assert r.code == 0 and "WSS@95" in r.stdout and "sample_test" in r.stdout
    base = ["simulate", f, "--id-column", "id", "--text-column", "text", "--out", tmp_path / "u"]
    r = cli(*base, "--task", "discovery")
    assert r.code == 2 and "--relevant" in r.stderr
    r = cli(*base, "--task", "discovery", "--relevant", "nope")
    assert r.code == 1 and r.stderr.startswith("error:") and "'nope'" in r.stderr
    r = cli(*base, "--task", "discovery", "--relevant", "relevant", "--strategy", "margin")
    assert r.code == 2
    r = cli(*base, "--relevant", "relevant")
    assert r.code == 2 and "--task discovery" in r.stderr
    r = cli(*base, "--task", "discovery", "--relevant", "relevant", "--prior-relevant", "30")
    assert r.code == 1 and "only 20" in r.stderr
    # no --text-column: the text is not one-hot encoded into noise, it is refused
    r = cli("simulate", f, "--id-column", "id", "--task", "discovery", "--relevant", "relevant", "--out", tmp_path / "v")
    assert r.code == 1 and "look like free text" in r.stderr and "--text-column" in r.stderr.splitlines()[-1]


def json_equal(path, d) -> bool:
    import json

    saved = json.loads(path.read_text())
    saved.pop("files", None), saved.pop("seconds", None)
    d = dict(d)
    d.pop("files", None), d.pop("seconds", None)
    for x in (saved, d):
        for rep in x["repeats"]:
            rep.pop("seconds", None)
    return saved == d


def test_recall_sample_and_stop_at_recall(cli, tmp_path):
    df = _collection(tmp_path)
    p = _init(cli, tmp_path)
    rel = df[df["label"] == "relevant"]["id"].tolist()
    other = df[df["label"] == "other"]["id"].tolist()
    # a review that has read every relevant document and 20 others
    _import(cli, p, tmp_path, rel + other[:20], df)
    assert cli("retrain", "-p", p).code == 0
    # no sample yet: the model-based estimate decides, and says it has no guarantee
    r = cli("evaluate", "-p", p, "--stop-at-recall", "0.95", "--json")
    assert r.code in (0, 3)
    assert r.json()["recall"]["recall_sample"] is None
    r = cli("query", "-p", p, "--recall-sample", "30", "--json")
    assert r.code == 0, r.stderr
    sample = r.json()["ids"]
    assert len(sample) == 30 and not set(sample) & set(rel + other[:20])
    q = pd.read_csv(p / "queue.csv", dtype=str)
    assert set(q["purpose"]) == {"recall_sample"}
    # a train query sets the sample aside: never takes one of its documents, keeps it queued
    r = cli("query", "-p", p, "--size", "5", "--json")
    assert r.code == 0, r.stderr
    train = r.json()["ids"][:5]
    assert r.json()["n_recall_sample"] == 30 and r.json()["replaced"] == 0
    q = pd.read_csv(p / "queue.csv", dtype=str)
    assert not set(train) & set(sample) and (q["purpose"] == "recall_sample").sum() == 30
    assert q.loc[q["purpose"] == "recall_sample", "id"].tolist() == sample
    # the unread sample documents are not scored: they count with the scored ones' mean
    assert cli("score", "-p", p).code == 0
    sc = pd.read_csv(p / "scores.csv", dtype={"id": str})
    assert not set(sc["id"]) & set(sample)
    d = cli("status", "-p", p, "--json").json()["discovery"]
    unread = sc["p_relevant"]  # scores.csv holds unread rows only
    assert d["unscored_random_rows"] == 30
    assert d["estimated_relevant"] == pytest.approx(20 + unread.sum() + 30 * unread.mean(), abs=0.02)
    # the urn holds 80 unread documents, none relevant: K = floor(20/.95 - 20) + 1 = 2, and
    # P(0 of 2 in 30 draws from 80) = (50*49)/(80*79) = 0.388: not yet
    _import(cli, p, tmp_path, sample, df)
    st = cli("status", "-p", p, "--json").json()["discovery"]["recall_sample"]
    assert st["urn"] == 80 and st["found_before"] == 20 and st["answered"] == 30
    assert st["relevant_in_sample"] == 0 and st["p_value"] == pytest.approx(50 * 49 / (80 * 79), abs=1e-6)
    assert not st["stop"]
    # the sample's own estimate: no relevant in 30 of 80 -> 0 in the urn, at most K with
    # P(0 of K in 30 draws) > 0.025, i.e. K = 7 ((50/80)**7 ~ 0.037 by the binomial; exact below)
    from scipy.stats import hypergeom

    top = max(K for K in range(0, 51) if hypergeom.cdf(0, 80, K, 30) > 0.025)
    assert st["estimated_relevant"] == 20 and st["estimated_relevant_interval"] == [20, 20 + top]
    assert st["estimated_recall"] == 1.0 and st["recall_low"] == pytest.approx(20 / (20 + top), abs=1e-6)
    # (80-n)(79-n)/(80*79) < 0.05 first at n = 62 (18*17 = 306 < 316): 32 more answers
    assert st["to_read_if_none"] == 32
    assert cli("retrain", "-p", p).code == 0
    r = cli("evaluate", "-p", p, "--stop-at-recall", "0.95")
    assert r.code == 3 and "stop: not yet" in r.stdout
    # a train query never takes a sample document; the sample grows along the same draw
    r = cli("query", "-p", p, "--recall-sample", "32", "--json")
    more = r.json()["ids"]
    assert len(more) == 32 and not set(more) & set(sample)
    _import(cli, p, tmp_path, more, df)
    assert cli("retrain", "-p", p).code == 0
    r = cli("evaluate", "-p", p, "--stop-at-recall", "0.95", "--json")
    assert r.code == 0, r.stdout
    d = r.json()
    assert d["stop"] and "recall sample" in d["stop_reason"]
    assert d["recall"]["recall_sample"]["p_value"] < 0.05
    text = cli("status", "-p", p).stdout
    assert "recall sample: 62 of 62 answered" in text and "you may stop" in text
    saved = pd.read_csv(p / "recall_sample.csv", dtype=str)
    assert (saved["kind"] == "read").sum() == 40 and (saved["kind"] == "sample").sum() == 62


def test_recall_sample_grows_along_one_draw(cli, tmp_path):
    df = _collection(tmp_path)
    got = []
    for name, sizes in (("a", (10, 15)), ("b", (25,))):
        p = _init(cli, tmp_path, name)
        _import(cli, p, tmp_path, df["id"].tolist()[:20], df)
        for n in sizes:
            assert cli("query", "-p", p, "--recall-sample", n).code == 0
        got.append(pd.read_csv(p / "recall_sample.csv", dtype=str).query("kind == 'sample'")["id"].tolist())
    assert got[0] == got[1] and len(got[0]) == 25


def test_recall_options_are_for_discovery_projects(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "15").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    for args in (["query", "--recall-sample", "10"], ["evaluate", "--stop-at-recall", "0.9"],
                 ["predict", "--ranked"]):
        r = cli(*args, "-p", project)
        assert r.code == 1 and r.stderr.startswith("error:") and "discovery" in r.stderr, args
    r = cli("query", "-p", project, "--recall-sample", "10", "--size", "3")
    assert r.code == 2


def test_predict_ranked_is_the_review_list(cli, tmp_path):
    df = _collection(tmp_path)
    p = _init(cli, tmp_path)
    read = df["id"].tolist()[:30]
    _import(cli, p, tmp_path, read, df)
    assert cli("retrain", "-p", p).code == 0
    r = cli("predict", "-p", p, "--ranked", "-o", tmp_path / "list.csv")
    assert r.code == 0, r.stderr
    out = pd.read_csv(tmp_path / "list.csv", dtype={"id": str})
    assert list(out.columns[:2]) == ["rank", "id"] and "label" not in out.columns
    assert len(out) == 90 and not set(out["id"]) & set(read)
    assert out["rank"].tolist() == list(range(1, 91))
    assert out["p_relevant"].is_monotonic_decreasing
    top = out.head(10)["id"]
    assert (df.set_index("id").loc[top, "label"] == "relevant").mean() >= 0.8


def test_init_discovery_defaults(cli, tmp_path):
    _collection(tmp_path)
    p = _init(cli, tmp_path)
    cfg = yaml.safe_load((p / "al.yaml").read_text())
    assert cfg["model"] == {"name": "relevance_lr", "class_weight": "balanced", "params": {"relevant": "relevant"}}
    assert cfg["strategy"]["random_fraction"] == 0.0 and cfg["features"]["text"] == "tfidf_saturated"
    assert math.isclose(cfg["strategy"]["random_fraction"], 0.0)


def test_a_bad_ratio_is_one_line(cli, tmp_path):
    df = _collection(tmp_path)
    p = _init(cli, tmp_path)
    _import(cli, p, tmp_path, df["id"].tolist()[:20], df)
    cfg = yaml.safe_load((p / "al.yaml").read_text())
    cfg["model"]["params"]["ratio"] = -1
    (p / "al.yaml").write_text(yaml.safe_dump(cfg))
    r = cli("retrain", "-p", p)
    assert r.code == 1 and r.stderr.startswith("error:") and "model.params" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not list((p / "models").glob("*.json"))


def test_recall_sample_urn_is_frozen_and_its_file_checked(cli, tmp_path):
    """An audit sample added after the recall sample began does not reshuffle it (no
    document drawn twice, the urn's size kept); a damaged file is one line."""
    df = _collection(tmp_path)
    p = _init(cli, tmp_path)
    _import(cli, p, tmp_path, df["id"].tolist()[:20], df)
    r = cli("query", "-p", p, "--recall-sample", "30", "--json")
    first = r.json()["ids"]
    _import(cli, p, tmp_path, first, df)
    assert cli("seed", "-p", p, "--validation-size", "10").code == 0
    r = cli("query", "-p", p, "--recall-sample", "20", "--json")
    assert r.code == 0, r.stderr
    saved = pd.read_csv(p / "recall_sample.csv", dtype=str)
    sample = saved[saved["kind"] == "sample"]["id"]
    assert len(sample) == 50 and sample.is_unique
    st = cli("status", "-p", p, "--json").json()["discovery"]["recall_sample"]
    assert st["urn"] == 100 and st["sample_size"] == 50 and st["answered"] == 30
    assert not st["stop"]  # a draw not fully answered gives no verdict
    for damage in ("kind", "dupe", "urn"):
        bad = saved.copy()
        if damage == "kind":
            bad.loc[bad.index[-1], "kind"] = "SAMPLE"
        elif damage == "dupe":
            bad.loc[bad.index[-1], "id"] = bad.loc[bad.index[-2], "id"]
        else:
            bad.loc[bad["kind"] == "urn", "position"] = "99"
        bad.to_csv(p / "recall_sample.csv", index=False)
        r = cli("status", "-p", p)
        assert r.code == 1 and r.stderr.startswith("error:") and "recall_sample.csv" in r.stderr, damage
        assert len(r.stderr.strip().splitlines()) == 1


def test_relevance_lr_refuses_a_relevant_param_that_is_not_a_label(cli, tmp_path):
    df = _collection(tmp_path)
    p = _init(cli, tmp_path)
    _import(cli, p, tmp_path, df["id"].tolist()[:20], df)
    cfg = yaml.safe_load((p / "al.yaml").read_text())
    cfg["model"]["params"]["relevant"] = "5"
    (p / "al.yaml").write_text(yaml.safe_dump(cfg))
    r = cli("retrain", "-p", p)
    assert r.code == 1 and "model.params" in r.stderr and "'5'" in r.stderr


def test_saturated_tfidf_is_the_mix_of_sublinear_and_presence_rows():
    """tfidf_saturated (the discovery default): each row 0.85 x its tfidf_all row + 0.15 x its
    binary TF-IDF row, scaled to unit length; the same after a pickle round trip."""
    import pickle

    import numpy as np
    from sklearn.preprocessing import normalize

    from al_cli.features import builtin

    docs = np.array([["trial trial trial drug dose"], ["drug drug placebo"], ["dose placebo cohort cohort cohort"],
                     ["trial cohort"]], dtype=object)
    sat = builtin.tfidf_saturated(4)
    X = sat.fit_transform(docs)
    sub = builtin.tfidf_all(4).fit_transform(docs).astype(float)
    binary = builtin.tfidf(4, min_df=1, max_features=500_000)
    binary.set_params(tfidf__binary=True)
    B = binary.fit_transform(docs).astype(float)
    want = normalize(0.85 * sub + 0.15 * B)
    assert X.dtype == np.float32 and X.shape == want.shape
    assert abs(X - want).max() < 1e-6
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)), 1.0, atol=1e-6)
    assert (X != sub).nnz > 0  # a row with repeated terms changed
    again = pickle.loads(pickle.dumps(sat))
    assert abs(again.transform(docs) - X).max() == 0
