"""The suite's shared harness: simulator, corpus oracle, databases, API stub, sweep and model-based helpers.

Test modules import helpers from here (`from support.sim import SIM_KEY`), never from another test
module; tests/conftest.py turns the ones that are fixtures into fixtures."""
