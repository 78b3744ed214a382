"""Explanations on disk and on screen: PNG and JSON files per face, evidence maps and bar charts."""
