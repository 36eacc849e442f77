"""``python -m neuroequi.train --config FILE ...`` (what ``torchrun -m`` runs on every rank)."""

import sys

from neuroequi.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
