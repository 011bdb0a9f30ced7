"""python -m common == the dataperf command."""
from .cli import main

main(prog_name="dataperf")
