"""The Qt desktop interface (PySide6). The only package allowed to import Qt."""
