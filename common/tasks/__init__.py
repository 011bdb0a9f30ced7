"""Running a cube's tasks: the entrypoint of every cube (entrypoint.py), local runs with mlcube's path rules
(local.py), the evaluate frame every cube fills in (evaluation.py), participants' algorithms (plugins.py).

May import: every lower package (core .. cubes)."""
