"""The vision-debugging (training-set cleaning) challenge as a cube: download, create_baselines, evaluate, plot.

The contract record (common/cubes/contract.py): common/ knows this cube only through CUBE.  Nothing heavy is
imported here; each task's module is imported when the task runs.
"""
from common.cubes.contract import Cube, Ref, Source
from common.results.leaderboard import Score

# Where the official data lives.  Upstream publishes no digests: the sha256 stays empty until an organiser pins
# the one they trust in parameters.yaml (download refuses an empty one; "any" accepts and prints the digest).
SOURCES = {"data": Source("https://drive.google.com/uc?export=download&id=1_-WZCGd31XTENCtVjP4GqDLYShP3NzwK")}

CUBE = Cube(
    name="vision_debugging",
    title="Vision debugging: cleaning noisy training labels",
    score=Score("fraction_fixes", "fraction of fixes to reach the target share (official: 95%) of the clean accuracy", "lower"),
    tasks={"download": Ref("vision_debugging.download:download"),
           "create_baselines": Ref("vision_debugging.baselines:create_baselines"),
           "evaluate": Ref("vision_debugging.evaluate:evaluate"),
           "plot": Ref("vision_debugging.plot:plot")},
    config=Ref("vision_debugging.config:SCHEMA"),
    evaluation=Ref("vision_debugging.evaluate:Evaluation"),
    closed_view=Ref("vision_debugging.closed_view:permitted"),
    sources=SOURCES,
    # The demo stops each curve at its target: the same scores in fewer trainings (`dataperf run` draws full curves).
    demo={"evaluate.score_only": "true"},
    croissant=Ref("vision_debugging.croissant:croissant_datasets"),
)
