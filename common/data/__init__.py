"""Data: hash-checked downloads, Croissant metadata, building blocks of the embedded data sets.

May import: common.core, common.untrusted, common.parameters."""
