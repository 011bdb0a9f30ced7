"""The vision-selection (training images per concept) challenge as a cube.

The contract record (common/cubes/contract.py): common/ knows this cube only through CUBE.  Nothing heavy is
imported here; each task's module is imported when the task runs.
"""
from common.cubes.contract import Cube, Ref, Source
from common.results.leaderboard import Score

# Where the official data lives.  Upstream publishes no digests: the sha256 stays empty until an organiser pins
# the one they trust in parameters.yaml (download refuses an empty one; "any" accepts and prints the digest).
SOURCES = {
    # The resources folder is shared on Google Drive on request (dataperf@coactive.ai): put the URL of the zip you
    # were given in parameters.yaml.  The machine labels are the public Open Images V6 file.
    "resources": Source(""),
    "machine_labels": Source(
        "https://storage.googleapis.com/openimages/v5/train-annotations-machine-imagelabels.csv"),
}

CUBE = Cube(
    name="vision_selection",
    title="Vision selection: labelled training images per concept",
    score=Score("f1", "F1 of the positive class of the frozen logistic regression", "higher"),
    tasks={"download": Ref("vision_selection.download:download"),
           "create_baselines": Ref("vision_selection.baselines:create_baselines"),
           "evaluate": Ref("vision_selection.evaluate:evaluate"),
           "plot": Ref("vision_selection.plot:plot")},
    config=Ref("vision_selection.config:SCHEMA"),
    evaluation=Ref("vision_selection.evaluate:Evaluation"),
    closed_view=Ref("vision_selection.closed_view:permitted"),
    sources=SOURCES,
    demo={},
    croissant=Ref("vision_selection.croissant:croissant_dataset"),
)
