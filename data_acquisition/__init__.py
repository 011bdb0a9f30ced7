"""The data-acquisition (buying data in a data market) challenge as a cube.

The contract record (common/cubes/contract.py): common/ knows this cube only through CUBE.  Nothing heavy is
imported here; each task's module is imported when the task runs.
"""
from common.cubes.contract import Cube, Ref, Source
from common.results.leaderboard import Score

# Where the official data lives.  Upstream publishes no digests: the sha256 stays empty until an organiser pins
# the one they trust in parameters.yaml (download refuses an empty one; "any" accepts and prints the digest).
SOURCES = {"marketinfo": Source(
    "https://github.com/lchen001/Data_Acquisition_for_ML_Benchmark/releases/download/v0.0.1/marketinfo.zip")}

CUBE = Cube(
    name="data_acquisition",
    title="Data acquisition: what to buy in a data market",
    score=Score("accuracy", "accuracy on the buyer's data of the model trained on the purchase", "higher"),
    tasks={"download": Ref("data_acquisition.download:download"),
           "create_baselines": Ref("data_acquisition.baselines:create_baselines"),
           "evaluate": Ref("data_acquisition.evaluate:evaluate"),
           "plot": Ref("data_acquisition.plot:plot")},
    config=Ref("data_acquisition.config:SCHEMA"),
    evaluation=Ref("data_acquisition.evaluate:Evaluation"),
    closed_view=Ref("data_acquisition.closed_view:permitted"),
    sources=SOURCES,
    demo={},
    croissant=Ref("data_acquisition.croissant:croissant_datasets"),
)
