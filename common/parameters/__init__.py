"""parameters.yaml: one declarative schema per cube (schema.py), every value checked when the file is read.

May import: common.core, common.untrusted."""
