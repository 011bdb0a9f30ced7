"""The data-acquisition (data marketplace) challenge as a cube."""
from common.core.errors import named_task
from common.tasks.entrypoint import cube_cli

from .baselines import create_baselines
from .download import download
from .evaluate import evaluate
from .plot import plot

# named_task: messages name files relative to the task parameters (`submission_folder: m/0.txt`),
# the same locally and in Docker.
TASKS = {name: named_task(function) for name, function in
         {"download": download, "create_baselines": create_baselines, "evaluate": evaluate, "plot": plot}.items()}
cli = cube_cli("data_acquisition", TASKS)
