"""``python -m figures.figure1 ARGS`` is ``neuroequi figures figure1 ARGS``."""

import sys

from neuroequi.cli import main

sys.exit(main(["figures", "figure1", *sys.argv[1:]]))
