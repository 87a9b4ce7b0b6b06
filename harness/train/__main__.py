"""``python -m harness.train`` (same as ``python -m harness train``)."""

import argparse
import sys

from harness.train.command import add_arguments, run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m harness.train", description=__doc__)
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
