"""Container ENTRYPOINT and local entry: python -m vision_selection TASK --name=value ..."""
from . import cli

if __name__ == "__main__":
    cli(prog_name="vision_selection")
