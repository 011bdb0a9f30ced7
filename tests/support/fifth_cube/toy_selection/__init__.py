"""A throwaway fifth cube for the tests: pick at most `budget` training points of a pool for a nearest-centroid
classifier, scored by its accuracy on a hidden test set.  It is registered as the cube contract documents (an
entry point in group dataperf.cubes, here in toy_selection-0.1.dist-info) and common/ handles it unchanged."""
from common.cubes.contract import Cube, Ref
from common.results.leaderboard import Score

CUBE = Cube(
    name="toy_selection",
    title="Toy selection: training points for a nearest-centroid classifier",
    score=Score("accuracy", "accuracy of the nearest-centroid classifier on the hidden test set", "higher"),
    tasks={"download": Ref("toy_selection.tasks:download"),
           "create_baselines": Ref("toy_selection.tasks:create_baselines"),
           "evaluate": Ref("toy_selection.tasks:evaluate"),
           "plot": Ref("toy_selection.tasks:plot")},
    config=Ref("toy_selection.tasks:SCHEMA"),
    evaluation=Ref("toy_selection.tasks:Evaluation"),
    closed_view=Ref("toy_selection.tasks:permitted"),
    demo={"budget": "8"},
)
