# Fake multi-host jobs on loopback (leaders over a loopback multicast session, in-test KV).
camure_add_gtest(test_runtime_multinode SOURCES test_runtime_multinode.cpp LABEL multiprocess TIMEOUT 300
  DEPS camure::collectives)
