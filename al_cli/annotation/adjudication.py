"""Adjudication in the terminal (``al label --adjudicate``, issue 10).

The rows ``al query --adjudicate`` queued (purpose ``adjudicate``: items in conflict that
``labeling.consensus`` leaves unresolved), one at a time, with the answers given so far:
each label, how many annotators gave it and their notes; the annotators' names only when
asked (``--show-names``), so the decision weighs the answers, not who gave them. The
adjudicator's key press is recorded as an ``adjudicated`` row of labels.csv, which settles
the item under every rule; undo appends a ``retracted`` row, which cancels it
(store/consensus.py). Everything else (claims, skips, notes, undo, resume) is the
ordinary :class:`LabelSession`: an item another adjudicator holds or has decided is not
shown.
"""

from __future__ import annotations

from al_cli.annotation.session import LabelSession


class AdjudicationSession(LabelSession):
    ANSWER = "adjudicated"
    adjudicating = True
    command = "al label --adjudicate"

    def __init__(self, project, annotator: str, *, show_names: bool = False, **kw):
        self.show_names = bool(show_names)
        super().__init__(project, annotator, **kw)

    def _takes(self, purpose: str) -> bool:
        return purpose == "adjudicate"

    def _answers(self, item_id: str) -> list[tuple[str, str, str]]:
        """(label, annotator, note) of each annotator's current answer, in label-set order."""
        given = self._given.get(item_id, {})
        rank = {lab: k for k, lab in enumerate(self.labels)}
        return sorted(((lab, ann, note) for ann, (lab, note) in given.items()),
                      key=lambda t: (rank.get(t[0], len(rank)), t[1]))

    def earlier(self, item_id: str) -> list[tuple[str, int, list[str]]]:
        """The answers given so far: (label, how many annotators gave it, who: only with
        ``show_names``, else empty), the most given first."""
        self._refresh()
        by: dict[str, list[str]] = {}
        for lab, ann, _ in self._answers(item_id):
            by.setdefault(lab, []).append(ann)
        order = sorted(by, key=lambda lab: -len(by[lab]))  # stable: label-set order on ties
        return [(lab, len(by[lab]), by[lab] if self.show_names else []) for lab in order]

    def earlier_notes(self, item_id: str) -> list[str]:
        """The notes of those answers, as ``label: note`` (``label, name: note`` with
        ``show_names``)."""
        return [f"{lab}{', ' + ann if self.show_names else ''}: {' '.join(note.split())}"
                for lab, ann, note in self._answers(item_id) if note.strip()]
