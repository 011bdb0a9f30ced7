"""python -m common == the dataperf command."""
from common.cli import main

main(prog_name="dataperf")
