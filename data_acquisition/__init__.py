"""The data-acquisition (data marketplace) challenge as a cube."""
from common.entrypoint import cube_cli

from .baselines import create_baselines
from .download import download
from .evaluate import evaluate
from .plot import plot

TASKS = {"download": download, "create_baselines": create_baselines, "evaluate": evaluate, "plot": plot}
cli = cube_cli("data_acquisition", TASKS)
