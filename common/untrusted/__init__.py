"""The trust boundary: the one place that reads what a participant or a download supplies.

Submission files, parameter files, downloaded archives and the outputs of participants' containers
are read only through this package.  Its rules: never follow a link, read only regular files, never
read more than a stated limit, and never echo more than a short escaped excerpt of what was read.
"""
