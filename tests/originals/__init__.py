"""Step-by-step re-statements of the original evaluators, to check ours against."""
