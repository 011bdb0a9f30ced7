"""Container ENTRYPOINT and local entry: python -m data_acquisition TASK --name=value ..."""
from . import cli

if __name__ == "__main__":
    cli(prog_name="data_acquisition")
