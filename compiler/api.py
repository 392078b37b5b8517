"""The compiler API's stable import path (`compiler.api.compile_graph`, `compiler.api.import_model`, ...): it lives
in the driver, compiler.driver.api."""
from compiler.driver.api import Compilation, compile_graph, compile_model, import_model  # noqa: F401
