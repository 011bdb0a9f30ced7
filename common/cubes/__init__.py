"""The cube contract (contract.py) and the registry that finds the cubes (registry.py): the only way common/
reaches a challenge.

May import: common.core, common.untrusted, common.parameters, common.data, common.compute, common.results."""
