"""Printed forms as PDF bytes, made from domain objects with reportlab. No Qt here: the GUI only
previews, saves or prints what these functions return."""
