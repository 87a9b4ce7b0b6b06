"""The maze layer: procgen state codec, the Maze value, grid algorithms, rendering, streams."""

from harness.maze.codec import StateFormatError
from harness.maze.maze import Cell, Maze, MazeError
from harness.maze.render import human_view, observations, observe_uint8
from harness.maze.streams import (
    MazeFilter,
    MazeFilterError,
    MazeSearchError,
    maze_stream,
    mazes_with_cheese_at,
    take,
)

__all__ = [
    "Cell",
    "Maze",
    "MazeError",
    "MazeFilter",
    "MazeFilterError",
    "MazeSearchError",
    "StateFormatError",
    "human_view",
    "maze_stream",
    "mazes_with_cheese_at",
    "observations",
    "observe_uint8",
    "take",
]
