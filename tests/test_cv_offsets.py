"""CV4's offset targets stay inside the mazes the subject is declared for."""

from __future__ import annotations

import torch

from harness.experiments.cheese_vector import offset_target
from harness.experiments.subject import Subject
from harness.maze.streams import maze_stream
from harness.policy import load_planted


def test_an_offset_past_the_declared_sizes_goes_left_instead_of_searching_forever():
    # mazes of size <= 23 cover outer columns 1..23: a cheese at column 21 shifted right by 3
    # would sit at column 24, outside every such maze; it has to go left, to column 18
    subject = Subject(load_planted("cheese-seeker", "cpu").policy, torch.device("cpu"), max_size=23)
    source = next(m for m in maze_stream(0) if m.size == 23)
    cell = next(c for c in source.free_cells if source.to_outer(c)[1] == 21 and c != source.start)
    source = source.with_cheese(cell)
    target = offset_target(source, 3, source.seed + 1, subject)
    r, c = target.to_outer(target.cheese)
    assert (r, c) == (source.to_outer(cell)[0], 18)
    assert target.size <= 23 and target.seed != source.seed
