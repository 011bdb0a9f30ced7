"""Container ENTRYPOINT and local entry: python -m vision_debugging TASK --name=value ..."""
from . import cli

if __name__ == "__main__":
    cli(prog_name="vision_debugging")
