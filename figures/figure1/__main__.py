"""``python -m figures.figure1 ARGS`` is ``neuroequi figures ARGS``."""

import sys

from neuroequi.cli import main

sys.exit(main(["figures", *sys.argv[1:]]))
