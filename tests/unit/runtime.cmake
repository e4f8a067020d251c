# Unit tests of the MPI-style runtime: bootstrap parsing, C API error paths without launcher.
camure_add_gtest(test_runtime_bootstrap SOURCES test_runtime_bootstrap.cpp LABEL unit TIMEOUT 30
  DEPS camure::bootstrap)
camure_add_gtest(test_runtime_collectives_unit SOURCES test_runtime_collectives.cpp LABEL unit TIMEOUT 60
  DEPS camure::collectives)
