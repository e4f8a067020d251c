# UDP GSO/GRO batching of the session transport: sans-IO framing and a loopback round trip.
camure_add_gtest(test_net_offload SOURCES test_net_offload.cpp LABEL unit TIMEOUT 60
  DEPS camure::net Boost::headers)
