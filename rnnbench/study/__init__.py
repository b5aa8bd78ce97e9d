"""The study, one folder per stage, each importing only the stages before it (tests/test_layout.py):
pipeline -> tables -> claims -> figures | report (no plotting) -> papers. Imports every layer below."""
