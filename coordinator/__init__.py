"""coordinator: a desktop tool for clinical-trial research coordinators.

The core (this package and ``coordinator.db``) never imports Qt; the GUI lives in
``coordinator.ui`` and reaches data only through ``coordinator.service.Service``.
"""

__version__ = "0.1.0"
