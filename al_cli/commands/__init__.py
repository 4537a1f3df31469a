"""One use case per command, each working from one :class:`~.snapshot.Snapshot` of the
project: ``init``, ``seed``, ``labels_io`` (label --import / --export), ``retrain``,
``evaluate``, ``score`` and ``query`` (sharing ``scoring``), ``status``.

Each function returns a result object and prints nothing; ``al_cli.cli`` renders it.
:mod:`al_cli.api` gathers them for Python scripts.
"""
