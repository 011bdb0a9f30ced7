"""What evaluate and plot produce: result sets published atomically (publish.py), the leaderboard every cube writes
(leaderboard.py), run records, metrics, plots and the suite report page.

May import: common.core, common.untrusted, common.parameters, common.data, common.compute."""
