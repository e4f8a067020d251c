# Unit tests of the small-bcast cells (collectives/small_bcast.*) and the bcast path mix.
camure_add_gtest(test_small_bcast SOURCES test_small_bcast.cpp LABEL unit TIMEOUT 60
  DEPS camure::collectives)
