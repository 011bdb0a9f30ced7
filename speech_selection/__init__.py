"""The speech-selection (keyword-spotting training-set selection) challenge as a cube.

The contract record (common/cubes/contract.py): common/ knows this cube only through CUBE.  Nothing heavy is
imported here; each task's module is imported when the task runs.
"""
from common.cubes.contract import Cube, Ref, Source
from common.results.leaderboard import Score

# Where the official data lives.  Upstream publishes no digests: the sha256 stays empty until an organiser pins
# the one they trust in parameters.yaml (download refuses an empty one; "any" accepts and prints the digest).
SOURCES = {lang: Source(f"http://dataperf.s3.amazonaws.com/speech-selection/dataperf_{name}_data.zip")
           for lang, name in (("en", "eng"), ("id", "ind"), ("pt", "por"))}

CUBE = Cube(
    name="speech_selection",
    title="Speech selection: keyword-spotting training clips per language and budget",
    score=Score("macro_f1", "macro F1 of the keyword spotter (mean over seeds)", "higher"),
    tasks={"download": Ref("speech_selection.download:download"),
           "create_baselines": Ref("speech_selection.baselines:create_baselines"),
           "evaluate": Ref("speech_selection.evaluate:evaluate"),
           "plot": Ref("speech_selection.plot:plot")},
    config=Ref("speech_selection.config:SCHEMA"),
    evaluation=Ref("speech_selection.evaluate:Evaluation"),
    closed_view=Ref("speech_selection.closed_view:permitted"),
    sources=SOURCES,
    demo={},
    croissant=Ref("speech_selection.croissant:croissant_dataset"),
)
