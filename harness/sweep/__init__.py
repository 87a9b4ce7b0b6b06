"""``python -m harness sweep``: the claims on many checkpoints, on this machine or on Ray.

One *unit* is one checkpoint with the claim selection given after ``--``: a ``pytest
claims/`` run in a subprocess, the same on every engine, so a unit's report depends only on
its checkpoint and options, never on where or in which order it ran.

- :mod:`.plan`: command-line inputs -> units (names, checks of the options);
- :mod:`.unit`: one unit's pytest run and what it leaves behind (:class:`.unit.UnitOutcome`);
- :mod:`.engines`: the local engine (one unit after another) and the events engines yield;
- :mod:`.ray_engine`, :mod:`.ray_worker`: units as Ray tasks (resources, retries, transfer);
- :mod:`.transfer`: checkpoint files to workers, verified by sha256;
- :mod:`.fingerprint`: is a worker's code and environment the driver's;
- :mod:`.resume`: the record a finished unit leaves, and which units a re-run can skip;
- :mod:`.progress`: the progress bar and the per-unit lines;
- :mod:`.driver`: the loop that files each unit's report and refreshes the dashboard;
- :mod:`.command`: ``add_arguments`` and ``run`` for the command line.
"""
