"""neuroequi: equivariant self-supervised learning and the primate ventral stream.

Importing the package imports nothing heavy (no torch); it registers two steps that run just
before a package is first imported (:func:`neuroequi._compat.install_import_steps`):

* torchvision: the guarded compatibility step (:func:`neuroequi._compat.ensure_torchvision`);
* brainscore_vision: ``BS_INSTALL_DEPENDENCIES=no``, so it never runs ``pip`` for a plugin's
  requirements behind the user's back.
"""

from __future__ import annotations

from neuroequi._compat import install_import_steps

install_import_steps()

__version__ = "0.1.0"
