"""The vocabulary every layer shares: errors and how messages name files, atomic writes, progress lines.

Imports nothing else of common/."""
