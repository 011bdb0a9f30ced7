"""Container ENTRYPOINT and local entry: python -m data_acquisition TASK --name=value ... (as mlcube calls it)."""
from common.tasks.entrypoint import cube_main

if __name__ == "__main__":
    cube_main("data_acquisition")
