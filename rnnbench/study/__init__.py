"""The study, one folder per stage, each importing only the stages before it (tests/test_layout.py):
pipeline -> tables -> claims -> figures -> papers, and claims -> report (Markdown: no plotting). Imports every layer below."""
