"""Container ENTRYPOINT and local entry: python -m speech_selection TASK --name=value ... (as mlcube calls it)."""
from common.tasks.entrypoint import cube_main

if __name__ == "__main__":
    cube_main("speech_selection")
